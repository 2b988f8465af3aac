import { Redis, type RedisOptions } from 'ioredis';
import type { Batch, FlushReason, PendingSummary, StoredMessage } from './batch.js';
import {
  StoreUnavailableError,
  type AppendResult,
  type AvailabilityListener,
  type BatchRef,
  type BatchStore,
  type ClaimRequest,
  type DeadLetter,
  type FlushRequest,
  type FlushResult,
  type Lease,
  type Retried,
  type Settled,
  type StoreStats,
  type StoreCounts,
} from './batch-store.js';
import { conversationKey, parseConversationKey, type Conversation } from './conversation.js';
import { ACK, ADOPT, APPEND, APPEND_MANY, CLAIM, DEAD_LETTER, DROP, DROP_DEAD, FLUSH, PENDING, RELEASE, RENEW, RETRY_DEAD } from './redis-scripts.js';

export interface RedisStoreOptions {
  url: string;
  /** Every key starts with it; lets several runtimes (or tests) share one Redis. */
  keyPrefix: string;
  /** Safety net for garbage only (BATCH_TTL_S); it never decides a flush. */
  ttlSeconds: number;
  /** A command that takes longer fails (and ingress answers 503) instead of hanging. */
  commandTimeoutMs?: number;
  /** The longest wait between reconnection attempts after the connection is lost. */
  reconnectMaxMs?: number;
}

type Entry = [id: string, text: string, at: number, sentAt?: number];

interface Scripts {
  batchAppend(pending: string, seen: string, id: string, entry: string, at: number, ttl: number): Promise<AppendReply>;
  /** numKeys, the keys (pending, seen per message), ttl, then (id, entry, at) per message. */
  batchAppendMany(numKeys: number, ...args: (string | number)[]): Promise<(string | number)[]>;
  /** heads, inflightPrefix, orderPrefix, owner, leaseUntil, then batchId, sessionId, phone per batch. */
  batchAck(heads: string, ...argv: (string | number)[]): Promise<(string | number)[][]>;
  batchPending(pending: string): Promise<[number, string, string]>;
  batchFlush(pending: string, inflight: string, order: string, heads: string, ...argv: (string | number)[]): Promise<(string | number)[]>;
  batchClaim(heads: string, inflightPrefix: string, owner: string, now: number, leaseUntil: number, limit: number, includeOwn: string): Promise<string[][]>;
  batchRenew(inflight: string, heads: string, owner: string, leaseUntil: number, batchId: string): Promise<number>;
  batchRelease(inflight: string, heads: string, owner: string, batchId: string): Promise<number>;
  batchDeadLetter(inflight: string, dead: string, index: string, heads: string, ...argv: (string | number)[]): Promise<(string | number)[]>;
  batchRetryDead(dead: string, inflight: string, index: string, heads: string, ...argv: (string | number)[]): Promise<(string | number)[] | null>;
  batchAdopt(inflight: string, heads: string, batchId: string, inflightPrefix: string, orderPrefix: string): Promise<number>;
  batchDropDead(dead: string, index: string, batchId: string): Promise<number>;
  batchDrop(pending: string): Promise<number>;
}

type ScriptedRedis = Redis & Scripts;

/** An ack waiting for its burst to be sent. */
interface QueuedAck {
  readonly batch: BatchRef;
  readonly next: Lease;
  readonly resolve: (settled: Settled) => void;
  readonly reject: (error: unknown) => void;
}

/** The most appends one APPEND_MANY call carries (and acks one ACK_MANY). */
const APPENDS_PER_CALL = 128;

/** accepted (1 | 0), count, firstAt, lastAt. */
type AppendReply = [number, number, string, string];

/** An append waiting for its burst to be sent. */
interface QueuedAppend {
  readonly pending: string;
  readonly seen: string;
  readonly id: string;
  readonly entry: string;
  readonly at: number;
  readonly resolve: (reply: AppendReply) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The durable store on Redis (ioredis). Connection loss is surfaced, not hidden: the
 * offline queue is off, so while Redis is away every call fails fast with
 * WAR_ERR_STORE_UNAVAILABLE (ingress answers 503) and ioredis reconnects in the background.
 */
export class RedisStore implements BatchStore {
  readonly kind = 'redis';
  readonly target: string;
  readonly #options: RedisStoreOptions;
  #redis: ScriptedRedis | undefined;
  readonly #listeners = new Set<AvailabilityListener>();
  #available = false;
  /** The connection's last error (ioredis' `error` event), the cause a refused call names. */
  #lastError: Error | undefined;
  #corked = false;
  /** Appends of the current burst (this tick and its microtasks), sent together at its end. */
  #appends: QueuedAppend[] = [];
  /** Acks of the current burst (batches delivered together), sent together at its end, per lease. */
  #acks: QueuedAck[] = [];

