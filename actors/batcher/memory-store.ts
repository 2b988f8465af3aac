import type { Batch, FlushReason, PendingSummary, StoredMessage } from './batch.js';
import type {
  AppendResult,
  BatchRef,
  BatchStore,
  ClaimRequest,
  DeadLetter,
  FlushRequest,
  FlushResult,
  Lease,
  Retried,
  Settled,
  SpillReport,
  StoreStats,
  StoreCounts,
} from './batch-store.js';
import { errorCode } from '../../src/errors.js';
import { conversationKey, type Conversation } from './conversation.js';
import { decideFlush } from './flush-rule.js';
import { InFlightOrder } from './ordering.js';
import { loadSpill, markSpillLoaded, spillUnreadable, writeSpill, type SpillContents } from './spill-file.js';

const PRUNE_EVERY = 50_000;

/** A conversation's pending messages; the entry is its own Conversation (one object, not two). */
interface PendingEntry extends Conversation {
  readonly messages: StoredMessage[];
}

export interface MemoryStoreOptions {
  /** How long a message id is remembered for deduplication (BATCH_TTL_S). */
  seenTtlMs: number;
  /**
   * Where `spill` writes what is left at shutdown, and the first `connect` loads it from
   * (DATA_DIR/memory-spill.json); without it nothing outlives the process.
   */
  spillFile?: string;
}

/**
 * The store in process memory (BATCH_STORE=memory: tests, benchmarks, and users who accept
 * the loss). It survives actor crashes (it lives outside the actors), not a kill of the
 * process; at shutdown what could not be delivered is written to a spill file that the next
 * start loads (spill-file.ts).
 */
export class MemoryStore implements BatchStore {
  readonly kind = 'memory';
  readonly target = 'memory store';
  readonly #pending = new Map<string, PendingEntry>();
  readonly #inFlight = new InFlightOrder();
  readonly #dead = new Map<string, DeadLetter>();
  /**
   * `<conversation key> <message id>` -> forget after, in epoch seconds (rounded up: an id
   * is remembered at least the TTL). One map for all conversations rather than one map per
   * conversation, and seconds fit a small integer where milliseconds need a boxed number:
   * about a third of the memory a pending conversation costs here.
   */
  readonly #seen = new Map<string, number>();
  readonly #seenTtlMs: number;
  readonly #spillFile: string | undefined;
  #appendsSincePrune = 0;
  #loaded = false;
  /** The spill could not be loaded: it stays as it is for the operator, never overwritten by a new one. */
  #spillBlocked = false;

  constructor(options: MemoryStoreOptions) {
    this.#seenTtlMs = options.seenTtlMs;
    this.#spillFile = options.spillFile;
  }

  /** In the process: never unavailable. */
  onAvailability(): () => void {
    return () => undefined;
  }

