import type { Batch } from './batch.js';
import type { Lease } from './batch-store.js';
import { conversationKey, type Conversation } from './conversation.js';

/**
 * The ordering rule (DESIGN section 6), in one place:
 *
 *   The batches of one conversation reach the handler in the order they were cut. Batch n+1
 *   of a conversation is not handed to a handler until batch n is delivered (acked) or
 *   dead-lettered, whichever runtime cut either of them and across crashes.
 *
 * The store, not a process, enforces it, so it holds for several runtimes on one Redis and
 * after a kill -9: every in-flight batch joins its conversation's queue when it is cut, and
 * only the queue's head is ever leased. A batch cut behind another waits in the store,
 * unleased (`deliverable: false`); settling the head (`ack`, `deadLetter`) leases the next
 * one to the runtime that settled it, which delivers it without a lease running out first.
 * A recovered in-flight batch is a head, so it goes before anything cut after it. A dead
 * letter an operator retries joins the end of its conversation's queue.
 *
 * Heads are either leased (owner, leaseUntil) or claimable: released by a pipeline that was
 * full (backpressure), or with a lease that ran out (its runtime died). Claims take the
 * claimable heads oldest first; a released head counts as if its lease ended when it was cut.
 *
 * Each store implements this in its own terms (Redis: a list per conversation and a sorted
 * set of heads by lease; SQLite: a `head` column and an index); the memory store uses the
 * structure below. One contract suite (test/batcher/store.contract.test.ts) holds all three.
 */
export class InFlightOrder {
  /** Every batch in flight. */
  readonly #batches = new Map<string, InFlight>();
  /** Per conversation, its in-flight batch ids in cut order; `[0]` is the head. */
  readonly #queues = new Map<string, string[]>();
  /** Heads nobody holds (released, or leased before a restart): claimed first, in this order. */
  readonly #claimable = new Map<string, InFlight>();
  /** Heads held by an owner: few (what the pipelines have room for), scanned for expired leases. */
  readonly #leased = new Map<string, InFlight>();

  get size(): number {
    return this.#batches.size;
  }

  /** In flight behind an earlier batch of its conversation. */
  get waiting(): number {
    return this.#batches.size - this.#claimable.size - this.#leased.size;
  }

  get(batchId: string): InFlight | undefined {
    return this.#batches.get(batchId);
  }

  /** A batch joins the end of its conversation's queue; leased to `lease` if it is the head. */
  add(batch: Batch, lease: Lease | undefined): boolean {
    const key = conversationKey(batch);
    const queue = this.#queues.get(key);
    const entry: InFlight = { batch, owner: '', leaseUntil: 0 };
    this.#batches.set(batch.batchId, entry);
    if (queue) {
      queue.push(batch.batchId);
      return false;
    }
    this.#queues.set(key, [batch.batchId]);
    this.#hold(entry, lease);
    return true;
  }

  /**
   * Removes a batch (only if `holder` holds its lease, when given); if it was its
   * conversation's head, the next one becomes head, leased to `next`.
   */
  remove(batchId: string, next: Lease | undefined, holder?: string): { removed: InFlight | undefined; next: Batch | undefined } {
    const entry = this.#batches.get(batchId);
    if (!entry || (holder !== undefined && entry.owner !== holder)) return { removed: undefined, next: undefined };
    this.#batches.delete(batchId);
    this.#claimable.delete(batchId);
    this.#leased.delete(batchId);
    const key = conversationKey(entry.batch);
    const queue = this.#queues.get(key) as string[];
    const at = queue.indexOf(batchId);
    queue.splice(at, 1);
    if (queue.length === 0) {
      this.#queues.delete(key);
      return { removed: entry, next: undefined };
    }
    if (at !== 0) return { removed: entry, next: undefined };
    const head = this.#batches.get(queue[0] as string) as InFlight;
    this.#hold(head, next);
    return { removed: entry, next: next ? head.batch : undefined };
  }

  /** The conversation's oldest batch in flight, if `owner` holds its lease. */
  headHeldBy(conversation: Conversation, owner: string): Batch | undefined {
    const head = this.#queues.get(conversationKey(conversation))?.[0];
    const entry = head === undefined ? undefined : this.#leased.get(head);
    return entry && entry.owner === owner ? entry.batch : undefined;
  }

  renew(batchId: string, owner: string, leaseUntil: number): boolean {
    const entry = this.#leased.get(batchId);
    if (!entry || entry.owner !== owner) return false;
    entry.leaseUntil = leaseUntil;
    return true;
  }

  release(batchId: string, owner: string): boolean {
    const entry = this.#leased.get(batchId);
    if (!entry || entry.owner !== owner) return false;
    this.#hold(entry, undefined);
    return true;
  }

  /** Claimable heads first (in the order they became claimable), then expired leases, then (if asked) the owner's own. */
  claim(lease: Lease, now: number, includeOwn: boolean, limit: number): Batch[] {
    const claimed: InFlight[] = [];
    for (const entry of this.#claimable.values()) {
      if (claimed.length >= limit) break;
      claimed.push(entry);
    }
    for (const entry of this.#leased.values()) {
      if (claimed.length >= limit) break;
      if (entry.leaseUntil <= now || (includeOwn && entry.owner === lease.owner)) claimed.push(entry);
    }
    for (const entry of claimed) this.#hold(entry, lease);
    return claimed.map((entry) => entry.batch);
  }

  /** Every lease given up (a store reopened by the only process that may use it). */
  releaseAll(): void {
    for (const entry of [...this.#leased.values()]) this.#hold(entry, undefined);
  }

  values(): IterableIterator<InFlight> {
    return this.#batches.values();
  }

  #hold(entry: InFlight, lease: Lease | undefined): void {
    if (lease) {
      entry.owner = lease.owner;
      entry.leaseUntil = lease.leaseUntil;
      this.#claimable.delete(entry.batch.batchId);
      this.#leased.set(entry.batch.batchId, entry);
    } else {
      entry.owner = '';
      entry.leaseUntil = 0;
      this.#leased.delete(entry.batch.batchId);
      this.#claimable.set(entry.batch.batchId, entry);
    }
  }
}

export interface InFlight {
  readonly batch: Batch;
  /** '' while nobody holds it (claimable, or waiting behind its conversation's head). */
  owner: string;
  leaseUntil: number;
}
