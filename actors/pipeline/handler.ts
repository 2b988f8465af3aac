import { batchText, type Batch } from '../batcher/batch.js';
import type { BookingOperations } from '../booking/booking-api.js';

/**
 * The batch a handler receives, and the JSON body the built-in handler forwards
 * (DESIGN section 3). Times are ISO strings.
 */
export interface FlushedBatch {
  readonly batchId: string;
  readonly sessionId: string;
  readonly phone: string;
  readonly text: string;
  /** `at`: when the runtime accepted it; `sentAt`: when the sender says it was written, if it said. */
  readonly messages: readonly { readonly id: string; readonly text: string; readonly at: string; readonly sentAt?: string }[];
  readonly reason: Batch['reason'];
  readonly firstAt: string;
  readonly lastAt: string;
  readonly flushedAt: string;
  /**
   * Set on an operator's dry run (`wa-runtime test`): a synthetic batch, not a client's. A
   * handler should check it and do nothing outside the process; its actions are never carried
   * out, and its `context.booking` calls are refused as disabled.
   */
  readonly test?: true;
}

/** What a handler asks the runtime to do with a batch. */
export type HandlerAction =
  /** Answer the client in the same conversation (through the session's send queue). */
  | { readonly type: 'reply'; readonly text: string }
  /** Book through the booking actor (when it exists). */
  | { readonly type: 'book'; readonly request: Readonly<Record<string, unknown>> };

export interface HandlerContext {
  /** BATCH_WEBHOOK_URL, for the built-in handler. */
  readonly webhookUrl: string | undefined;
  /** 1 for the first delivery of this batch in this runtime, then 2, 3... */
  readonly attempt: number;
  /** Aborts when the handler's time (HANDLER_TIMEOUT_MS) is up. */
  readonly signal: AbortSignal;
  /**
   * The booking operations (actors/booking/booking-api.ts), served by the `/booking` actor on
   * the main thread, so a handler can look up free times and book within one batch. Both of
   * the runtime's runners always set it; optional only so that code building a context by hand
   * (a test, an embedding) need not. Each call takes one parameter object; what goes in and
   * comes back is structured-cloned (plain data only). A refusal rejects with a RuntimeError
   * whose own properties are the booking actor's `code` and, when it has them, `field`,
   * `kind`, `yclientsCode`, `yclientsStatus`, `retryable`, `ambiguous`, `retryAfterMs`
   * (`error.code === 'WAR_ERR_BOOKING_SLOT_TAKEN'`, `error.field === 'appointments[0].staff_id'`).
   * A call not answered by the end of the handler's time, less a reserve to answer in (a tenth
   * of it, at most 1 s), rejects with `WAR_ERR_BOOKING_UNAVAILABLE` (`ambiguous` for `book`,
   * `reschedule` and `cancel`, which may still be carried out). When YClients is not
   * configured (no booking actor runs) it is still here and every call rejects with
   * `WAR_ERR_BOOKING_DISABLED`, so a handler never tests for it. Rethrown, such an error fails
   * the batch like any other (retried, or dead-lettered at once when it says `permanent`).
   */
  readonly booking?: BookingOperations;
}

/**
 * A handler module exports this as `default` (or as `handle`). Throwing (or timing out)
 * makes the pipeline retry the same batch later with backoff, and dead-letter it after
 * PIPELINE_MAX_ATTEMPTS; it is never dropped.
 */
export type BatchHandler = (batch: FlushedBatch, context: HandlerContext) => Promise<readonly HandlerAction[] | void> | readonly HandlerAction[] | void;

export function toFlushedBatch(batch: Batch): FlushedBatch {
  return {
    batchId: batch.batchId,
    sessionId: batch.sessionId,
    phone: batch.phone,
    text: batchText(batch.messages),
    messages: batch.messages.map((message) =>
      message.sentAt === undefined
        ? { id: message.id, text: message.text, at: new Date(message.at).toISOString() }
        : { id: message.id, text: message.text, at: new Date(message.at).toISOString(), sentAt: new Date(message.sentAt).toISOString() },
    ),
    reason: batch.reason,
    firstAt: new Date(batch.firstAt).toISOString(),
    lastAt: new Date(batch.lastAt).toISOString(),
    flushedAt: new Date(batch.flushedAt).toISOString(),
  };
}

/** Checks what a handler returned, so a buggy handler fails its batch loudly instead of doing something odd. */
export function validateActions(value: unknown): HandlerAction[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TypeError(`a handler must return an array of actions, got ${typeof value}`);
  return value.map((action: unknown, index) => {
    const candidate = action as { type?: unknown; text?: unknown; request?: unknown };
    if (candidate?.type === 'reply' && typeof candidate.text === 'string' && candidate.text.length > 0) {
      return { type: 'reply', text: candidate.text };
    }
    if (candidate?.type === 'book' && candidate.request !== null && typeof candidate.request === 'object') {
      return { type: 'book', request: candidate.request as Record<string, unknown> };
    }
    throw new TypeError(`action ${index} is not {type:'reply', text} or {type:'book', request}: ${JSON.stringify(action)}`);
  });
}
