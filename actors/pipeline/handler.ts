import { batchText, type Batch } from '../batcher/batch.js';

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
