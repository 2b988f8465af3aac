/**
 * Every error the runtime raises carries a stable `code` (in the spirit of fastify's
 * `FST_ERR_*`) so that tests, operators and alert rules match on the code, never on prose.
 */
export type RuntimeErrorCode =
  | 'ERR_ASK_TIMEOUT'
  | 'ERR_MAILBOX_FULL'
  | 'ERR_ACTOR_STOPPED'
  | 'ERR_ACTOR_FAILED'
  | 'ERR_ACTOR_START_TIMEOUT'
  | 'ERR_WORKER_DIED'
  | 'ERR_WORKER_START'
  | 'ERR_SUPERVISOR_ESCALATED'
  | 'ERR_CHILD_GAVE_UP'
  | 'ERR_CHILD_EXISTS'
  | 'ERR_CHILD_NOT_FOUND'
  | 'ERR_CONFIG_INVALID'
  | 'ERR_BAD_SPEC'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_WA_CLOSED'
  | 'ERR_WA_NOT_OPEN'
  | 'ERR_WA_ALREADY_PAIRED'
  | 'ERR_WA_PAIRING_FAILED'
  | 'ERR_WA_QUEUE_FULL'
  | 'ERR_WA_UNKNOWN_SESSION'
  | 'ERR_WA_BAD_REQUEST'
  | 'ERR_WA_SEND_FAILED';

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;

  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class AskTimeoutError extends RuntimeError {
  constructor(readonly path: string, readonly timeoutMs: number) {
    super('ERR_ASK_TIMEOUT', `ask to ${path} got no reply within ${timeoutMs} ms`);
  }
}

export class MailboxFullError extends RuntimeError {
  constructor(readonly path: string, readonly capacity: number) {
    super('ERR_MAILBOX_FULL', `mailbox of ${path} is full (capacity ${capacity})`);
  }
}

export class ActorStoppedError extends RuntimeError {
  constructor(readonly path: string) {
    super('ERR_ACTOR_STOPPED', `actor ${path} is stopped`);
  }
}

/** The message an ask carried made the actor fail; `cause` is what it threw. */
export class ActorFailedError extends RuntimeError {
  constructor(readonly path: string, cause: unknown) {
    super('ERR_ACTOR_FAILED', `actor ${path} failed while handling the message: ${describe(cause)}`, { cause });
  }
}

export class WorkerDiedError extends RuntimeError {
  constructor(readonly threadId: number, readonly reason: string) {
    super('ERR_WORKER_DIED', `worker thread ${threadId} died: ${reason}`);
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function errorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
