import type { Conversation } from './conversation.js';

/** One accepted message as stored: `at` is when the runtime accepted it (epoch ms), which drives the windows. */
export interface StoredMessage {
  readonly id: string;
  readonly text: string;
  readonly at: number;
  /** When the sender says it was written (the webhook's `timestamp`), epoch ms; informational, never a flush input. */
  readonly sentAt?: number;
}

export type FlushReason = 'quiet' | 'size' | 'age' | 'recovered' | 'shutdown';

/** Batches cut from the store since start, by reason: one per runtime, shared by every batcher and the shutdown flush. */
export type FlushCounts = Record<FlushReason, number>;

export function newFlushCounts(): FlushCounts {
  return { quiet: 0, size: 0, age: 0, recovered: 0, shutdown: 0 };
}

/** A flushed batch, as the store keeps it in flight and the pipeline receives it. Times are epoch ms. */
export interface Batch extends Conversation {
  readonly batchId: string;
  readonly messages: readonly StoredMessage[];
  readonly reason: FlushReason;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly flushedAt: number;
}

/** The conversation's pending (not yet flushed) messages, summarised. */
export interface PendingSummary extends Conversation {
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** The merged text: the messages in arrival order joined by a single space. */
export function batchText(messages: readonly StoredMessage[]): string {
  return messages.map((message) => message.text).join(' ');
}
