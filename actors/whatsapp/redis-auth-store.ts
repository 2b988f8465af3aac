import { Redis } from 'ioredis';
import type { AuthStore } from './auth-store.js';
import { RuntimeError } from '../../src/errors.js';
import { reportErrorsAtMostEvery } from '../../src/logging/rare-errors.js';
import { StaleFenceError } from './outbox.js';
import { fenceGuard } from './session-keys.js';

/** KEYS: hash, lease. ARGV: fence, how many names are set, then name/value pairs, then names deleted. */
const FENCED_WRITE = `${fenceGuard('KEYS[2]', 'ARGV[1]')}
local sets = tonumber(ARGV[2])
for i = 0, sets - 1 do redis.call('HSET', KEYS[1], ARGV[3 + 2 * i], ARGV[4 + 2 * i]) end
for i = 3 + 2 * sets, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
return {1, 0}`;

interface FencedRedis extends Redis {
  authWriteFenced(hash: string, lease: string, ...args: (string | number)[]): Promise<[number, number]>;
}

const SCAN_COUNT = 500;
const OWNER_CHECK_MS = 2_000;

/**
 * One Redis hash per session (`<REDIS_KEY_PREFIX>wa-auth:<sessionId>`), a field per entry.
 * A write is one MULTI, so the entries of one `keys.set` land together, and it resolves only
 * after Redis answered; fields of different keys never overwrite each other.
 */
export class RedisAuthStore implements AuthStore {
  readonly kind = 'redis';
  readonly #redis: Redis;
  readonly #key: string;
  readonly #owned: boolean;

  /**
   * `redis`: a URL (this store owns the connection) or a connection someone else closes.
   * Commands wait while Redis is away (a key Baileys is told is saved must be saved); the
   * connection's errors go to `onError`, at most one every 30 s.
   */
  readonly #fence: { readonly leaseKey: string; readonly value: number } | undefined;

  constructor(redis: string | Redis, key: string, onError?: (error: Error) => void, fence?: { readonly leaseKey: string; readonly value: number }) {
    this.#fence = fence;
    this.#owned = typeof redis === 'string';
    this.#redis = typeof redis === 'string' ? new Redis(redis, { lazyConnect: false, maxRetriesPerRequest: null }) : redis;
    // An owned connection's errors would otherwise go unheard (ioredis logs nothing itself).
    if (this.#owned) reportErrorsAtMostEvery(this.#redis, 30_000, (error) => onError?.(error));
    this.#key = key;
    if (fence) this.#redis.defineCommand('authWriteFenced', { numberOfKeys: 2, lua: FENCED_WRITE });
  }

  async read(name: string): Promise<string | undefined> {
    return (await this.#redis.hget(this.#key, name)) ?? undefined;
  }

  async write(entries: ReadonlyMap<string, string | null>): Promise<void> {
    if (entries.size === 0) return;
    if (this.#fence) return this.#writeFenced(entries, this.#fence);
    const transaction = this.#redis.multi();
    const set: string[] = [];
    const deleted: string[] = [];
    for (const [name, value] of entries) {
      if (value === null) deleted.push(name);
      else set.push(name, value);
    }
    if (set.length > 0) transaction.hset(this.#key, ...set);
    if (deleted.length > 0) transaction.hdel(this.#key, ...deleted);
    const results = await transaction.exec();
    const failed = results?.find(([error]) => error !== null);
    if (results === null || failed) throw failed?.[0] ?? new Error('the auth-state transaction was discarded');
  }

  /**
   * A node that lost the session (its lease lapsed while it was paused) must not overwrite the
   * credentials or keys the new owner writes: the script refuses its fence, all or nothing.
   */
  async #writeFenced(entries: ReadonlyMap<string, string | null>, fence: { readonly leaseKey: string; readonly value: number }): Promise<void> {
    const set: string[] = [];
    const deleted: string[] = [];
    for (const [name, value] of entries) {
      if (value === null) deleted.push(name);
      else set.push(name, value);
    }
    const [status] = await (this.#redis as FencedRedis).authWriteFenced(this.#key, fence.leaseKey, String(fence.value), set.length / 2, ...set, ...deleted);
    if (status === -1) throw new StaleFenceError(this.#key, fence.value);
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    await this.#assertFence();
    let cursor = '0';
    let deleted = 0;
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    do {
      const [next, flat] = await this.#redis.hscan(this.#key, cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      const names = flat.filter((_, index) => index % 2 === 0);
      if (names.length > 0) deleted += await this.#redis.hdel(this.#key, ...names);
    } while (cursor !== '0');
    return deleted;
  }

  async clear(): Promise<void> {
    await this.#assertFence();
    await this.#redis.del(this.#key);
  }

  /** Bounded: a Redis that does not answer must not hold a send or a connect (it is `WAR_ERR_WA_NOT_OPEN`, not a failure of the message). */
  async assertOwner(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#assertFence(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RuntimeError('WAR_ERR_WA_NOT_OPEN', `the ownership of ${this.#key} could not be confirmed within ${OWNER_CHECK_MS} ms`)), OWNER_CHECK_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Before a deletion of many entries (not one script), and before each send: a node that lost the session deletes and sends nothing. */
  async #assertFence(): Promise<void> {
    if (!this.#fence) return;
    const [status] = (await this.#redis.eval(`${fenceGuard('KEYS[1]', 'ARGV[1]')}\nreturn {1, 0}`, 1, this.#fence.leaseKey, String(this.#fence.value))) as [number, number];
    if (status === -1) throw new StaleFenceError(this.#key, this.#fence.value);
  }

  async close(): Promise<void> {
    if (!this.#owned) return;
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
