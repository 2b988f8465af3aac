import { Redis } from 'ioredis';
import type { Behaviour } from '../../../src/actor/behaviour.js';
import type { CheckReport, HealthChecks } from '../../../src/health/health-checks.js';
import type { AvailabilityListener, StoreCounts } from '../../batcher/batch-store.js';
import { parseInfo, redisMemory } from './redis-info.js';
import { classifyRedis, type RedisSample, type RedisThresholds } from './redis-rule.js';

export interface RedisMonitorOptions extends RedisThresholds {
  readonly url: string;
  readonly intervalMs: number;
  readonly checks: HealthChecks;
  /** The batch store's cheap counters, when the store is this Redis; never `stats()` (it SCANs). */
  readonly counts?: () => Promise<StoreCounts>;
  /**
   * The store's word that its connection to this Redis went or came back (BatchStore
   * `onAvailability`): the monitor checks at once instead of at the next interval, so the
   * `redis` check follows an outage as closely as the `store` check does. Returns the unsubscribe.
   */
  readonly availability?: (listener: AvailabilityListener) => () => void;
  /** How long a connect or a command may take; default the interval, at most 5 s. */
  readonly timeoutMs?: number;
}

export type RedisMonitorMessage = { readonly type: 'check' } | { readonly type: 'status' };

export const REDIS_CHECK = 'redis';

/**
 * `monitors/redis`: its own connection to Redis (the store's may be busy or down for its own
 * reasons), checked every `intervalMs`: PING latency, `INFO memory` against maxmemory, and the
 * store's counters, published as the `redis` check. The connection is not reconnected by
 * ioredis behind its back: each check that finds it closed makes one connect attempt, so an
 * outage costs one attempt per interval, and no command queues while it lasts. Redis being
 * down is the check's status, never a failure of the actor.
 */
export function redisMonitor(options: RedisMonitorOptions): Behaviour<RedisMonitorMessage, CheckReport | undefined> {
  const timeoutMs = options.timeoutMs ?? Math.min(options.intervalMs, 5_000);
  const target = redisLocation(options.url);
  let redis: Redis | undefined;
  let lastError: Error | undefined;
  let last: CheckReport | undefined;
  let unsubscribe: (() => void) | undefined;
  /**
   * What the store last said of its connection. While it is away the counters are left out:
   * they would be stale, and a read that goes through (Redis out of memory still answers
   * reads) would tell the store it is available again while its writes are still refused.
   */
  let storeAvailable = true;

  const look = async (client: Redis, now: () => number): Promise<RedisSample> => {
    try {
      if (client.status === 'wait' || client.status === 'end') {
        lastError = undefined;
        await client.connect();
      }
      const startedAt = now();
      await client.ping();
      const pingMs = Math.max(0, now() - startedAt);
      const memory = redisMemory(parseInfo(await client.info('memory')));
      // The store's own trouble (its connection, its scripts) is the `store` check's; here it only leaves the figures out.
      const counts = options.counts && storeAvailable ? await options.counts().catch(() => undefined) : undefined;
      return { reachable: true, pingMs, memory, counts };
    } catch (error) {
      // ioredis rejects with "Connection is closed."; the socket's error just before says why.
      // Without a socket error yet, ioredis' own words ("Stream isn't writeable ...") say less than its state.
      if (client.status !== 'ready' && !lastError) return { reachable: false, cause: `the connection is ${client.status}` };
      const cause = client.status === 'ready' ? error : (lastError ?? error);
      return { reachable: false, cause: cause instanceof Error ? cause.message : String(cause) };
    }
  };

  return {
    start(ctx) {
      redis = new Redis(options.url, {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
      });
      redis.on('error', (error: Error) => {
        lastError = error;
      });
      unsubscribe = options.availability?.((change) => {
        storeAvailable = change.available;
        ctx.self.tell({ type: 'check' });
      });
      ctx.timers.every('check', options.intervalMs, { type: 'check' });
      ctx.self.tell({ type: 'check' });
    },
    async receive(message, ctx) {
      if (message.type === 'status' || !redis) return last;
      const sample = await look(redis, () => ctx.clock.now());
      const result = classifyRedis(target, sample, options, new Date(ctx.clock.now()));
      if (result.status !== last?.status && (last !== undefined || result.status !== 'ok')) {
        const fields = { redis: result.data };
        if (result.status === 'critical') ctx.log.error(fields, result.message);
        else if (result.status === 'warn') ctx.log.warn(fields, result.message);
        else ctx.log.info(fields, `${result.message} (was ${last?.status})`);
      }
      last = result;
      options.checks.report(REDIS_CHECK, result);
      ctx.setDetail({ status: result.status, reachable: sample.reachable, pingMs: result.data?.pingMs ?? null, memoryRatio: result.data?.memoryRatio ?? null });
      return result;
    },
    stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      redis?.disconnect();
      redis = undefined;
      // A stopped monitor must not leave a stale "ok" behind.
      options.checks.remove(REDIS_CHECK);
    },
  };
}

/** `127.0.0.1:6379/2`: where Redis is, without the credentials its URL may carry. */
export function redisLocation(url: string): string {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  return `${parsed.protocol === 'rediss:' ? 'rediss' : 'redis'}://${parsed.hostname || '127.0.0.1'}:${parsed.port || '6379'}${db && db !== '0' ? `/${db}` : ''}`;
}
