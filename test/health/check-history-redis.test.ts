import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { CheckHistory } from '../../src/health/check-history.js';
import { RedisCheckLog } from '../../src/health/check-history-redis.js';
import { HealthChecks, type CheckStatus } from '../../src/health/health-checks.js';
import { Runtime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { captureLogger, silentLogger } from '../support/logger.js';
import { freePort } from '../support/net.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function usePrefix(label: string): string {
  const prefix = testPrefix(label);
  cleanups.push(() => deletePrefix(prefix));
  return prefix;
}

function redis(): Redis {
  const client = new Redis(redisUrl());
  cleanups.push(() => client.disconnect());
  return client;
}

/** A log and the history it feeds, as the check-history feature wires them. */
function logged(options: { url?: string; prefix: string; size?: number; maxChecks?: number; clock?: ManualClock; bufferMax?: number; loadTimeoutMs?: number }) {
  const capture = captureLogger('debug');
  const clock = options.clock ?? systemClock();
  const size = options.size ?? 1_440;
  const log = new RedisCheckLog({
    url: options.url ?? redisUrl(),
    keyPrefix: options.prefix,
    size,
    logger: capture.logger,
    clock,
    ...(options.bufferMax ? { bufferMax: options.bufferMax } : {}),
    ...(options.loadTimeoutMs ? { loadTimeoutMs: options.loadTimeoutMs } : {}),
  });
  cleanups.push(() => log.close());
  const history = new CheckHistory({ size, now: () => clock.now(), sink: log, ...(options.maxChecks ? { maxChecks: options.maxChecks } : {}) });
  const checks = new HealthChecks({ history, now: () => clock.now() });
  let at = Date.UTC(2026, 0, 1);
  const report = (name: string, status: CheckStatus, message: string = status) => checks.report(name, { status, message, at: new Date((at += 1_000)).toISOString() });
  return { log, history, checks, report, logs: capture.text };
}

describe('check history in Redis', () => {
  it('writes transitions to a capped stream per check, and a new history reads back the newest', async () => {
    const prefix = usePrefix('history-cap');
    const first = logged({ prefix, size: 10 });
    await first.log.load(first.history);
    for (let i = 0; i < 250; i++) first.report('canary:billing', i % 2 === 0 ? 'ok' : 'critical', `change ${i}`);
    first.report('canary:billing', 'critical', 'no change: not a transition');
    await waitFor(() => first.log.backlog === 0, 20_000, 'the transitions written');
    const client = redis();
    expect(await client.smembers(`${prefix}checks`)).toEqual(['canary:billing']);
    // MAXLEN ~ trims whole nodes (100 entries by default): at least the size is kept, not all 250.
    const length = await client.xlen(`${prefix}checks:canary:billing`);
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(250);

    const second = logged({ prefix, size: 10 });
    await second.log.load(second.history);
    const transitions = second.history.transitions('canary:billing') ?? [];
    expect(transitions).toHaveLength(10);
    expect(transitions.map((transition) => transition.message)).toEqual(Array.from({ length: 10 }, (_, i) => `change ${i + 240}`));
    expect(transitions.at(-1)).toEqual({ from: 'ok', to: 'critical', message: 'change 249', at: Date.UTC(2026, 0, 1) + 250_000 });
    // Results are this process's only: what Redis keeps is the transitions.
    expect(second.history.results('canary:billing')).toEqual([]);
    expect(second.logs()).toContain('check history loaded from Redis');
  });

  it('writes what is still buffered when it closes', async () => {
    const prefix = usePrefix('history-close');
    const { log, history, report, checks } = logged({ prefix });
    await log.load(history);
    report('memory', 'ok');
    // Same tick: the background flush has not run yet; close must write it.
    checks.remove('memory');
    expect(log.backlog).toBe(2);
    await log.close();
    const entries = await redis().xrange(`${prefix}checks:memory`, '-', '+');
    expect(entries.map(([, fields]) => fields.slice(0, 4))).toEqual([
      ['from', 'absent', 'to', 'ok'],
      ['from', 'ok', 'to', 'absent'],
    ]);
  });

  it('deletes the stream of a check the history forgets (the cap), and its name from the set', async () => {
    const prefix = usePrefix('history-forget');
    const { log, history, report, checks } = logged({ prefix, maxChecks: 2 });
    await log.load(history);
    report('restarts:/a', 'critical');
    checks.remove('restarts:/a');
    report('memory', 'ok');
    await waitFor(() => log.backlog === 0, 20_000, 'the first writes');
    const client = redis();
    expect((await client.smembers(`${prefix}checks`)).sort()).toEqual(['memory', 'restarts:/a']);
    report('restarts:/b', 'critical');
    await waitFor(() => log.backlog === 0, 20_000, 'the forget');
    expect((await client.smembers(`${prefix}checks`)).sort()).toEqual(['memory', 'restarts:/b']);
    expect(await client.exists(`${prefix}checks:restarts:/a`)).toBe(0);
  });

  it('starts empty with a warning when Redis is down, buffers (bounded) and never throws', async () => {
    const prefix = testPrefix('history-down');
    const url = `redis://127.0.0.1:${await freePort()}`;
    const { log, history, report, logs } = logged({ url, prefix, bufferMax: 3 });
    await log.load(history);
    expect(history.names()).toEqual([]);
    expect(logs()).toContain('check history starts empty');
    expect(logs()).toContain('ECONNREFUSED');
    for (let i = 0; i < 5; i++) report('redis', i % 2 === 0 ? 'critical' : 'ok');
    expect(history.transitions('redis')).toHaveLength(5);
    expect(log.backlog).toBe(3);
    expect(log.dropped).toBe(2);
    expect(logs()).toContain('check history buffer full');
    await log.close();
    expect(logs()).toContain('3 check history writes could not reach Redis before shutdown');
    // Never the URL: it may carry a password.
    expect(logs()).not.toContain(url);
  });

  it('gives up the load after its timeout when Redis accepts but never answers', async () => {
    const silent: Socket[] = [];
    const server: Server = createServer((socket) => silent.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of silent) socket.destroy();
          server.close(() => resolve());
        }),
    );
    const port = (server.address() as { port: number }).port;
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { log, history, logs } = logged({ url: `redis://127.0.0.1:${port}`, prefix: testPrefix('history-hang'), clock, loadTimeoutMs: 3_000 });
    let done = false;
    const loading = log.load(history).then(() => (done = true));
    await waitFor(() => silent.length > 0, 20_000, 'the connection');
    await clock.advanceAsync(2_999);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    await loading;
    expect(logs()).toContain('Redis did not answer within 3000 ms');
    expect(history.names()).toEqual([]);
  });
});