  /** The first connect loads what the last run spilled (once: a restarted /store keeps what is in memory). */
  async connect(): Promise<void> {
    if (this.#loaded || !this.#spillFile) return;
    const file = this.#spillFile;
    let contents: SpillContents | undefined;
    try {
      contents = await loadSpill(file);
      if (contents) this.#restore(contents);
    } catch (error) {
      this.#spillBlocked = true;
      this.#clear();
      if (errorCode(error) === 'WAR_ERR_SPILL_UNREADABLE') throw error;
      throw spillUnreadable(file, error instanceof Error ? error.message : String(error));
    }
    this.#loaded = true;
    if (contents) await markSpillLoaded(file);
  }

  async close(): Promise<void> {}

  /** Writes everything not yet delivered (pending, in flight, dead letters, remembered ids) for the next start. */
  async spill(): Promise<SpillReport> {
    const contents: SpillContents = {
      pending: [...this.#pending.values()].map((entry) => ({ sessionId: entry.sessionId, phone: entry.phone, messages: entry.messages })),
      inFlight: [...this.#inFlight.values()].map((entry) => entry.batch),
      dead: [...this.#dead.values()],
      seen: [...this.#seen.entries()],
    };
    const messages =
      contents.pending.reduce((sum, entry) => sum + entry.messages.length, 0) +
      contents.inFlight.reduce((sum, batch) => sum + batch.messages.length, 0) +
      contents.dead.reduce((sum, dead) => sum + dead.batch.messages.length, 0);
    const batches = contents.inFlight.length + contents.dead.length;
    // Remembered ids alone are worth keeping too: a redelivered message stays a duplicate.
    if (messages === 0 && contents.seen.length === 0) return { file: undefined, messages, batches, lost: 0 };
    if (!this.#spillFile || this.#spillBlocked) return { file: undefined, messages, batches, lost: messages };
    try {
      await writeSpill(this.#spillFile, contents);
      return { file: this.#spillFile, messages, batches, lost: 0 };
    } catch (error) {
      return { file: this.#spillFile, messages, batches, lost: messages, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Back to empty: a restore that failed half-way leaves nothing half-loaded behind. */
  #clear(): void {
    this.#pending.clear();
    this.#dead.clear();
    this.#seen.clear();
    for (const entry of [...this.#inFlight.values()]) this.#inFlight.remove(entry.batch.batchId, undefined);
  }

  #restore(contents: SpillContents): void {
    for (const [key, forgetAt] of contents.seen) this.#seen.set(key, forgetAt);
    for (const entry of contents.pending) {
      if (entry.messages.length === 0) continue;
      this.#pending.set(conversationKey(entry), { sessionId: entry.sessionId, phone: entry.phone, messages: [...entry.messages] });
    }
    // In cut order, so each conversation's queue is rebuilt as it was; nobody holds a lease now.
    for (const batch of contents.inFlight) this.#inFlight.add(batch, undefined);
    for (const dead of contents.dead) this.#dead.set(dead.batch.batchId, dead);
  }
  async ping(): Promise<void> {}

  async append(conversation: Conversation, message: StoredMessage): Promise<AppendResult> {
    const key = conversationKey(conversation);
    const seenKey = [key, message.id].join(' ');
    const forgetAt = this.#seen.get(seenKey);
    if (forgetAt !== undefined && forgetAt * 1000 > message.at) {
      const entry = this.#pending.get(key);
      return { status: 'duplicate', pending: entry && summary(entry) };
    }
    // Kept in expiry order (a Map iterates in insertion order): an id seen again after it
    // expired goes to the end, so the prune stops at the first id it must keep.
    if (forgetAt !== undefined) this.#seen.delete(seenKey);
    this.#seen.set(seenKey, Math.ceil((message.at + this.#seenTtlMs) / 1000));
    if (++this.#appendsSincePrune >= PRUNE_EVERY) this.#prune(message.at);
    const entry = this.#pending.get(key);
    if (entry) entry.messages.push(message);
    else {
      // An array literal is sized for its one element; an empty one grows to 17 slots on its first push.
      this.#pending.set(key, { sessionId: conversation.sessionId, phone: conversation.phone, messages: [message] });
      return { status: 'accepted', pending: { sessionId: conversation.sessionId, phone: conversation.phone, count: 1, firstAt: message.at, lastAt: message.at } };
    }
    return { status: 'accepted', pending: summary(entry) };
  }

  async pending(conversation: Conversation): Promise<PendingSummary | undefined> {
    const entry = this.#pending.get(conversationKey(conversation));
    return entry && summary(entry);
  }

  async flush(conversation: Conversation, request: FlushRequest): Promise<FlushResult> {
    const key = conversationKey(conversation);
    const entry = this.#pending.get(key);
    if (!entry) return { status: 'empty' };
    const pending = summary(entry);
    let reason: FlushReason | undefined = request.force;
    if (!reason) {
      const decision = decideFlush(pending, request.now, request.rules);
      if (!decision.due) return { status: 'not_due', dueAt: decision.dueAt, pending };
      reason = decision.reason;
    }
    const taken = entry.messages.splice(0, request.rules.maxMessages);
    const batch: Batch = {
      batchId: request.batchId,
      sessionId: entry.sessionId,
      phone: entry.phone,
      messages: taken,
      reason,
      firstAt: (taken[0] as StoredMessage).at,
      lastAt: (taken.at(-1) as StoredMessage).at,
      flushedAt: request.now,
    };
    const deliverable = this.#inFlight.add(batch, request);
    if (entry.messages.length === 0) this.#pending.delete(key);
    return { status: 'flushed', batch, remaining: entry.messages.length > 0 ? summary(entry) : undefined, deliverable };
  }

  async drop(conversation: Conversation): Promise<number> {
    const key = conversationKey(conversation);
    const count = this.#pending.get(key)?.messages.length ?? 0;
    this.#pending.delete(key);
    return count;
  }

  async claim(request: ClaimRequest): Promise<Batch[]> {
    return this.#inFlight.claim(request, request.now, request.includeOwn, request.limit);
  }

  async renew(batchId: string, owner: string, leaseUntil: number): Promise<boolean> {
    return this.#inFlight.renew(batchId, owner, leaseUntil);
  }

  async release(batchId: string, owner: string): Promise<boolean> {
    return this.#inFlight.release(batchId, owner);
  }

  async ack(batch: BatchRef, next: Lease): Promise<Settled> {
    const { removed, next: following } = this.#inFlight.remove(batch.batchId, next);
    if (!removed) return { settled: false, next: this.#inFlight.headHeldBy(batch, next.owner) };
    return { settled: true, next: following };
  }

  async deadLetter(batch: BatchRef, error: string, at: number, next: Lease): Promise<Settled> {
    const { removed, next: following } = this.#inFlight.remove(batch.batchId, next, next.owner);
    if (!removed) return { settled: false, next: this.#inFlight.headHeldBy(batch, next.owner) };
    this.#dead.set(batch.batchId, { batch: removed.batch, error, at });
    return { settled: true, next: following };
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return [...this.#dead.values()].sort((a, b) => a.at - b.at).slice(0, limit);
  }

  async deadLetterCount(): Promise<number> {
    return this.#dead.size;
  }

  async retryDeadLetter(batchId: string, lease: Lease): Promise<Retried | undefined> {
    const dead = this.#dead.get(batchId);
    if (!dead) return undefined;
    this.#dead.delete(batchId);
    return { batch: dead.batch, deliverable: this.#inFlight.add(dead.batch, lease) };
  }

  async dropDeadLetter(batchId: string): Promise<boolean> {
    return this.#dead.delete(batchId);
  }

  async *pendingConversations(): AsyncIterable<Conversation> {
    for (const entry of [...this.#pending.values()]) yield { sessionId: entry.sessionId, phone: entry.phone };
  }

  async counts(): Promise<StoreCounts> {
    return { pendingConversations: this.#pending.size, inFlightConversations: null, inFlightBatches: this.#inFlight.size, deadLetters: this.#dead.size, oldestPendingAt: null };
  }

  async stats(limit: number): Promise<StoreStats> {
    const all = [...this.#pending.values()].map(summary);
    all.sort((a, b) => a.firstAt - b.firstAt);
    return {
      pendingBatches: all.length,
      pendingMessages: all.reduce((sum, pending) => sum + pending.count, 0),
      batches: all.slice(0, limit),
      inFlight: this.#inFlight.size,
      waitingForEarlier: this.#inFlight.waiting,
      deadLetters: this.#dead.size,
    };
  }

  /**
   * Forgets expired message ids, oldest first, up to the first one still remembered: the
   * work is the ids that expired (and the slots of ids deleted before, which a map keeps
   * until it rehashes), not every id remembered (the map holds a TTL's worth). A clock
   * stepping back can leave an expired id a little longer; the check in `append` never
   * trusts an expired entry anyway. (A live iterator kept between prunes would skip the
   * deleted slots, but it also keeps every table the map outgrows alive.)
   */
  #prune(now: number): void {
    this.#appendsSincePrune = 0;
    const seen = this.#seen;
    for (const key of seen.keys()) {
      if ((seen.get(key) as number) * 1000 > now) return;
      seen.delete(key);
    }
  }
}

function summary(entry: PendingEntry): PendingSummary {
  const first = entry.messages[0] as StoredMessage;
  const last = entry.messages.at(-1) as StoredMessage;
  return { sessionId: entry.sessionId, phone: entry.phone, count: entry.messages.length, firstAt: first.at, lastAt: last.at };
}
