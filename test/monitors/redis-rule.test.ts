import { describe, expect, it } from 'vitest';
import { redisLocation } from '../../actors/monitors/redis/redis-monitor.js';
import { parseInfo, redisMemory } from '../../actors/monitors/redis/redis-info.js';
import { classifyRedis, type RedisSample } from '../../actors/monitors/redis/redis-rule.js';

const MB = 1024 * 1024;
const thresholds = { pingWarnMs: 100, memoryWarnRatio: 0.8, memoryCriticalRatio: 0.95 };
const at = new Date(0);
const target = 'redis://10.0.0.5:6380';
const up = (pingMs: number, usedMb: number, maxMb: number): RedisSample => ({
  reachable: true,
  pingMs,
  memory: { usedBytes: usedMb * MB, maxBytes: maxMb * MB, policy: 'noeviction' },
  counts: undefined,
});

describe('the redis check', () => {
  it('is critical with the cause when Redis does not answer', () => {
    expect(classifyRedis(target, { reachable: false, cause: 'connect ECONNREFUSED 10.0.0.5:6380' }, thresholds, at)).toMatchObject({
      status: 'critical',
      message: 'redis unreachable: connect ECONNREFUSED 10.0.0.5:6380',
      data: { target, reachable: false, pingMs: null, deadLetters: null },
    });
  });

  it('weighs used memory against maxmemory, only when maxmemory is set', () => {
    expect(classifyRedis(target, up(1, 50, 100), thresholds, at)).toMatchObject({ status: 'ok', message: 'redis ok: ping 1 ms, memory 50 MB of 100 MB', data: { memoryRatio: 0.5, maxMemoryPolicy: 'noeviction' } });
    expect(classifyRedis(target, up(1, 80, 100), thresholds, at)).toMatchObject({ status: 'warn', message: 'redis memory at 80% of maxmemory (warning at 80%)' });
    expect(classifyRedis(target, up(1, 96, 100), thresholds, at)).toMatchObject({ status: 'critical', message: 'redis memory at 96% of maxmemory (critical at 95%)' });
    expect(classifyRedis(target, up(1, 5000, 0), thresholds, at)).toMatchObject({ status: 'ok', message: 'redis ok: ping 1 ms, memory 5000 MB (no maxmemory)', data: { memoryRatio: null, maxMemoryMb: null } });
  });

  it('warns on a slow ping; the worst finding names the status and findings of that level share the message', () => {
    expect(classifyRedis(target, up(99, 1, 0), thresholds, at).status).toBe('ok');
    expect(classifyRedis(target, up(100, 1, 0), thresholds, at)).toMatchObject({ status: 'warn', message: 'redis ping 100 ms (warning at 100 ms)', data: { pingMs: 100 } });
    expect(classifyRedis(target, up(250, 85, 100), thresholds, at).message).toBe('redis memory at 85% of maxmemory (warning at 80%); redis ping 250 ms (warning at 100 ms)');
    expect(classifyRedis(target, up(250, 99, 100), thresholds, at).message).toBe('redis memory at 99% of maxmemory (critical at 95%)');
  });

  it("carries the store's counters in the data", () => {
    const sample: RedisSample = { reachable: true, pingMs: 2, memory: undefined, counts: { pendingConversations: 3, inFlightConversations: 2, inFlightBatches: 4, deadLetters: 1, oldestPendingAt: 123 } };
    expect(classifyRedis(target, sample, thresholds, at)).toMatchObject({
      status: 'ok',
      message: 'redis ok: ping 2 ms, memory unknown',
      data: { pendingConversations: 3, inFlightConversations: 2, inFlightBatches: 4, deadLetters: 1, oldestPendingAt: 123, usedMemoryMb: null },
    });
  });

  it('reads INFO memory, and names Redis without the credentials of its URL', () => {
    const info = parseInfo('# Memory\r\nused_memory:1702464\r\nused_memory_human:1.62M\r\nmaxmemory:104857600\r\nmaxmemory_policy:allkeys-lru\r\n');
    expect(redisMemory(info)).toEqual({ usedBytes: 1702464, maxBytes: 104857600, policy: 'allkeys-lru' });
    expect(redisMemory(parseInfo('# Memory\r\n'))).toBeUndefined();
    expect(redisLocation('redis://:hunter2@cache.internal:6380/2')).toBe('redis://cache.internal:6380/2');
    expect(redisLocation('rediss://user:pw@cache.internal')).toBe('rediss://cache.internal:6379');
  });
});
