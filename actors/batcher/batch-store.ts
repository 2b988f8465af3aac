import { RuntimeError } from '../../src/errors.js';
import type { Batch, FlushReason, PendingSummary, StoredMessage } from './batch.js';
import type { Conversation } from './conversation.js';
import type { FlushRules } from './flush-rule.js';

export type StoreKind = 'memory' | 'sqlite' | 'redis';

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
  | {
      readonly status: 'flushed';
      readonly batch: Batch;
      readonly remaining: PendingSummary | undefined;
      /**
       * The batch is the oldest its conversation has in flight: it is leased to the request's
       * owner, to be delivered now. Otherwise it waits in the store, unleased, behind an earlier
       * batch of its conversation, and is handed to whoever settles that one (ordering.ts).
       */
      readonly deliverable: boolean;
    }
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

/** Who takes a conversation's next batch when the one before it is settled, and until when. */
export interface Lease {
  readonly owner: string;
  readonly leaseUntil: number;
}

/**
 * A batch as the settling calls name it: its id and its conversation, so an ack repeated
 * after its reply was lost (the first one went through) still finds the conversation's next
 * batch, which the first one leased to the caller.
 */
export type BatchRef = Conversation & { readonly batchId: string };

/** What `ack` and `deadLetter` did. */
export interface Settled {
  /** False if there was no such batch in flight (already settled, by this runtime or another). */
  readonly settled: boolean;
  /**
   * The conversation's next batch, now its oldest in flight, leased to the caller: deliver it.
   * Also when `settled` is false, if the conversation's head is leased to the caller (a
   * repeated ack): delivering it twice within one pipeline is harmless, stranding it is not.
   */
  readonly next: Batch | undefined;
}

/** An operator's retry of a dead letter: it joins the end of its conversation's batches in flight. */
export interface Retried {
  readonly batch: Batch;
  /** Leased to the caller to deliver now; otherwise it waits behind the conversation's earlier batches. */
  readonly deliverable: boolean;
}

/** What a shutdown spill kept, and what it could not. */
export interface SpillReport {
  /** Where it was written; undefined when there was nothing to keep or nowhere to keep it. */
  readonly file: string | undefined;
  /** Messages not yet delivered (pending, in flight, dead-lettered), and the batches among them. */
  readonly messages: number;
  readonly batches: number;
  /** Messages that could not be kept (no spill file configured, or writing it failed): 0 or all. */
  readonly lost: number;
  readonly error?: string;
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
  /** Every batch in flight: being delivered, waiting for a pipeline, or waiting behind an earlier one. */
  readonly inFlight: number;
  /** Of those, the batches waiting behind an earlier batch of their conversation. */
  readonly waitingForEarlier: number;
  readonly deadLetters: number;
}

/** The store became unreachable (`cause` says why) or reachable again. */
export type AvailabilityListener = (change: { readonly available: boolean; readonly cause: string | null }) => void;

/**
 * Where accepted messages live until a batch of them has been delivered. The guarantee
 * of DESIGN section 6 rests here: `append` is the acceptance point; `flush` moves a
 * conversation's messages atomically into one in-flight batch (so two runtimes on one
 * store never cut the same messages twice); an in-flight batch is deleted only by `ack`
 * (delivered) or moved by `deadLetter`, never dropped; and only the oldest in-flight batch
 * of a conversation is ever leased, so its batches reach the handler in the order they were
 * cut, whichever runtime cut them (actors/batcher/ordering.ts). Every store passes one suite.
 */
export interface BatchStore {
  readonly kind: StoreKind;
  /** What it talks to, for messages and checks: `redis 127.0.0.1:6379`, `memory`. Never a credential. */
  readonly target: string;
  /**
   * Told the moment a command fails for want of a connection, and when the connection is
   * back: readiness does not wait for the next ping. Returns the unsubscribe.
   */
  onAvailability(listener: AvailabilityListener): () => void;
  /**
   * A store that does not outlive the process (memory) writes what is left to its spill file
   * at shutdown, after the pipeline stopped; durable stores have nothing to do and lack it.
   */
  spill?(): Promise<SpillReport>;
  /** Opens connections; the `store` actor calls it at start. */
  connect(): Promise<void>;
  close(): Promise<void>;
  ping(): Promise<void>;

  append(conversation: Conversation, message: StoredMessage): Promise<AppendResult>;
  pending(conversation: Conversation): Promise<PendingSummary | undefined>;
  flush(conversation: Conversation, request: FlushRequest): Promise<FlushResult>;
  /** Deletes a conversation's pending messages; returns how many there were. */
  drop(conversation: Conversation): Promise<number>;

  /**
   * Batches this owner may deliver now, leased to it: released ones and expired leases (Redis
   * and SQLite oldest cut first, memory in the order they became claimable), then (if asked)
   * its own. Only a conversation's oldest batch in flight is ever claimable.
   */
  claim(request: ClaimRequest): Promise<Batch[]>;
  /** Extends the owner's lease; false if the batch is gone or leased to another. */
  renew(batchId: string, owner: string, leaseUntil: number): Promise<boolean>;
  /** Gives the owner's lease back: any runtime may claim the batch at once. False if it was not the owner's. */
  release(batchId: string, owner: string): Promise<boolean>;
  /** The batch was delivered (by whoever holds it now, too): forget it, and lease its conversation's next batch to `next`. */
  ack(batch: BatchRef, next: Lease): Promise<Settled>;
  /**
   * Delivery failed for good: park it where an operator sees it, and lease the conversation's
   * next batch to `next`. Only by the lease's holder (`next.owner`): a runtime whose lease ran
   * out must not dead-letter a batch another runtime is delivering.
   */
  deadLetter(batch: BatchRef, error: string, at: number, next: Lease): Promise<Settled>;
  /** At most `limit` dead letters, oldest first. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  deadLetterCount(): Promise<number>;
  /** An operator's retry: back in flight after the conversation's other batches; undefined if there is no such dead letter. */
  retryDeadLetter(batchId: string, lease: Lease): Promise<Retried | undefined>;
  /** An operator's drop: the dead letter is deleted for good; false if there was none. */
  dropDeadLetter(batchId: string): Promise<boolean>;

  /** Conversations with pending messages (the Redis store walks keys with SCAN, never KEYS). */
  pendingConversations(): AsyncIterable<Conversation>;
  stats(limit: number): Promise<StoreStats>;
  /**
   * What the monitors poll every few seconds: only counters the store keeps or indexes it can
   * count in O(1) or O(log n) (never KEYS, never a SCAN of the keyspace, never a table scan).
   */
  counts(): Promise<StoreCounts>;
}

/** The cheap counters of `counts()`; null where a store cannot know it cheaply. */
export interface StoreCounts {
  /** Conversations with pending messages (not yet cut into a batch). */
  readonly pendingConversations: number | null;
  /** Conversations with a batch in flight (their head is leased or waiting for a lease). */
  readonly inFlightConversations: number | null;
  readonly inFlightBatches: number | null;
  readonly deadLetters: number;
  /** Epoch ms of the oldest pending message, if the store indexes it. */
  readonly oldestPendingAt: number | null;
}

/** The store cannot take a write now (Redis down or reconnecting): ingress answers 503. The message names the target and the cause, once. */
export class StoreUnavailableError extends RuntimeError {
  constructor(target: string, cause: unknown) {
    super('WAR_ERR_STORE_UNAVAILABLE', `${target} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, cause instanceof Error ? { cause } : undefined);
  }
}
