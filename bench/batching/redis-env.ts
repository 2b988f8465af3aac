/**
 * The Redis every Redis contender shares: REDIS_URL, else the local default. One root key
 * prefix per suite run; every contender's keys live under it, and `deleteUnder` removes
 * them with SCAN (never KEYS) when the suite ends, even after a failure.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function benchRedisUrl(): string {
  const url = process.env.REDIS_URL;
  return url !== undefined && url !== '' ? url : DEFAULT_REDIS_URL;
}

/** A fresh root prefix for one suite run: letters, digits, ':', '_' and '-' only (the runtime's REDIS_KEY_PREFIX rule). */
export function suitePrefix(): string {
  return `bench-batching:${randomUUID().slice(0, 8)}:`;
}

/** A connection that fails fast instead of queueing while Redis is away. */
export function connect(url: string): Redis {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000, enableOfflineQueue: true });
  redis.on('error', () => undefined);
  return redis;
}

/** Why Redis cannot be used, or undefined when it answers PING. */
export async function redisProblem(url: string): Promise<string | undefined> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const pong = await redis.ping();
    return pong === 'PONG' ? undefined : `PING answered ${pong}`;
  } catch (error) {
    return `no Redis at ${url.replace(/\/\/[^@]*@/, '//***@')}: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under `prefix` with SCAN + UNLINK; returns how many were deleted. */
export async function deleteUnder(url: string, prefix: string): Promise<number> {
  const redis = connect(url);
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Counts the keys under `prefix` (SCAN). */
export async function countUnder(redis: Redis, prefix: string): Promise<number> {
  let count = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

/** Redis's own accounting of the memory it uses (INFO memory, used_memory), in bytes. */
export async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error('INFO memory has no used_memory');
  return Number(match[1]);
}
