import type { Redis } from 'ioredis';
import { sessionKeys } from '../whatsapp/session-keys.js';

/**
 * One session's ownership across runtimes on one Redis: a lease (`wa-lease:{id}` =
 * `<fence>|<nodeId>`, with a TTL of WA_LEASE_MS) and a fence counter (`wa-fence:{id}`) that
 * only ever grows. A node acquires with one script: SET NX PX, and only if that succeeded the
 * fence is INCRed into the value, so every acquisition gets a fence larger than all before
 * it. Renewal and release succeed only for the exact `<fence>|<nodeId>` that was acquired:
 * a node whose lease lapsed (paused, partitioned) and was taken cannot renew its way back
 * into it, and the scripts that write auth state and the send queue refuse its old fence
 * (session-keys.ts `fenceGuard`). This is the fencing Kleppmann asks of a lock: expiry alone
 * cannot stop a paused holder from acting, a token checked by the store can.
 */
export const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then
  local fence, node = string.match(current, '^(%d+)|(.*)$')
  if node == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, tonumber(fence), node}
  end
  return {0, tonumber(fence), node}
end
local fence = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
if not redis.call('SET', KEYS[1], fence .. '|' .. ARGV[1], 'NX', 'PX', ARGV[2]) then return {0, 0, ''} end
redis.call('INCR', KEYS[2])
return {1, fence, ARGV[1]}`;

/** KEYS: lease. ARGV: node, fence, ttl. 1 when still held (and extended), 0 when lost. */
export const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[2] .. '|' .. ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0`;

/** KEYS: lease. ARGV: node, fence. 1 when it was ours and is gone, 0 when it was not ours. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[2] .. '|' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

export type Acquired = { readonly held: true; readonly fence: number } | { readonly held: false; readonly owner: string | null; readonly fence: number };

export interface LeaseHolder {
  readonly node: string;
  readonly fence: number;
}

interface LeaseRedis extends Redis {
  leaseAcquire(lease: string, fence: string, node: string, ttlMs: number): Promise<[number, number, string]>;
  leaseRenew(lease: string, node: string, fence: number, ttlMs: number): Promise<number>;
  leaseRelease(lease: string, node: string, fence: number): Promise<number>;
}

/** The lease scripts on one connection, for one key prefix. */
export class SessionLeases {
  readonly #redis: LeaseRedis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    redis.defineCommand('leaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('leaseRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('leaseRelease', { numberOfKeys: 1, lua: RELEASE });
    this.#redis = redis as LeaseRedis;
    this.#prefix = prefix;
  }

  async acquire(sessionId: string, node: string, ttlMs: number): Promise<Acquired> {
    const keys = sessionKeys(this.#prefix, sessionId);
    const [held, fence, owner] = await this.#redis.leaseAcquire(keys.lease, keys.fence, node, ttlMs);
    return held === 1 ? { held: true, fence } : { held: false, owner: owner || null, fence };
  }

  async renew(sessionId: string, node: string, fence: number, ttlMs: number): Promise<boolean> {
    return (await this.#redis.leaseRenew(sessionKeys(this.#prefix, sessionId).lease, node, fence, ttlMs)) === 1;
  }

  async release(sessionId: string, node: string, fence: number): Promise<boolean> {
    return (await this.#redis.leaseRelease(sessionKeys(this.#prefix, sessionId).lease, node, fence)) === 1;
  }

  /** Who holds the session now, if anyone. */
  async holder(sessionId: string): Promise<LeaseHolder | undefined> {
    const value = await this.#redis.get(sessionKeys(this.#prefix, sessionId).lease);
    const match = value ? /^(\d+)\|(.*)$/.exec(value) : null;
    return match ? { fence: Number(match[1]), node: match[2] as string } : undefined;
  }
}
