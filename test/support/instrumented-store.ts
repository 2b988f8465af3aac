import type { Batch, PendingSummary, StoredMessage } from '../../actors/batcher/batch.js';
import {
  StoreUnavailableError,
  type AppendResult,
  type BatchRef,
  type BatchStore,
  type ClaimRequest,
  type DeadLetter,
  type Lease,
  type Retried,
  type Settled,
  type SpillReport,
  type FlushRequest,
  type FlushResult,
  type StoreStats,
  type StoreCounts,
} from '../../actors/batcher/batch-store.js';
import { conversationKey, type Conversation } from '../../actors/batcher/conversation.js';

/** When an injected fault strikes a flush: before the store is touched, or after it moved the batch. */
export type FlushFault = 'before' | 'after';

/**
 * Wraps a real store: counts calls in flight (so tests can wait for quiet), and injects
 * crashes into the next flush of a conversation, the way a bug in the batcher would hit.
 */
export class InstrumentedStore implements BatchStore {
  readonly kind: BatchStore['kind'];
  readonly target: string;
  inFlight = 0;
  readonly #inner: BatchStore;
  /** Cut off, as a killed process's connection is: every call fails as if the store were unreachable. */
  #severed = false;
  readonly #faults = new Map<string, FlushFault>();

  constructor(inner: BatchStore) {
    this.#inner = inner;
    this.kind = inner.kind;
    this.target = inner.target;
  }

  onAvailability(listener: Parameters<BatchStore['onAvailability']>[0]): () => void {
    return this.#inner.onAvailability(listener);
  }

  failNextFlush(conversation: Conversation, when: FlushFault): void {
    this.#faults.set(conversationKey(conversation), when);
  }

  /** From now on every call fails, and nothing is spilled: the process this store belonged to is gone. */
  sever(): void {
    this.#severed = true;
  }

  async #track<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      if (this.#severed) throw new StoreUnavailableError(this.target, 'the process was killed');
      return await work();
    } finally {
      this.inFlight--;
    }
  }

  connect(): Promise<void> {
    return this.#track(() => this.#inner.connect());
  }
  close(): Promise<void> {
    return this.#track(() => this.#inner.close());
  }
  ping(): Promise<void> {
    return this.#track(() => this.#inner.ping());
  }
  append(conversation: Conversation, message: StoredMessage): Promise<AppendResult> {
    return this.#track(() => this.#inner.append(conversation, message));
  }
  pending(conversation: Conversation): Promise<PendingSummary | undefined> {
    return this.#track(() => this.#inner.pending(conversation));
  }
  flush(conversation: Conversation, request: FlushRequest): Promise<FlushResult> {
    return this.#track(async () => {
      const key = conversationKey(conversation);
      const fault = this.#faults.get(key);
      this.#faults.delete(key);
      if (fault === 'before') throw new Error(`injected crash before flushing ${key}`);
      const result = await this.#inner.flush(conversation, request);
      if (fault === 'after') throw new Error(`injected crash after flushing ${key} (${result.status})`);
      return result;
    });
  }
  drop(conversation: Conversation): Promise<number> {
    return this.#track(() => this.#inner.drop(conversation));
  }
  claim(request: ClaimRequest): Promise<Batch[]> {
    return this.#track(() => this.#inner.claim(request));
  }
  renew(batchId: string, owner: string, leaseUntil: number): Promise<boolean> {
    return this.#track(() => this.#inner.renew(batchId, owner, leaseUntil));
  }
  release(batchId: string, owner: string): Promise<boolean> {
    return this.#track(() => this.#inner.release(batchId, owner));
  }
  ack(batch: BatchRef, next: Lease): Promise<Settled> {
    return this.#track(() => this.#inner.ack(batch, next));
  }
  deadLetter(batch: BatchRef, error: string, at: number, next: Lease): Promise<Settled> {
    return this.#track(() => this.#inner.deadLetter(batch, error, at, next));
  }
  deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.#track(() => this.#inner.deadLetters(limit));
  }
  deadLetterCount(): Promise<number> {
    return this.#track(() => this.#inner.deadLetterCount());
  }
  retryDeadLetter(batchId: string, lease: Lease): Promise<Retried | undefined> {
    return this.#track(() => this.#inner.retryDeadLetter(batchId, lease));
  }
  get spill(): (() => Promise<SpillReport>) | undefined {
    const inner = this.#inner;
    if (this.#severed) return undefined;
    return inner.spill ? () => this.#track(() => (inner.spill as () => Promise<SpillReport>).call(inner)) : undefined;
  }
  dropDeadLetter(batchId: string): Promise<boolean> {
    return this.#track(() => this.#inner.dropDeadLetter(batchId));
  }
  async *pendingConversations(): AsyncIterable<Conversation> {
    this.inFlight++;
    try {
      if (this.#severed) throw new StoreUnavailableError(this.target, 'the process was killed');
      yield* this.#inner.pendingConversations();
    } finally {
      this.inFlight--;
    }
  }
  counts(): Promise<StoreCounts> {
    return this.#track(() => this.#inner.counts());
  }

  stats(limit: number): Promise<StoreStats> {
    return this.#track(() => this.#inner.stats(limit));
  }
}
