import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../batcher/batch-store.js';
import { reportErrorsAtMostEvery } from '../../src/logging/rare-errors.js';
import { StaleFenceError, type Outbox, type OutboxEntry, type OutboxPush } from './outbox.js';
import { fenceGuard, sessionKeys } from './session-keys.js';

/** KEYS: outbox, lease. ARGV: entry JSON, max, fence ('' outside a cluster). Returns {1, depth} | {0, depth} (full) | {-1, 0} (stale fence). */
const PUSH = `${fenceGuard('KEYS[2]', 'ARGV[3]')}
local depth = redis.call('LLEN', KEYS[1])
if depth >= tonumber(ARGV[2]) then return {0, depth} end
return {1, redis.call('RPUSH', KEYS[1], ARGV[1])}`;

/** KEYS: outbox, lease. ARGV: id, fence, how far to look. The acknowledged entry is the head in practice; a few more are looked at. */
const REMOVE = `${fenceGuard('KEYS[2]', 'ARGV[2]')}
local entries = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
for _, raw in ipairs(entries) do
  if cjson.decode(raw).id == ARGV[1] then return {1, redis.call('LREM', KEYS[1], 1, raw)} end
end
return {1, 0}`;

const REMOVE_WINDOW = 64;

type ScriptResult = [number, number];

interface OutboxRedis extends Redis {
  outboxPush(outbox: string, lease: string, entry: string, max: number, fence: string): Promise<ScriptResult>;
  outboxRemove(outbox: string, lease: string, id: string, fence: string, window: number): Promise<ScriptResult>;
}

/**
 * With REDIS_URL: a session's send queue is one Redis list (`wa-outbox:{id}`) of JSON entries,
 * pushed and removed by scripts that first check the session's fence, so a node whose lease has
 * moved on cannot add to or take from the queue. Commands fail at once while Redis is away
 * (no offline queue): a send is refused with 503 rather than accepted into memory only.
 */
export class RedisOutbox implements Outbox {
  readonly kind = 'redis';
  readonly durable = true;
  readonly #redis: OutboxRedis;
  readonly #prefix: string;
  #subscriber: Redis | undefined;

  constructor(url: string, prefix: string, onError?: (error: Error) => void) {
    this.#prefix = prefix;
    const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5_000, retryStrategy: (attempt) => Math.min(attempt * 200, 5_000) });
    reportErrorsAtMostEvery(redis, 30_000, (error) => onError?.(error));
    redis.defineCommand('outboxPush', { numberOfKeys: 2, lua: PUSH });
    redis.defineCommand('outboxRemove', { numberOfKeys: 2, lua: REMOVE });
    this.#redis = redis as OutboxRedis;
  }

  async push(sessionId: string, entry: OutboxEntry, max: number, fence?: number): Promise<OutboxPush> {
    const keys = sessionKeys(this.#prefix, sessionId);
    const [status, depth] = await this.#call(() => this.#redis.outboxPush(keys.outbox, keys.lease, JSON.stringify(entry), max, fence === undefined ? '' : String(fence)));
    if (status === -1) throw new StaleFenceError(sessionId, fence as number);
    return { accepted: status === 1, depth };
  }

  async load(sessionId: string, limit: number): Promise<OutboxEntry[]> {
    const raw = await this.#call(() => this.#redis.lrange(sessionKeys(this.#prefix, sessionId).outbox, 0, limit - 1));
    return raw.map((each) => JSON.parse(each) as OutboxEntry);
  }

  async remove(sessionId: string, id: string, fence?: number): Promise<void> {
    const keys = sessionKeys(this.#prefix, sessionId);
    const [status] = await this.#call(() => this.#redis.outboxRemove(keys.outbox, keys.lease, id, fence === undefined ? '' : String(fence), REMOVE_WINDOW));
    if (status === -1) throw new StaleFenceError(sessionId, fence as number);
  }

  /** Tells the node that runs the session that its stored queue grew behind its back (a reply made elsewhere). */
  async announce(sessionId: string): Promise<void> {
    await this.#call(() => this.#redis.publish(this.#channel, sessionId));
  }

  /** Calls `pushed` with the session of every announcement, on a subscriber connection of its own (resubscribed after a reconnect). */
  watch(pushed: (sessionId: string) => void): void {
    if (this.#subscriber) return;
    // Its own retry policy: a SUBSCRIBE sent while Redis is down waits for it (ioredis resubscribes only what succeeded).
    const subscriber = this.#redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined);
    subscriber.on('message', (_channel: string, sessionId: string) => pushed(sessionId));
    void subscriber.subscribe(this.#channel).catch(() => undefined);
    this.#subscriber = subscriber;
  }

  async close(): Promise<void> {
    await this.#subscriber?.quit().catch(() => this.#subscriber?.disconnect());
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  get #channel(): string {
    return `${this.#prefix}wa-outbox-pushed`;
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new StoreUnavailableError('redis (send queue)', error);
    }
  }
}
