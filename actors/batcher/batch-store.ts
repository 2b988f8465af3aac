import { RuntimeError } from '../../src/errors.js';
import type { Batch, FlushReason, PendingSummary, StoredMessage } from './batch.js';
import type { Conversation } from './conversation.js';
import type { FlushRules } from './flush-rule.js';

export type AppendResult =
  | { readonly status: 'accepted'; readonly pending: PendingSummary }
  /** The message id was seen before (pending or already delivered): nothing was stored. */
  | { readonly status: 'duplicate'; readonly pending: PendingSummary | undefined };

export interface FlushRequest {
  readonly now: number;
  readonly rules: FlushRules;
  /** Flush whatever is pending regardless of the rules, with this reason. */
  readonly force?: Extract<FlushReason, 'shutdown' | 'recovered'>;
  /** Becomes the batch's id if a batch is cut. */
  readonly batchId: string;
  /** The runtime instance that will deliver it, and until when it holds the lease. */
  readonly owner: string;
  readonly leaseUntil: number;
}

export type FlushResult =
  | { readonly status: 'flushed'; readonly batch: Batch; readonly remaining: PendingSummary | undefined }
  | { readonly status: 'not_due'; readonly dueAt: number; readonly pending: PendingSummary }
  | { readonly status: 'empty' };

export interface ClaimRequest {
  readonly owner: string;
  readonly now: number;
  readonly leaseUntil: number;
  /** Also take batches this owner already holds, leased or not (a restarted pipeline lost its queue). */
  readonly includeOwn: boolean;
  readonly limit: number;
}

export interface DeadLetter {
  readonly batch: Batch;
  readonly error: string;
  readonly at: number;
}

export interface StoreStats {
  readonly pendingBatches: number;
  readonly pendingMessages: number;
  /** At most the requested number of pending batches, oldest first message first. */
  readonly batches: readonly PendingSummary[];
  readonly inFlight: number;
  readonly deadLetters: number;
}

/**
 * Where accepted messages live until a batch of them has been delivered. The guarantee
 * of DESIGN section 6 rests here: `append` is the acceptance point; `flush` moves a
 * conversation's messages atomically into one in-flight batch (so two runtimes on one
 * store never cut the same messages twice); an in-flight batch is deleted only by `ack`
 * (delivered) or moved by `deadLetter`, never dropped. Both stores pass one test suite.
 */
export interface BatchStore {
  readonly kind: 'memory' | 'redis';
  /** Opens connections; the `store` actor calls it at start. */
  connect(): Promise<void>;
  close(): Promise<void>;
  ping(): Promise<void>;

  append(conversation: Conversation, message: StoredMessage): Promise<AppendResult>;
  pending(conversation: Conversation): Promise<PendingSummary | undefined>;
  flush(conversation: Conversation, request: FlushRequest): Promise<FlushResult>;
  /** Deletes a conversation's pending messages; returns how many there were. */
  drop(conversation: Conversation): Promise<number>;

  /** In-flight batches this owner may deliver now, leased to it: expired leases, and its own if asked. */
  claim(request: ClaimRequest): Promise<Batch[]>;
  /** Extends (or, with 0, gives up) the owner's lease; false if the batch is gone or leased to another. */
  renew(batchId: string, owner: string, leaseUntil: number): Promise<boolean>;
  /** The batch was delivered: forget it. */
  ack(batchId: string): Promise<boolean>;
  /** Delivery kept failing: park it where an operator sees it. */
  deadLetter(batchId: string, error: string, at: number): Promise<boolean>;
  deadLetters(limit: number): Promise<DeadLetter[]>;

  /** Conversations with pending messages (the Redis store walks keys with SCAN, never KEYS). */
  pendingConversations(): AsyncIterable<Conversation>;
  stats(limit: number): Promise<StoreStats>;
}

/** The store cannot take a write now (Redis down or reconnecting): ingress answers 503. */
export class StoreUnavailableError extends RuntimeError {
  constructor(cause: unknown) {
    super('WAR_ERR_STORE_UNAVAILABLE', `the batch store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
