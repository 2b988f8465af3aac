import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { testConfig } from '../support/config.js';
import { Runtime } from '../../src/runtime.js';
import { silentLogger } from '../support/logger.js';
import { walkTree, type TreeNode } from '../../supervisor/tree-node.js';
import { startMain } from '../support/main-process.js';
import { freePort } from '../support/net.js';
import { testPrefix } from '../support/redis.js';
import { PrivateRedis } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const children: ChildProcess[] = [];
let redis: PrivateRedis | undefined;
let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await redis?.destroy();
  redis = undefined;
});

const PING_MS = 1_000;

const getJson = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const accept = (base: string, id: string) =>
  fetch(`${base}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '79161234567', message: 'hi', id }) });

describe('Redis down for longer than the whole backoff schedule', () => {
  it('the process stays up (503 on /health, 200 on /health/live, 503 on the webhook) and serves again within two ping periods of Redis coming up, restarting nothing else', async () => {
    const port = await freePort();
    const main = startMain(
      {
        PORT: '0',
        REDIS_URL: `redis://127.0.0.1:${port}`,
        REDIS_KEY_PREFIX: testPrefix('outage'),
        // The whole schedule: 3 attempts of at most 50 ms, for every child.
        BACKOFF_INITIAL_MS: '20',
        BACKOFF_MAX_MS: '50',
        BACKOFF_MAX_ATTEMPTS: '3',
        ROOT_MAX_RESTARTS: '2',
        STORE_PING_INTERVAL_MS: String(PING_MS),
        STORE_RETRY_MS: '50',
        LOG_LEVEL: 'info',
      },
      children,
    );
    const base = `http://127.0.0.1:${await main.port()}`;

    // Many times the schedule (and the root's intensity) later, the process is still there.
    await new Promise((resolve) => setTimeout(resolve, 6 * PING_MS));
    expect(main.child.exitCode).toBeNull();
    const health = await getJson(`${base}/health`);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'unhealthy', checks: { store: { status: 'critical', message: expect.stringMatching(new RegExp(`redis at 127\\.0\\.0\\.1:${port} is unreachable: .*ECONNREFUSED.*down since`)) } } });
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(503);
    const refused = await accept(base, 'during-outage');
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: 'WAR_ERR_STORE_UNAVAILABLE' });
    const tree = (await getJson(`${base}/health/tree`)).body.tree as TreeNode;
    const store = [...walkTree(tree)].find((node) => node.path === '/store');
    expect(store).toMatchObject({ status: 'backing_off', outage: { dependency: 'redis', retries: expect.any(Number) } });
    expect(store?.outage?.retries).toBeGreaterThan(3);
    // One line when Redis went away, not one per retry.
    // (The store's line; /monitors/redis says "redis unreachable" once too, as its own check.)
    expect(main.stdout().split('\n').filter((line) => line.includes('"actor":"/store"') && line.includes('is unreachable')).length).toBe(1);
    expect(main.stdout().split('\n').filter((line) => line.includes('"actor":"/monitors/redis"') && line.includes('redis unreachable')).length).toBe(1);

    redis = new PrivateRedis();
    redis.port = port;
    await redis.start();
    const upAt = Date.now();
    await waitFor(async () => (await accept(base, 'after-outage')).status === 202, 10_000, 'the webhook to accept');
    const tookMs = Date.now() - upAt;
    expect(tookMs).toBeLessThan(2 * PING_MS);
    // The store's own start finishes a round trip or two after its first command goes through.
    await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 200, 2 * PING_MS, 'readiness once the store is back');
    expect((await getJson(`${base}/health`)).body).toMatchObject({ status: 'healthy', checks: { store: { status: 'ok' } } });
    const after = (await getJson(`${base}/health/tree`)).body.tree as TreeNode;
    for (const node of walkTree(after)) {
      if (node.path === '/store') continue;
      expect(node.restarts, `${node.path} was restarted`).toBe(0);
    }
    expect(main.stdout()).toContain('is reachable again');

    main.child.kill('SIGTERM');
    expect(await main.exited).toBe(0);
  });
});

describe('Redis dying under a running runtime', () => {
  it('/health/ready turns 503 the moment a store command fails, not at the next ping, and back to 200 when Redis returns', async () => {
    redis = new PrivateRedis();
    await redis.start();
    runtime = new Runtime({
      // A ping far away: readiness must not depend on it.
      loaded: testConfig({ PORT: '0', REDIS_URL: redis.url, REDIS_KEY_PREFIX: testPrefix('ready'), STORE_PING_INTERVAL_MS: '600000', METRICS_PROCESS: 'false' }),
      logger: silentLogger(),
      handlerRunner: () => new InlineRunner(() => []),
    });
    await runtime.start();
    const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    await redis.stop();
    // The first command after Redis went away fails, and readiness says so at once.
    const refused = await accept(base, 'while-down');
    expect(refused.status).toBe(503);
    await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 503, 2_000, 'readiness to turn 503');
    const ready = await getJson(`${base}/health/ready`);
    expect(ready.body).toMatchObject({ ready: false, reasons: [expect.stringMatching(/^store: redis at 127\.0\.0\.1:\d+ is unreachable/)] });
    expect((await fetch(`${base}/health`)).status).toBe(503);
    await redis.start();
    await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 200, 10_000, 'readiness to come back');
    expect((await accept(base, 'after')).status).toBe(202);
  });
});

describe('a Redis that refuses writes', () => {
  it('out of memory under noeviction is the store being away (503, readiness 503), not a bug that crashes the tree; writes resume when Redis has room', async () => {
    redis = new PrivateRedis();
    await redis.start();
    runtime = new Runtime({
      loaded: testConfig({ PORT: '0', REDIS_URL: redis.url, REDIS_KEY_PREFIX: testPrefix('oom'), METRICS_PROCESS: 'false' }),
      logger: silentLogger(),
      handlerRunner: () => new InlineRunner(() => []),
    });
    await runtime.start();
    const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const refused = await accept(base, 'while-full');
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ code: 'WAR_ERR_STORE_UNAVAILABLE', message: expect.stringContaining('retry with the same id') });
      await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 503, 2_000, 'readiness to turn 503');
      await admin.config('SET', 'maxmemory', '0');
      await waitFor(async () => (await accept(base, 'while-full')).status === 202, 10_000, 'the webhook to accept again');
      const tree = (await getJson(`${base}/health/tree`)).body.tree as TreeNode;
      for (const node of walkTree(tree)) expect(node.status, node.path).not.toBe('failed');
      expect(tree.status).toBe('running');
    } finally {
      admin.disconnect();
    }
  });
});
