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
/** The store became unreachable (`cause` says why) or reachable again. */
export type AvailabilityListener = (change: { readonly available: boolean; readonly cause: string | null }) => void;

export interface BatchStore {
  readonly kind: 'memory' | 'redis';
  /** What it talks to, for messages and checks: `redis 127.0.0.1:6379`, `memory`. Never a credential. */
  readonly target: string;
  /**
   * Told the moment a command fails for want of a connection, and when the connection is
   * back: readiness does not wait for the next ping. Returns the unsubscribe.
   */
  onAvailability(listener: AvailabilityListener): () => void;
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
  /** At most `limit` dead letters, oldest first. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  deadLetterCount(): Promise<number>;
  /** An operator's retry: back in flight, leased to `owner`; the batch, or undefined if there is no such dead letter. */
  retryDeadLetter(batchId: string, owner: string, leaseUntil: number): Promise<Batch | undefined>;
  /** An operator's drop: the dead letter is deleted for good; false if there was none. */
  dropDeadLetter(batchId: string): Promise<boolean>;

  /** Conversations with pending messages (the Redis store walks keys with SCAN, never KEYS). */
  pendingConversations(): AsyncIterable<Conversation>;
  stats(limit: number): Promise<StoreStats>;
}

/** The store cannot take a write now (Redis down or reconnecting): ingress answers 503. The message names the target and the cause, once. */
export class StoreUnavailableError extends RuntimeError {
  constructor(target: string, cause: unknown) {
    super('WAR_ERR_STORE_UNAVAILABLE', `${target} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, cause instanceof Error ? { cause } : undefined);
  }
}
