import { DownstreamError } from '../../src/errors.js';

/**
 * A handler's error on its way out of a piscina worker. piscina posts a thrown error as is,
 * and the structured clone keeps only its message, stack and cause: the class, the name and
 * every own property (`code`, `status`, `permanent`, `retryAfterMs`) are lost, so a permanent
 * refusal would come back as a plain Error and be retried. The worker returns this plain
 * record instead of throwing, and the runner throws the error it describes.
 */
export interface HandlerFailure {
  readonly kind: 'handler_failed';
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly cause: unknown;
  readonly code: string | undefined;
  readonly status: number | undefined;
  readonly bodyStart: string | undefined;
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
}

/** An error rebuilt from a HandlerFailure: the fields the retry rule and the logs read are own properties again. */
export type RevivedError = Error & { code?: string; status?: number; bodyStart?: string; permanent?: boolean; retryAfterMs?: number };

const DOWNSTREAM_CODES: ReadonlySet<string> = new Set(['WAR_ERR_DOWNSTREAM_REJECTED', 'WAR_ERR_DOWNSTREAM_FAILED']);

export function toHandlerFailure(error: Error): HandlerFailure {
  const fields = error as Error & { code?: unknown; status?: unknown; bodyStart?: unknown; permanent?: unknown; retryAfterMs?: unknown };
  return {
    kind: 'handler_failed',
    name: error.name,
    message: error.message,
    stack: error.stack,
    // Only an Error cause is sure to be cloneable; anything else could fail the whole answer.
    cause: error.cause instanceof Error ? error.cause : undefined,
    code: typeof fields.code === 'string' ? fields.code : undefined,
    status: typeof fields.status === 'number' ? fields.status : undefined,
    bodyStart: typeof fields.bodyStart === 'string' ? fields.bodyStart : undefined,
    permanent: fields.permanent === true,
    retryAfterMs: typeof fields.retryAfterMs === 'number' ? fields.retryAfterMs : undefined,
  };
}

export function isHandlerFailure(value: unknown): value is HandlerFailure {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && (value as { kind?: unknown }).kind === 'handler_failed';
}

export function fromHandlerFailure(failure: HandlerFailure): RevivedError {
  const options = failure.cause === undefined ? undefined : { cause: failure.cause };
  let error: RevivedError;
  if (failure.code !== undefined && DOWNSTREAM_CODES.has(failure.code)) {
    error = new DownstreamError(failure.message, failure, options);
  } else {
    error = new Error(failure.message, options);
    error.name = failure.name;
    if (failure.code !== undefined) error.code = failure.code;
    if (failure.status !== undefined) error.status = failure.status;
    if (failure.bodyStart !== undefined) error.bodyStart = failure.bodyStart;
    if (failure.permanent) error.permanent = true;
    if (failure.retryAfterMs !== undefined) error.retryAfterMs = failure.retryAfterMs;
  }
  // The worker's stack says where the handler failed; this one would only point here.
  if (failure.stack !== undefined) error.stack = failure.stack;
  return error;
}