  constructor(options: RedisStoreOptions) {
    if (!/^[A-Za-z0-9:_-]*$/.test(options.keyPrefix)) {
      throw new Error(`key prefix ${JSON.stringify(options.keyPrefix)} may only hold letters, digits, ':', '_' and '-'`);
    }
    this.#options = options;
    this.target = redisTarget(options.url);
  }

  onAvailability(listener: AvailabilityListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #setAvailable(available: boolean, cause: unknown): void {
    if (available === this.#available) return;
    this.#available = available;
    const change = { available, cause: available ? null : describeCause(cause) };
    for (const listener of this.#listeners) listener(change);
  }

  async connect(): Promise<void> {
    // A client from a start that was abandoned (it timed out while Redis was loading) is
    // replaced, not taken as connected.
    if (this.#redis?.status === 'ready') return;
    if (this.#redis) {
      this.#redis.disconnect();
      this.#redis = undefined;
    }
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: this.#options.commandTimeoutMs ?? 5_000,
      connectTimeout: 5_000,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), this.#options.reconnectMaxMs ?? 2_000),
    };
    const redis = new Redis(this.#options.url, redisOptions) as ScriptedRedis;
    // Errors surface through the calls and the availability listeners; the event itself only
    // must not crash the process, and its error is the cause a refused call names.
    redis.on('error', (error: Error) => {
      this.#lastError = error;
    });
    redis.on('ready', () => this.#setAvailable(true, undefined));
    redis.on('close', () => {
      if (this.#redis === redis) this.#setAvailable(false, this.#lastError ?? 'the connection closed');
    });
    redis.defineCommand('batchAppend', { numberOfKeys: 2, lua: APPEND });
    redis.defineCommand('batchAppendMany', { lua: APPEND_MANY });
    redis.defineCommand('batchAck', { numberOfKeys: 1, lua: ACK });
    redis.defineCommand('batchPending', { numberOfKeys: 1, lua: PENDING });
    redis.defineCommand('batchFlush', { numberOfKeys: 4, lua: FLUSH });
    redis.defineCommand('batchClaim', { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand('batchRenew', { numberOfKeys: 2, lua: RENEW });
    redis.defineCommand('batchRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('batchDeadLetter', { numberOfKeys: 4, lua: DEAD_LETTER });
    redis.defineCommand('batchRetryDead', { numberOfKeys: 4, lua: RETRY_DEAD });
    redis.defineCommand('batchAdopt', { numberOfKeys: 2, lua: ADOPT });
    redis.defineCommand('batchDropDead', { numberOfKeys: 2, lua: DROP_DEAD });
    redis.defineCommand('batchDrop', { numberOfKeys: 1, lua: DROP });
    this.#redis = redis;
    this.#lastError = undefined;
    try {
      await redis.connect();
      await this.#indexDeadLetters();
      await this.#adoptUnordered();
    } catch (error) {
      // A later connect may have replaced this client already: leave that one alone.
      if (this.#redis === redis) this.#redis = undefined;
      redis.disconnect();
      // ioredis rejects with "Connection is closed."; the socket's own error (ECONNREFUSED,
      // ENOTFOUND, a TLS failure) came as an `error` event just before, and says why.
      const cause = this.#lastError ?? error;
      this.#setAvailable(false, cause);
      throw new StoreUnavailableError(this.target, cause);
    }
  }

  /**
   * Dead letters parked before the index existed join it, once per Redis (a marker key says it
   * was done): SCAN, never KEYS, and not a walk of the keyspace at every start.
   */
  async #indexDeadLetters(): Promise<void> {
    const built = `${this.#deadIndexKey()}:built`;
    if ((await this.#call((redis) => redis.exists(built))) === 1) return;
    const prefix = this.#deadKey('');
    for await (const key of this.#scan(`${prefix}*`)) {
      await this.#call((redis) => redis.sadd(this.#deadIndexKey(), key.slice(prefix.length)));
    }
    await this.#call((redis) => redis.set(built, '1'));
  }

  /**
   * In-flight batches cut before the ordering rule existed join their conversations' queues,
   * in cut order, once per Redis (a marker key says it was done).
   */
  async #adoptUnordered(): Promise<void> {
    const built = `${this.#headsKey()}:built`;
    if ((await this.#call((redis) => redis.exists(built))) === 1) return;
    const found: { batchId: string; flushedAt: number }[] = [];
    const prefix = this.#inFlightKey('');
    for await (const key of this.#scan(`${prefix}*`)) {
      const flushedAt = await this.#call((redis) => redis.hget(key, 'flushedAt'));
      found.push({ batchId: key.slice(prefix.length), flushedAt: Number(flushedAt) });
    }
    found.sort((a, b) => a.flushedAt - b.flushedAt);
    for (const { batchId } of found) {
      await this.#call((redis) => redis.batchAdopt(this.#inFlightKey(batchId), this.#headsKey(), batchId, prefix, this.#orderKey('')));
    }
    await this.#call((redis) => redis.set(built, '1'));
  }

  async close(): Promise<void> {
    const redis = this.#redis;
    this.#redis = undefined;
    this.#available = false;
    if (!redis) return;
    await redis.quit().catch(() => redis.disconnect());
  }

  /** The connection's state, for the store's health check. */
  get status(): string {
    return this.#redis?.status ?? 'closed';
  }

  async ping(): Promise<void> {
    await this.#call((redis) => redis.ping());
  }

  async append(conversation: Conversation, message: StoredMessage): Promise<AppendResult> {
    const entry: Entry = message.sentAt === undefined ? [message.id, message.text, message.at] : [message.id, message.text, message.at, message.sentAt];
    const [accepted, count, firstAt, lastAt] = await new Promise<AppendReply>((resolve, reject) => {
      const appends = this.#appends;
      appends.push({ pending: this.#pendingKey(conversation), seen: this.#seenKey(conversation), id: message.id, entry: JSON.stringify(entry), at: message.at, resolve, reject });
      if (appends.length === 1) process.nextTick(this.#sendAppends);
    });
    const pending = count > 0 ? summary(conversation, count, firstAt, lastAt) : undefined;
    if (accepted === 1 && pending) return { status: 'accepted', pending };
    return { status: 'duplicate', pending };
  }

  async pending(conversation: Conversation): Promise<PendingSummary | undefined> {
    const [count, firstAt, lastAt] = await this.#call((redis) => redis.batchPending(this.#pendingKey(conversation)));
    return count > 0 ? summary(conversation, count, firstAt, lastAt) : undefined;
  }

  async flush(conversation: Conversation, request: FlushRequest): Promise<FlushResult> {
    const { rules } = request;
    const reply = await this.#call((redis) =>
      redis.batchFlush(
        this.#pendingKey(conversation),
        this.#inFlightKey(request.batchId),
        this.#orderKey(conversationKey(conversation)),
        this.#headsKey(),
        request.now,
        rules.windowMs,
        rules.maxMessages,
        rules.maxAgeMs,
        request.force ?? '',
        conversation.sessionId,
        conversation.phone,
        request.owner,
        request.leaseUntil,
        this.#options.ttlSeconds,
        request.batchId,
        this.#inFlightKey(''),
      ),
    );
    const [status] = reply;
    if (status === 'empty') return { status: 'empty' };
    if (status === 'not_due') {
      const [, dueAt, count, firstAt, lastAt] = reply as [string, string, number, string, string];
      return { status: 'not_due', dueAt: Number(dueAt), pending: summary(conversation, count, firstAt, lastAt) };
    }
    const [, reason, firstAt, lastAt, messagesJson, remaining, remainingFirstAt, remainingLastAt, deliverable] = reply as [
      string, string, string, string, string, number, string, string, number,
    ];
    const batch: Batch = {
      batchId: request.batchId,
      sessionId: conversation.sessionId,
      phone: conversation.phone,
      messages: parseMessages(messagesJson),
      reason: reason as FlushReason,
      firstAt: Number(firstAt),
      lastAt: Number(lastAt),
      flushedAt: request.now,
    };
    return {
      status: 'flushed',
      batch,
      remaining: remaining > 0 ? summary(conversation, remaining, remainingFirstAt, remainingLastAt) : undefined,
      deliverable: Number(deliverable) === 1,
    };
  }

  async drop(conversation: Conversation): Promise<number> {
    return this.#call((redis) => redis.batchDrop(this.#pendingKey(conversation)));
  }

  /** Indexed: the heads sorted set, never a walk of the keyspace. */
  async claim(request: ClaimRequest): Promise<Batch[]> {
    const entries = await this.#call((redis) =>
      redis.batchClaim(this.#headsKey(), this.#inFlightKey(''), request.owner, request.now, request.leaseUntil, request.limit, request.includeOwn ? '1' : '0'),
    );
    return entries.map(([batchId, ...fields]) => batchFromHash(batchId as string, pairs(fields)));
  }

  async renew(batchId: string, owner: string, leaseUntil: number): Promise<boolean> {
    return (await this.#call((redis) => redis.batchRenew(this.#inFlightKey(batchId), this.#headsKey(), owner, leaseUntil, batchId))) === 1;
  }

  async release(batchId: string, owner: string): Promise<boolean> {
    return (await this.#call((redis) => redis.batchRelease(this.#inFlightKey(batchId), this.#headsKey(), owner, batchId))) === 1;
  }

  ack(batch: BatchRef, next: Lease): Promise<Settled> {
    return new Promise<Settled>((resolve, reject) => {
      const acks = this.#acks;
      acks.push({ batch, next, resolve, reject });
      if (acks.length === 1) process.nextTick(this.#sendAcks);
    });
  }

  async deadLetter(batch: BatchRef, error: string, at: number, next: Lease): Promise<Settled> {
    const { batchId } = batch;
    const reply = await this.#call((redis) =>
      redis.batchDeadLetter(
        this.#inFlightKey(batchId),
        this.#deadKey(batchId),
        this.#deadIndexKey(),
        this.#headsKey(),
        error,
        at,
        batchId,
        this.#inFlightKey(''),
        this.#orderKey(''),
        next.owner,
        next.leaseUntil,
        batch.sessionId,
        batch.phone,
      ),
    );
    return settledFrom(reply);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    let cursor = '0';
    do {
      const [next, ids] = await this.#call((redis) => redis.sscan(this.#deadIndexKey(), cursor, 'COUNT', 500));
      cursor = next;
      for (const batchId of ids) {
        const hash = await this.#call((redis) => redis.hgetall(this.#deadKey(batchId)));
        if (hash.messages) letters.push({ batch: batchFromHash(batchId, hash), error: hash.error ?? '', at: Number(hash.deadAt) });
      }
    } while (cursor !== '0');
    return letters.sort((a, b) => a.at - b.at).slice(0, limit);
  }

  async deadLetterCount(): Promise<number> {
    return this.#call((redis) => redis.scard(this.#deadIndexKey()));
  }

  async retryDeadLetter(batchId: string, lease: Lease): Promise<Retried | undefined> {
    const reply = await this.#call((redis) =>
      redis.batchRetryDead(
        this.#deadKey(batchId),
        this.#inFlightKey(batchId),
        this.#deadIndexKey(),
        this.#headsKey(),
        batchId,
        lease.owner,
        lease.leaseUntil,
        this.#options.ttlSeconds,
        this.#inFlightKey(''),
        this.#orderKey(''),
      ),
    );
    if (!reply) return undefined;
    const [deliverable, ...fields] = reply;
    return { batch: batchFromHash(batchId, pairs(fields.map(String))), deliverable: Number(deliverable) === 1 };
  }

  async dropDeadLetter(batchId: string): Promise<boolean> {
    return (await this.#call((redis) => redis.batchDropDead(this.#deadKey(batchId), this.#deadIndexKey(), batchId))) === 1;
  }

  async *pendingConversations(): AsyncIterable<Conversation> {
    const prefix = this.#pendingKey({ sessionId: '', phone: '' }).slice(0, -1);
    for await (const key of this.#scan(`${prefix}*`)) {
      const conversation = parseConversationKey(key.slice(prefix.length));
      if (conversation) yield conversation;
    }
  }

  /** Two O(1) commands: the heads index and the dead-letter index (pending conversations would need a SCAN). */
  async counts(): Promise<StoreCounts> {
    const read = { provesAvailable: false };
    const [heads, dead] = await Promise.all([this.#call((redis) => redis.zcard(this.#headsKey()), read), this.#call((redis) => redis.scard(this.#deadIndexKey()), read)]);
    return { pendingConversations: null, inFlightConversations: heads, inFlightBatches: null, deadLetters: dead, oldestPendingAt: null };
  }

  async stats(limit: number): Promise<StoreStats> {
    const batches: PendingSummary[] = [];
    let pendingBatches = 0;
    let pendingMessages = 0;
    for await (const conversation of this.pendingConversations()) {
      const pending = await this.pending(conversation);
      if (!pending) continue;
      pendingBatches++;
      pendingMessages += pending.count;
      batches.push(pending);
    }
    batches.sort((a, b) => a.firstAt - b.firstAt);
    let inFlight = 0;
    for await (const _ of this.#scan(`${this.#options.keyPrefix}inflight:*`)) inFlight++;
    const heads = await this.#call((redis) => redis.zcard(this.#headsKey()));
    const deadLetters = await this.deadLetterCount();
    return { pendingBatches, pendingMessages, batches: batches.slice(0, limit), inFlight, waitingForEarlier: Math.max(0, inFlight - heads), deadLetters };
  }

  // ---- keys and plumbing -----------------------------------------------------------------

  #pendingKey(conversation: Conversation): string {
    return `${this.#options.keyPrefix}pending:${conversationKey(conversation)}`;
  }

  #seenKey(conversation: Conversation): string {
    return `${this.#options.keyPrefix}seen:${conversationKey(conversation)}`;
  }

  #inFlightKey(batchId: string): string {
    return `${this.#options.keyPrefix}inflight:${batchId}`;
  }

  /** A conversation's in-flight batch ids in cut order (ordering.ts). */
  #orderKey(conversation: string): string {
    return `${this.#options.keyPrefix}order:${conversation}`;
  }

  /** Each conversation's oldest in-flight batch, scored by when its lease ends: what claims read. */
  #headsKey(): string {
    return `${this.#options.keyPrefix}heads`;
  }

  #deadKey(batchId: string): string {
    return `${this.#options.keyPrefix}dead:${batchId}`;
  }

  /** The set of dead-letter ids: counted with SCARD, listed with SSCAN. */
  #deadIndexKey(): string {
    return `${this.#options.keyPrefix}dead-index`;
  }

  /**
   * Commands sent in one burst of callbacks (the appends of many concurrent requests, the
   * flushes of timers due together) leave in one socket write instead of one write (one
   * syscall) each: the socket is corked until the current ticks and microtasks have run.
   * Replies, order and atomicity are unchanged; this is plain Redis pipelining.
   */
  #coalesceWrites(redis: ScriptedRedis): void {
    if (this.#corked) return;
    const stream = redis.stream;
    this.#corked = true;
    stream.cork();
    process.nextTick(() => {
      this.#corked = false;
      stream.uncork();
    });
  }

  /**
   * Sends the burst's appends: one script call for all of them (APPEND_MANY) instead of one
   * each, so a burst of clients costs Redis and this process one command, one reply and one
   * timeout timer. Each append is still applied whole and in order, as APPEND applies it.
   */
  readonly #sendAppends = (): void => {
    const burst = this.#appends;
    this.#appends = [];
    // A bounded script each: one call never holds Redis for long.
    for (let from = 0; from < burst.length; from += APPENDS_PER_CALL) this.#sendAppendsNow(burst.slice(from, from + APPENDS_PER_CALL));
  };

  #sendAppendsNow(appends: QueuedAppend[]): void {
    const ttl = this.#options.ttlSeconds;
    if (appends.length === 1) {
      const one = appends[0] as QueuedAppend;
      this.#call((redis) => redis.batchAppend(one.pending, one.seen, one.id, one.entry, one.at, ttl)).then(one.resolve, one.reject);
      return;
    }
    const args: (string | number)[] = [];
    for (const append of appends) args.push(append.pending, append.seen);
    args.push(ttl);
    for (const append of appends) args.push(append.id, append.entry, append.at);
    this.#call((redis) => redis.batchAppendMany(appends.length * 2, ...args)).then(
      (reply) => {
        for (let i = 0; i < appends.length; i++) {
          const at = 4 * i;
          (appends[i] as QueuedAppend).resolve([Number(reply[at]), Number(reply[at + 1]), String(reply[at + 2]), String(reply[at + 3])]);
        }
      },
      (error: unknown) => {
        for (const append of appends) append.reject(error);
      },
    );
  }

  /**
   * Sends the burst's acks: one script call for all acks that lease the next batches to the
   * same owner (in practice all of them), bounded per call, a reply per batch.
   */
  readonly #sendAcks = (): void => {
    const burst = this.#acks;
    this.#acks = [];
    for (let from = 0; from < burst.length; from += APPENDS_PER_CALL) {
      const acks = burst.slice(from, from + APPENDS_PER_CALL);
      const { owner, leaseUntil } = (acks[0] as QueuedAck).next;
      // One lease for the call: acks given different leases are rare (two owners in one process: tests).
      const same = acks.filter((ack) => ack.next.owner === owner);
      const others = acks.filter((ack) => ack.next.owner !== owner);
      if (others.length > 0) for (const ack of others) this.#sendAckCall([ack], ack.next);
      this.#sendAckCall(same, { owner, leaseUntil: Math.max(...same.map((ack) => ack.next.leaseUntil)) });
    }
  };

  #sendAckCall(acks: QueuedAck[], next: Lease): void {
    const refs: string[] = [];
    for (const { batch } of acks) refs.push(batch.batchId, batch.sessionId, batch.phone);
    this.#call((redis) => redis.batchAck(this.#headsKey(), this.#inFlightKey(''), this.#orderKey(''), next.owner, next.leaseUntil, ...refs)).then(
      (replies) => {
        for (let i = 0; i < acks.length; i++) (acks[i] as QueuedAck).resolve(settledFrom(replies[i] as (string | number)[]));
      },
      (error: unknown) => {
        for (const ack of acks) ack.reject(error);
      },
    );
  }

  /** SCAN, never KEYS: the walk is incremental and never blocks Redis. */
  async *#scan(match: string): AsyncIterable<string> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#call((redis) => redis.scan(cursor, 'MATCH', match, 'COUNT', 1000));
      cursor = next;
      for (const key of keys) yield key;
    } while (cursor !== '0');
  }

  /**
   * `provesAvailable: false` for reads a monitor makes on a timer: Redis out of memory still
   * answers reads, and one of those must not mark the store available while writes fail.
   */
  async #call<T>(operation: (redis: ScriptedRedis) => Promise<T>, options: { readonly provesAvailable: boolean } = { provesAvailable: true }): Promise<T> {
    const redis = this.#redis;
    if (!redis || redis.status !== 'ready') {
      const why = redis ? `the connection is ${redis.status}${this.#lastError ? ` (${this.#lastError.message})` : ''}` : 'not connected';
      this.#setAvailable(false, why);
      throw new StoreUnavailableError(this.target, why);
    }
    this.#coalesceWrites(redis);
    try {
      const result = await operation(redis);
      // A call that went through: the store is there (after a timeout, LOADING or a refused write).
      if (!this.#available && options.provesAvailable) this.#setAvailable(true, undefined);
      return result;
    } catch (error) {
      if (isConnectionError(error)) {
        this.#setAvailable(false, error);
        throw new StoreUnavailableError(this.target, error);
      }
      throw error;
    }
  }
}

function summary(conversation: Conversation, count: number, firstAt: string, lastAt: string): PendingSummary {
  return { sessionId: conversation.sessionId, phone: conversation.phone, count: Number(count), firstAt: Number(firstAt), lastAt: Number(lastAt) };
}

function parseMessages(json: string): StoredMessage[] {
  return (JSON.parse(json) as Entry[]).map(([id, text, at, sentAt]) => (sentAt === undefined ? { id, text, at } : { id, text, at, sentAt }));
}

/** A settling script's reply: {settled (1|0), next batch id or '', its fields...}. */
function settledFrom(reply: (string | number)[]): Settled {
  const [settled, nextId, ...fields] = reply;
  return {
    settled: Number(settled) === 1,
    next: nextId ? batchFromHash(String(nextId), pairs(fields.map(String))) : undefined,
  };
}

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

function batchFromHash(batchId: string, hash: Record<string, string>): Batch {
  return {
    batchId,
    sessionId: hash.sessionId ?? '',
    phone: hash.phone ?? '',
    messages: parseMessages(hash.messages ?? '[]'),
    reason: (hash.reason ?? 'recovered') as FlushReason,
    firstAt: Number(hash.firstAt),
    lastAt: Number(hash.lastAt),
    flushedAt: Number(hash.flushedAt),
  };
}

/** `redis 10.0.0.5:6380/2`: where the store is, without the credentials a URL may carry. */
function redisTarget(url: string): string {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  return `${parsed.protocol === 'rediss:' ? 'redis (TLS)' : 'redis'} at ${parsed.hostname || '127.0.0.1'}:${parsed.port || '6379'}${db && db !== '0' ? `/${db}` : ''}`;
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * The store cannot take the call now: transport trouble, or a Redis that refuses writes for a
 * while (out of memory under noeviction, a failed RDB save, loading, a read-only replica). As
 * opposed to a script or argument error, which is a bug and should crash loudly.
 */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|LOADING|READONLY|OOM command not allowed|MISCONF|MASTERDOWN|NOREPLICAS|BUSY Redis is busy|TRYAGAIN|CLUSTERDOWN/.test(error.message) ||
    (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code))
  );
}
