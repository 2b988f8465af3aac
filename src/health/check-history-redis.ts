import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import { describe } from '../errors.js';
import { ConditionLog } from '../logging/condition-log.js';
import type { CheckHistory, CheckHistorySink, CheckTransitionRecord, HistoryStatus } from './check-history.js';
import { BoundedRing } from './check-history-ring.js';

export interface RedisCheckLogOptions {
  readonly url: string;
  /** REDIS_KEY_PREFIX: streams are `<prefix>checks:<name>`, the set of names `<prefix>checks`. */
  readonly keyPrefix: string;
  /** CHECK_HISTORY_SIZE: each stream is capped near it, and at most this many are read back. */
  readonly size: number;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Start-up waits at most this long for the history; then it starts empty. */
  readonly loadTimeoutMs?: number;
  /** Writes kept while Redis is away; past it, the oldest are dropped. */
  readonly bufferMax?: number;
  /** After a failed write with the connection still up (Redis refusing writes), the next try. */
  readonly retryMs?: number;
}

type Write = { readonly kind: 'add'; readonly name: string; readonly record: CheckTransitionRecord } | { readonly kind: 'forget'; readonly name: string };

const DEFAULT_LOAD_TIMEOUT_MS = 3_000;
const DEFAULT_BUFFER_MAX = 10_000;
const DEFAULT_RETRY_MS = 5_000;
/** Writes per pipeline: a long outage's backlog goes out in bounded bursts. */
const WRITES_PER_FLUSH = 256;
/** Streams read per round trip on load. */
const STREAMS_PER_READ = 100;
const STATUSES: ReadonlySet<string> = new Set<HistoryStatus>(['ok', 'warn', 'critical', 'absent']);

/**
 * Check transitions in Redis, so uptime and transitions survive a restart: one capped stream
 * per check (`XADD ... MAXLEN ~ size`) and a set naming them, so that loading never scans the
 * keyspace. It has its own connection (the store's may be busy or down for its own reasons),
 * with no offline queue: `transition` only buffers (bounded) and a background flush writes
 * when Redis is there, so a report is never slowed or failed by Redis. Being down at start is
 * a warning and an empty history, never a failed start.
 */
export class RedisCheckLog implements CheckHistorySink {
  readonly #redis: Redis;
  readonly #options: RedisCheckLogOptions;
  readonly #conditions: ConditionLog;
  readonly #buffer: BoundedRing<Write>;
  /** Flushing waits for the load, or this run's first writes could be read back as history. */
  #loaded = false;
  #loading: Promise<void> | undefined;
  #flushing: Promise<void> | undefined;
  #scheduled = false;
  #retry: TimerHandle | undefined;
  /** After a failed write: wait for the retry timer or a fresh connection, not spin. */
  #backingOff = false;
  /** The connection's last error: "Connection is closed." alone does not say why. */
  #lastError: Error | undefined;
  #closed = false;
  #dropped = 0;

