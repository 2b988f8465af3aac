import { Redis } from 'ioredis';
import type { AuthStore } from './auth-store.js';

const SCAN_COUNT = 500;

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
  constructor(redis: string | Redis, key: string, onError?: (error: Error) => void) {
    this.#owned = typeof redis === 'string';
    this.#redis = typeof redis === 'string' ? new Redis(redis, { lazyConnect: false, maxRetriesPerRequest: null }) : redis;
    if (this.#owned) {
      let lastReport = Number.NEGATIVE_INFINITY;
      this.#redis.on('error', (error: Error) => {
        if (!onError || Date.now() - lastReport < 30_000) return;
        lastReport = Date.now();
        onError(error);
      });
    }
    this.#key = key;
  }

  async read(name: string): Promise<string | undefined> {
    return (await this.#redis.hget(this.#key, name)) ?? undefined;
  }

  async write(entries: ReadonlyMap<string, string | null>): Promise<void> {
    if (entries.size === 0) return;
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

  async deleteByPrefix(prefix: string): Promise<number> {
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
    await this.#redis.del(this.#key);
  }

  async close(): Promise<void> {
    if (!this.#owned) return;
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