describe('check history across a runtime restart', () => {
  async function runtimeOn(prefix: string): Promise<{ runtime: Runtime; base: string }> {
    const runtime = new Runtime({ loaded: testConfig({ PORT: '0', METRICS_PROCESS: 'false', REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix }), logger: silentLogger() });
    await runtime.start();
    const address = await runtime.httpAddress();
    if (!address) throw new Error('no http address');
    return { runtime, base: `http://127.0.0.1:${address.port}` };
  }

  it('a new runtime on the same prefix answers the transitions and uptime of the previous one', async () => {
    const prefix = usePrefix('history-restart');
    const before = await runtimeOn(prefix);
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await before.runtime.shutdown();
    });
    const start = Date.now() - 20 * 60_000;
    const report = (status: CheckStatus, message: string, at: number) => before.runtime.checks.report('canary:billing', { status, message, at: new Date(at).toISOString() });
    report('ok', 'HTTP 200', start);
    report('critical', 'HTTP 503', start + 5 * 60_000);
    report('ok', 'HTTP 200', start + 7 * 60_000);
    await waitFor(() => before.runtime.history.has('memory'), 20_000, 'the memory check');
    // Shutdown writes what is still buffered, the memory monitor's removal included.
    await before.runtime.shutdown();
    stopped = true;

    const after = await runtimeOn(prefix);
    cleanups.push(async () => {
      await after.runtime.shutdown();
    });
    const response = await fetch(`${after.base}/health/history?check=canary:billing`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { transitions: { from: string; to: string; at: string }[]; results: unknown[]; uptime: Record<string, number> };
    expect(body.transitions).toEqual([
      { from: 'absent', to: 'ok', message: 'HTTP 200', at: new Date(start).toISOString() },
      { from: 'ok', to: 'critical', message: 'HTTP 503', at: new Date(start + 5 * 60_000).toISOString() },
      { from: 'critical', to: 'ok', message: 'HTTP 200', at: new Date(start + 7 * 60_000).toISOString() },
    ]);
    expect(body.results).toEqual([]);
    // Two critical minutes of twenty (and a little more: the time the restart took).
    expect(body.uptime['1h']).toBeGreaterThanOrEqual(0.9);
    expect(body.uptime['1h']).toBeLessThan(0.91);
    const memory = after.runtime.history.transitions('memory') ?? [];
    expect(memory.map((transition) => `${transition.from}->${transition.to}`).slice(0, 2)).toEqual(['absent->ok', 'ok->absent']);
  });

  it('starts when Redis is down, with an empty history', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const capture = captureLogger('debug');
    const runtime = new Runtime({ loaded: testConfig({ PORT: '0', METRICS_PROCESS: 'false', REDIS_URL: url, REDIS_KEY_PREFIX: testPrefix('history-runtime-down') }), logger: capture.logger });
    cleanups.push(async () => {
      await runtime.shutdown();
    });
    await runtime.start();
    expect(capture.text()).toContain('check history starts empty');
    const address = await runtime.httpAddress();
    const response = await fetch(`http://127.0.0.1:${address?.port}/health/history`);
    expect(response.status).toBe(200);
  });
});