  constructor(options: RedisCheckLogOptions) {
    this.#options = options;
    this.#buffer = new BoundedRing(options.bufferMax ?? DEFAULT_BUFFER_MAX);
    this.#conditions = new ConditionLog(options.logger.child({ component: 'check-history' }), { now: () => options.clock.now() });
    this.#redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 5_000,
      connectTimeout: 5_000,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5_000),
    });
    // The connection's errors surface as failed writes (logged once per outage); the event
    // itself must only not crash the process.
    this.#redis.on('error', (error: Error) => {
      this.#lastError = error;
    });
    this.#redis.on('ready', () => {
      this.#backingOff = false;
      this.#schedule();
    });
  }

  /** Writes not yet in Redis (buffered while it is away). */
  get backlog(): number {
    return this.#buffer.length;
  }

  /** Writes dropped because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  transition(name: string, record: CheckTransitionRecord): void {
    this.#enqueue({ kind: 'add', name, record });
  }

  forgotten(name: string): void {
    this.#enqueue({ kind: 'forget', name });
  }

  /** Reads every check's stream into `history`, within the load timeout; never throws. */
  load(history: CheckHistory): Promise<void> {
    this.#loading ??= this.#load(history);
    return this.#loading;
  }

  async #load(history: CheckHistory): Promise<void> {
    const { clock, logger } = this.#options;
    const timeoutMs = this.#options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
    let timer: TimerHandle | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = clock.setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const loaded = await Promise.race([this.#read(), timeout]);
      history.restore(loaded);
      let transitions = 0;
      for (const records of loaded.values()) transitions += records.length;
      logger.info({ checks: loaded.size, transitions }, 'check history loaded from Redis');
    } catch (error) {
      logger.warn({ err: describe(this.#lastError ?? error) }, 'check history starts empty: it could not be read from Redis; transitions are written to it once it is back');
    } finally {
      if (timer) clock.clearTimeout(timer);
      this.#loaded = true;
      this.#schedule();
    }
  }

  async #read(): Promise<Map<string, CheckTransitionRecord[]>> {
    if (this.#redis.status === 'wait') await this.#redis.connect();
    const names = (await this.#redis.smembers(this.#setKey())).sort();
    const loaded = new Map<string, CheckTransitionRecord[]>();
    const gone: string[] = [];
    for (let i = 0; i < names.length; i += STREAMS_PER_READ) {
      const chunk = names.slice(i, i + STREAMS_PER_READ);
      const pipeline = this.#redis.pipeline();
      for (const name of chunk) pipeline.xrevrange(this.#streamKey(name), '+', '-', 'COUNT', this.#options.size);
      const replies = (await pipeline.exec()) ?? [];
      chunk.forEach((name, index) => {
        const [error, entries] = replies[index] ?? [new Error('no reply')];
        if (error) throw error;
        const records = parseEntries(entries as [string, string[]][]);
        if (records.length === 0) gone.push(name);
        else loaded.set(name, records);
      });
    }
    // Names whose stream was deleted by hand (or expired by an eviction policy) leave the set.
    if (gone.length > 0) await this.#redis.srem(this.#setKey(), ...gone);
    return loaded;
  }

  /**
   * Writes what is buffered (within `timeoutMs`) and closes the connection. What could not be
   * written is said in the log; it is lost with the process, as an outage's history would be.
   */
  async close(timeoutMs = 1_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retry) this.#options.clock.clearTimeout(this.#retry);
    const { clock } = this.#options;
    let timer: TimerHandle | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, timeoutMs);
    });
    const drain = async (): Promise<void> => {
      while (this.#buffer.length > 0 && this.#redis.status === 'ready') {
        const before = this.#buffer.firstPosition;
        await (this.#flushing ?? this.#flush());
        if (this.#buffer.firstPosition === before) return;
      }
    };
    if (this.#loaded) await Promise.race([drain(), deadline]);
    if (timer) clock.clearTimeout(timer);
    if (this.#buffer.length > 0) {
      this.#options.logger.warn({ transitions: this.#buffer.length }, `${this.#buffer.length} check history writes could not reach Redis before shutdown`);
    }
    this.#redis.disconnect();
  }

  #enqueue(write: Write): void {
    if (this.#closed) return;
    if (this.#buffer.push(write)) {
      this.#dropped++;
      this.#conditions.on('buffer-full', 'warn', { max: this.#buffer.capacity }, 'check history buffer full while Redis is away: the oldest transitions are not kept in Redis');
    }
    this.#schedule();
  }

  /** One flush per burst of transitions (a tick's worth), and only when it can succeed. */
  #schedule(): void {
    if (this.#scheduled || this.#flushing || this.#backingOff || !this.#loaded || this.#closed || this.#buffer.length === 0) return;
    if (this.#redis.status !== 'ready') return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (!this.#closed) void this.#flush();
    });
  }

  #flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = undefined;
      this.#schedule();
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    const { size } = this.#options;
    try {
      while (this.#buffer.length > 0 && this.#redis.status === 'ready') {
        const first = this.#buffer.firstPosition;
        const count = Math.min(this.#buffer.length, WRITES_PER_FLUSH);
        const pipeline = this.#redis.pipeline();
        for (let i = 0; i < count; i++) {
          const write = this.#buffer.at(i) as Write;
          const key = this.#streamKey(write.name);
          if (write.kind === 'add') {
            const { from, to, message, at } = write.record;
            pipeline.xadd(key, 'MAXLEN', '~', size, '*', 'from', from, 'to', to, 'message', message, 'at', String(at));
            pipeline.sadd(this.#setKey(), write.name);
          } else {
            pipeline.del(key);
            pipeline.srem(this.#setKey(), write.name);
          }
        }
        const replies = await pipeline.exec();
        const failed = replies?.find(([error]) => error !== null);
        if (!replies || failed) throw failed?.[0] ?? new Error('the pipeline was discarded');
        // Only what was sent: while it was in flight, a full buffer may have dropped some of it.
        this.#buffer.dropBefore(first + count);
      }
      if (this.#buffer.length === 0) this.#conditions.off('write', 'check history writes reach Redis again');
    } catch (error) {
      this.#conditions.on('write', 'warn', { err: describe(error), backlog: this.#buffer.length }, 'check history writes to Redis failed; kept in memory and retried');
      // A lost connection retries on `ready`; a Redis that refuses writes (out of memory) stays
      // ready, so a timer tries again.
      this.#backingOff = true;
      if (!this.#retry && !this.#closed) {
        this.#retry = this.#options.clock.setTimeout(() => {
          this.#retry = undefined;
          this.#backingOff = false;
          this.#schedule();
        }, this.#options.retryMs ?? DEFAULT_RETRY_MS);
      }
    }
  }

  #setKey(): string {
    return `${this.#options.keyPrefix}checks`;
  }

  #streamKey(name: string): string {
    return `${this.#options.keyPrefix}checks:${name}`;
  }
}

/** XREVRANGE entries (newest first) as transitions, oldest first; malformed entries skipped, replays merged. */
function parseEntries(entries: readonly [id: string, fields: string[]][]): CheckTransitionRecord[] {
  const records: CheckTransitionRecord[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const fields = entries[i]?.[1] ?? [];
    const value: Record<string, string> = {};
    for (let f = 0; f + 1 < fields.length; f += 2) value[fields[f] as string] = fields[f + 1] as string;
    const at = Number(value.at);
    const { from, to } = value;
    // Beyond ±8.64e15 ms a Date is invalid, and the route could not print it.
    if (!from || !to || !STATUSES.has(from) || !STATUSES.has(to) || !Number.isFinite(at) || Math.abs(at) > 8.64e15) continue;
    const record: CheckTransitionRecord = { from: from as HistoryStatus, to: to as HistoryStatus, message: value.message ?? '', at };
    // A pipeline cut off after Redis wrote part of it is sent again: the same transition twice.
    const previous = records.at(-1);
    if (previous && previous.from === record.from && previous.to === record.to && previous.at === record.at && previous.message === record.message) continue;
    records.push(record);
  }
  return records;
}
