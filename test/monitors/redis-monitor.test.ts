import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisStore } from '../../actors/batcher/redis-store.js';
import { REDIS_CHECK, redisMonitor, type RedisMonitorOptions } from '../../actors/monitors/redis/redis-monitor.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { local } from '../../supervisor/child-spec.js';
import { captureLogger } from '../support/logger.js';
import { freePort } from '../support/net.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { PrivateRedis } from '../support/redis-server.js';
import { nodeAt, startSystem } from '../support/system.js';
import { waitFor } from '../support/wait.js';

const INTERVAL_MS = 1_000;
const thresholds = { pingWarnMs: 1_000, memoryWarnRatio: 0.8, memoryCriticalRatio: 0.95 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startMonitor(options: Pick<RedisMonitorOptions, 'url'> & Partial<RedisMonitorOptions>) {
  const checks = new HealthChecks();
  const log = captureLogger('info');
  const { system, clock } = await startSystem(
    [{ kind: 'actor', id: 'redis', dependency: { name: 'redis' }, behaviour: local(() => redisMonitor({ ...thresholds, intervalMs: INTERVAL_MS, checks, timeoutMs: 2_000, ...options })) }],
    { logger: log.logger },
  );
  cleanups.push(() => system.shutdown());
  /** Waits for the check made at the clock's current time. */
  const settled = async () => {
    const at = new Date(clock.now()).toISOString();
    return waitFor(() => (checks.get(REDIS_CHECK)?.at === at ? checks.get(REDIS_CHECK) : undefined), 15_000, `the redis check at ${at}`);
  };
  const next = async () => {
    await clock.advanceAsync(INTERVAL_MS);
    return settled();
  };
  await settled();
  return { checks, system, clock, log, settled, next };
}

describe('redis monitor', () => {
  it("pings the real Redis, reads its memory and carries the store's counters", async () => {
    const prefix = testPrefix('redis-monitor');
    const store = new RedisStore({ url: redisUrl(), keyPrefix: prefix, ttlSeconds: 600 });
    await store.connect();
    cleanups.push(async () => {
      await store.close();
      await deletePrefix(prefix);
    });
    const T0 = 1_700_000_000_000;
    const rules = { windowMs: 9_000, maxMessages: 10, maxAgeMs: 60_000 };
    const cut = async (phone: string, batchId: string) => {
      await store.append({ sessionId: 's1', phone }, { id: `${batchId}-m`, text: 'hello', at: T0 });
      expect(await store.flush({ sessionId: 's1', phone }, { now: T0 + 60_000, rules, batchId, owner: 'me', leaseUntil: T0 + 120_000 })).toMatchObject({ status: 'flushed' });
    };
    await cut('79161234567', 'b1');

    const monitor = await startMonitor({ url: redisUrl(), counts: () => store.counts() });
    const check = monitor.checks.get(REDIS_CHECK);
    // The Redis store counts what it indexes (conversations in flight, dead letters); the rest it cannot count cheaply.
    expect(check).toMatchObject({ status: 'ok', message: expect.stringMatching(/^redis ok: ping \d+ ms, memory [\d.]+ MB/), data: { reachable: true, inFlightConversations: 1, deadLetters: 0, pendingConversations: null } });
    expect(check?.data?.usedMemoryMb).toBeGreaterThan(0);
    const location = new URL(redisUrl());
    expect(check?.data?.target).toBe(`${location.protocol === 'rediss:' ? 'rediss' : 'redis'}://${location.hostname}:${location.port || '6379'}`);

    await cut('79169876543', 'b2');
    expect((await monitor.next()).data?.inFlightConversations).toBe(2);
    expect(nodeAt(monitor.system.snapshot(), '/redis')?.detail).toMatchObject({ status: 'ok', reachable: true });
  });

  it('an unreachable Redis is critical with the cause, checked again every interval, and the actor does not fail', async () => {
    const port = await freePort();
    const monitor = await startMonitor({ url: `redis://:hunter2-secret@127.0.0.1:${port}` });
    expect(monitor.checks.get(REDIS_CHECK)).toMatchObject({ status: 'critical', message: `redis unreachable: connect ECONNREFUSED 127.0.0.1:${port}`, data: { reachable: false, target: `redis://127.0.0.1:${port}` } });
    for (let i = 0; i < 3; i++) expect((await monitor.next()).status).toBe('critical');
    expect(nodeAt(monitor.system.snapshot(), '/redis')).toMatchObject({ status: 'running', restarts: 0, lastError: null, detail: { status: 'critical', reachable: false } });
    // One line for the outage, not one per check; no credential anywhere.
    expect(monitor.log.lines().filter((line) => line.includes('redis unreachable'))).toHaveLength(1);
    expect(monitor.log.text() + JSON.stringify(monitor.checks.all())).not.toContain('hunter2-secret');
    await monitor.system.shutdown();
    expect(monitor.checks.get(REDIS_CHECK)).toBeUndefined();
  });

  it("checks at once when the store's connection to the same Redis goes or comes back, not at the next interval", async () => {
    const server = new PrivateRedis();
    await server.start();
    cleanups.push(() => server.destroy());
    const store = new RedisStore({ url: server.url, keyPrefix: testPrefix('redis-monitor'), ttlSeconds: 600, reconnectMaxMs: 100 });
    await store.connect();
    cleanups.push(() => store.close());
    const monitor = await startMonitor({ url: server.url, counts: () => store.counts(), availability: (listener) => store.onAvailability(listener) });
    expect(monitor.checks.get(REDIS_CHECK)).toMatchObject({ status: 'ok', data: { deadLetters: 0 } });

    // The manual clock stands still: only the store's word can bring these checks about.
    await server.stop();
    await waitFor(() => monitor.checks.get(REDIS_CHECK)?.status === 'critical', 15_000, 'critical on the store going away');
    await server.start();
    await waitFor(() => monitor.checks.get(REDIS_CHECK)?.status === 'ok', 15_000, 'ok on the store coming back');
    expect(nodeAt(monitor.system.snapshot(), '/redis')).toMatchObject({ status: 'running', restarts: 0 });
  });

  it('follows a private Redis going down and coming back, and weighs memory against maxmemory', async () => {
    const server = new PrivateRedis();
    await server.start();
    cleanups.push(() => server.destroy());
    const monitor = await startMonitor({ url: server.url });
    expect(monitor.checks.get(REDIS_CHECK)?.status).toBe('ok');

    await server.stop();
    expect(await monitor.next()).toMatchObject({ status: 'critical', message: expect.stringMatching(/^redis unreachable: /) });
    expect(await monitor.next()).toMatchObject({ status: 'critical' });
    await server.start();
    expect(await monitor.next()).toMatchObject({ status: 'ok', data: { reachable: true } });
    expect(nodeAt(monitor.system.snapshot(), '/redis')).toMatchObject({ status: 'running', restarts: 0 });

    const admin = new Redis(server.url);
    cleanups.push(async () => void admin.disconnect());
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
    await admin.config('SET', 'maxmemory', String(Math.round(used / 0.88)));
    expect(await monitor.next()).toMatchObject({ status: 'warn', message: expect.stringMatching(/^redis memory at \d+% of maxmemory \(warning at 80%\)$/) });
    await admin.config('SET', 'maxmemory', String(Math.round(used / 2)));
    expect(await monitor.next()).toMatchObject({ status: 'critical', message: expect.stringMatching(/^redis memory at \d+% of maxmemory \(critical at 95%\)$/) });

    // Its own connection, closed when it stops.
    const clients = async () => String(await admin.call('CLIENT', 'LIST')).trim().split('\n').length;
    const before = await clients();
    await monitor.system.shutdown();
    await waitFor(async () => (await clients()) === before - 1, 10_000, 'the monitor to close its connection');
  });
});
