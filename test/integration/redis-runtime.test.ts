import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../support/config.js';
import { Runtime } from '../../src/runtime.js';
import { silentLogger } from '../support/logger.js';
import { disposeAll, startMain } from '../support/main-process.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { PrivateRedis } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';
import { listeningReceiver } from '../support/webhook-receiver.js';

/** Real parts end to end: HTTP in, Redis in the middle, the built-in handler (piscina + undici) out to a local webhook. */

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(() => disposeAll(children, cleanups));

const receiver = () => listeningReceiver(cleanups);

async function runtimeOn(env: Record<string, string>): Promise<{ runtime: Runtime; base: string }> {
  const runtime = new Runtime({ loaded: testConfig({ PORT: '0', METRICS_PROCESS: 'false', ...env }), logger: silentLogger() });
  await runtime.start();
  cleanups.push(async () => {
    await runtime.shutdown();
  });
  const address = await runtime.httpAddress();
  if (!address) throw new Error('no http address');
  return { runtime, base: `http://127.0.0.1:${address.port}` };
}

function post(base: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${base}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('batching on a real Redis, over real HTTP', () => {
  it('merges "Запишите на стрижку меня" / "На завтра" / "В 18:00" / "К Бари" into one batch after the quiet window', async () => {
    const { hook, url } = await receiver();
    const prefix = testPrefix('four');
    cleanups.push(() => deletePrefix(prefix));
    const { base } = await runtimeOn({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, BATCH_WINDOW_MS: '400', BATCH_WEBHOOK_URL: url });
    for (const message of ['Запишите на стрижку меня', 'На завтра', 'В 18:00', 'К Бари']) {
      expect((await post(base, { phone: '+7 916 377-94-44', message })).status).toBe(202);
    }
    await waitFor(() => hook.received.length === 1);
    expect(hook.received[0]?.batch).toMatchObject({ phone: '79163779444', sessionId: 'default', reason: 'quiet', text: 'Запишите на стрижку меня На завтра В 18:00 К Бари' });
    expect(hook.received[0]?.headers['idempotency-key']).toBe(hook.received[0]?.batch.batchId);
  });

  it('flushes ten messages at once with reason size', async () => {
    const { hook, url } = await receiver();
    const prefix = testPrefix('ten');
    cleanups.push(() => deletePrefix(prefix));
    const { base } = await runtimeOn({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, BATCH_WINDOW_MS: '60000', BATCH_MAX_AGE_MS: '60000', BATCH_WEBHOOK_URL: url });
    const started = Date.now();
    for (let i = 1; i <= 10; i++) expect((await post(base, { phone: '79161234567', message: `m${i}`, id: `id-${i}` })).status).toBe(202);
    await waitFor(() => hook.received.length === 1, 20_000);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(hook.received[0]?.batch.reason).toBe('size');
    expect(hook.received[0]?.batch.messages.map((m) => m.id)).toEqual(Array.from({ length: 10 }, (_, i) => `id-${i + 1}`));
  });

  it('a runtime killed with SIGKILL in the middle of a window, started again, delivers the batch whole, once', async () => {
    const { hook, url } = await receiver();
    const prefix = testPrefix('sigkill');
    cleanups.push(() => deletePrefix(prefix));
    const env = { PORT: '0', REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, BATCH_WINDOW_MS: '2000', BATCH_WEBHOOK_URL: url, LOG_LEVEL: 'info' };
    const first = startMain(env, children);
    const firstBase = `http://127.0.0.1:${await first.port()}`;
    for (const message of ['one', 'two', 'three']) expect((await post(firstBase, { phone: '79160000042', message, id: message })).status).toBe(202);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(hook.received).toHaveLength(0);

    const second = startMain(env, children);
    await second.port();
    await waitFor(() => hook.received.length === 1, 30_000);
    expect(hook.received[0]?.batch.messages.map((m) => m.id)).toEqual(['one', 'two', 'three']);
    // Once: nothing else arrives after the window and a sweep or two.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    expect(hook.received).toHaveLength(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('two runtimes on one Redis, taking turns at the same conversations, never deliver a message under two batch ids', async () => {
    const { hook, url } = await receiver();
    const prefix = testPrefix('two');
    cleanups.push(() => deletePrefix(prefix));
    const env = { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, BATCH_WINDOW_MS: '150', BATCH_MAX_MESSAGES: '5', BATCH_WEBHOOK_URL: url };
    const [a, b] = [await runtimeOn(env), await runtimeOn(env)];
    const sent: string[] = [];
    for (let i = 0; i < 120; i++) {
      const phone = String(79_180_000_000 + (i % 4));
      const response = await post(i % 2 === 0 ? a.base : b.base, { phone, message: `m${i}`, id: `id-${i}` });
      expect(response.status).toBe(202);
      sent.push(`${phone}/id-${i}`);
      if (i % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await waitFor(() => new Set(hook.received.flatMap(({ batch }) => batch.messages.map((m) => `${batch.phone}/${m.id}`))).size === sent.length, 30_000);
    const byBatch = new Map(hook.received.map(({ batch }) => [batch.batchId, batch.messages.map((m) => `${batch.phone}/${m.id}`)]));
    const all = [...byBatch.values()].flat();
    expect(all.length).toBe(sent.length);
    expect(new Set(all)).toEqual(new Set(sent));
    for (const batch of byBatch.values()) expect(batch.length).toBeLessThanOrEqual(5);
  });

  it('Redis stopped and restarted under traffic: ingress answers 503 meanwhile, and no accepted message is lost or doubled', async () => {
    const redis = new PrivateRedis();
    await redis.start();
    cleanups.push(() => redis.destroy());
    const { hook, url } = await receiver();
    const { base } = await runtimeOn({
      REDIS_URL: redis.url,
      BATCH_WINDOW_MS: '300',
      BATCH_LEASE_MS: '3000',
      BATCH_SWEEP_INTERVAL_MS: '500',
      BATCH_WEBHOOK_URL: url,
      PIPELINE_RETRY_INITIAL_MS: '100',
      PIPELINE_MAX_ATTEMPTS: '50',
    });
    const accepted = new Set<string>();
    let unavailable = 0;
    /** A well-behaved client: retries a 503 (or a refused connection) with the same id. */
    const send = async (i: number): Promise<void> => {
      const id = `msg-${i}`;
      for (;;) {
        const response = await post(base, { phone: String(79_170_000_000 + (i % 10)), message: `text ${i}`, id }).catch(() => undefined);
        if (response?.status === 202) {
          accepted.add(`${79_170_000_000 + (i % 10)}/${id}`);
          return;
        }
        if (response?.status === 503) unavailable++;
        else if (response) throw new Error(`unexpected ${response.status}: ${await response.text()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const traffic = (async () => {
      for (let i = 0; i < 300; i++) {
        await send(i);
        if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await waitFor(() => accepted.size >= 100);
    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await redis.start();
    await traffic;
    expect(unavailable).toBeGreaterThan(0);

    await waitFor(() => {
      const delivered = new Set(hook.received.flatMap(({ batch }) => batch.messages.map((m) => `${batch.phone}/${m.id}`)));
      return delivered.size === accepted.size;
    }, 60_000, 'every accepted message to be delivered');
    // Exactly once per batch id, and each message in exactly one batch id.
    const batches = new Map<string, string[]>();
    for (const { batch } of hook.received) batches.set(batch.batchId, batch.messages.map((m) => `${batch.phone}/${m.id}`));
    const all = [...batches.values()].flat();
    expect(all.length).toBe(new Set(all).size);
    expect(new Set(all)).toEqual(accepted);
    // Readiness follows the store check, which pings every 2 s: ready again within a few pings.
    await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 200, 15_000, 'ready again');
  });
});
