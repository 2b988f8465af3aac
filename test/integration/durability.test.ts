import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDataDir } from '../support/config.js';
import { disposeAll, startMain, type MainProcess } from '../support/main-process.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { listeningReceiver, type ReceivedBatch } from '../support/webhook-receiver.js';

/**
 * What each store keeps across a kill -9 and a shutdown with the downstream failing, as a user
 * runs it: the runtime as a child process (src/main.ts), the built-in handler (piscina +
 * undici) out to a local webhook, real HTTP in.
 */

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(() => disposeAll(children, cleanups));

const receiver = () => listeningReceiver(cleanups);

function post(port: number, body: Record<string, unknown>): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function started(env: Record<string, string>): Promise<{ main: MainProcess; port: number }> {
  const main = startMain(env, children);
  return { main, port: await main.port() };
}

/** `<phone>/<id>` of every delivered message, by batch id (a repeated delivery of a batch counts once). */
function deliveredByBatch(received: readonly ReceivedBatch[]): Map<string, string[]> {
  const byBatch = new Map<string, string[]>();
  for (const { batch } of received) {
    const messages = batch.messages.map((m) => `${batch.phone}/${m.id}`);
    const earlier = byBatch.get(batch.batchId);
    if (earlier) expect(messages, `batch ${batch.batchId} delivered again with other messages`).toEqual(earlier);
    else byBatch.set(batch.batchId, messages);
  }
  return byBatch;
}

/**
 * Whether every accepted message has been delivered. Not a count: a message stored just before
 * a kill -9, whose 202 never reached its client, is delivered too, so the delivered count can
 * reach the accepted count while an accepted message still waits behind its conversation's
 * earlier batch.
 */
function allDelivered(received: readonly ReceivedBatch[], accepted: readonly string[]): boolean {
  const delivered = new Set(received.flatMap(({ batch }) => batch.messages.map((m) => `${batch.phone}/${m.id}`)));
  return accepted.every((key) => delivered.has(key));
}

/**
 * Every accepted message was delivered in exactly one batch, nothing was delivered that was
 * not sent, and a conversation's batches came in order. `sent` (in the order each client
 * sent them) may hold more than `accepted`: a message stored just before a kill -9, whose 202
 * never reached the client, is delivered too (a client retrying it would be a duplicate).
 */
function expectExactlyOnceInOrder(received: readonly ReceivedBatch[], accepted: readonly string[], sent: readonly string[] = accepted): void {
  const all = [...deliveredByBatch(received).values()].flat();
  expect(new Set(all).size, 'a message delivered under two batch ids').toBe(all.length);
  const delivered = new Set(all);
  for (const key of accepted) expect(delivered.has(key), `${key} was answered 202 but never delivered`).toBe(true);
  const known = new Set(sent);
  for (const key of all) expect(known.has(key), `${key} was delivered but never sent`).toBe(true);
  // First deliveries of each conversation, in arrival order, give its messages in the order they were sent.
  const firstSeen = new Set<string>();
  const byPhone = new Map<string, string[]>();
  for (const { batch } of received) {
    if (firstSeen.has(batch.batchId)) continue;
    firstSeen.add(batch.batchId);
    const list = byPhone.get(batch.phone) ?? [];
    list.push(...batch.messages.map((m) => `${batch.phone}/${m.id}`));
    byPhone.set(batch.phone, list);
  }
  for (const [phone, inOrder] of byPhone) expect(inOrder).toEqual(sent.filter((key) => key.startsWith(`${phone}/`) && delivered.has(key)));
}

describe('the default store (SQLite under DATA_DIR) across a kill -9', () => {
  it('a runtime killed with SIGKILL in the middle of a window, started again on the same file, delivers the batch whole, once', async () => {
    const { hook, url } = await receiver();
    // No BATCH_STORE, no REDIS_URL: what `npm start` gives a new user.
    const env = { PORT: '0', DATA_DIR: tempDataDir(), BATCH_WINDOW_MS: '2000', BATCH_WEBHOOK_URL: url, LOG_LEVEL: 'info' };
    const first = await started(env);
    expect(first.main.stdout()).toContain('"BATCH_STORE":"sqlite"');
    for (const message of ['Запишите на стрижку меня', 'На завтра', 'В 18:00']) {
      expect((await post(first.port, { phone: '79160000042', message, id: message })).status).toBe(202);
    }
    first.main.child.kill('SIGKILL');
    await first.main.exited;
    expect(hook.received).toHaveLength(0);

    const second = await started(env);
    await waitFor(() => hook.received.length === 1, 30_000, 'the batch after the restart');
    expect(hook.received[0]?.batch).toMatchObject({ text: 'Запишите на стрижку меня На завтра В 18:00' });
    // Once: nothing else arrives after the window and a sweep or two.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    expect(hook.received).toHaveLength(1);
    second.main.child.kill('SIGTERM');
    expect(await second.main.exited).toBe(0);
  });

  it('a kill -9 during a burst of many clients: every message answered 202 is delivered, once, in order per conversation', async () => {
    const { hook, url } = await receiver();
    hook.delayMs = 20;
    const env = { PORT: '0', DATA_DIR: tempDataDir(), BATCH_WINDOW_MS: '150', BATCH_MAX_MESSAGES: '5', BATCH_WEBHOOK_URL: url, BATCH_SWEEP_INTERVAL_MS: '500' };
    const first = await started(env);
    const accepted: string[] = [];
    const sent: string[] = [];
    let next = 0;
    let killed = false;
    // 30 clients at once, each its own phone; each sends its messages one after another (as WhatsApp does).
    const client = async (c: number): Promise<void> => {
      const phone = String(79_170_000_000 + c);
      for (let i = 0; !killed; i++) {
        const id = `c${c}-${i}-${next++}`;
        sent.push(`${phone}/${id}`);
        const response = await post(first.port, { phone, message: `m${i}`, id }).catch(() => undefined);
        if (response?.status === 202) accepted.push(`${phone}/${id}`);
      }
    };
    const clients = Array.from({ length: 30 }, (_, c) => client(c));
    await waitFor(() => accepted.length >= 600 && hook.received.length >= 10, 60_000, 'a burst under way with batches delivered');
    first.main.child.kill('SIGKILL');
    killed = true;
    await first.main.exited;
    await Promise.all(clients);
    const second = await started(env);
    await waitFor(() => allDelivered(hook.received, accepted), 60_000, `all ${accepted.length} accepted messages delivered`);
    expectExactlyOnceInOrder(hook.received, accepted, sent);
    second.main.child.kill('SIGTERM');
    expect(await second.main.exited).toBe(0);
  });
});

interface StoreCase {
  readonly env: () => Record<string, string>;
  /** Where what was left is, after the shutdown. */
  readonly keeps: 'store' | 'spill';
}

const STORES: [string, StoreCase][] = [
  ['sqlite', { env: () => ({ BATCH_STORE: 'sqlite' }), keeps: 'store' }],
  [
    'redis',
    {
      env: () => {
        const prefix = testPrefix('shutdown');
        cleanups.push(() => deletePrefix(prefix));
        return { BATCH_STORE: 'redis', REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix };
      },
      keeps: 'store',
    },
  ],
  ['memory', { env: () => ({ BATCH_STORE: 'memory' }), keeps: 'spill' }],
];

describe('shutdown with the downstream failing from SIGTERM on', () => {
  for (const [name, store] of STORES) {
    it(`${name}: nothing accepted is lost; the next start delivers what was left, once`, async () => {
      const { hook, url } = await receiver();
      const dataDir = tempDataDir();
      const env = {
        PORT: '0',
        DATA_DIR: dataDir,
        BATCH_WINDOW_MS: '300',
        BATCH_WEBHOOK_URL: url,
        SHUTDOWN_TIMEOUT_MS: '4000',
        PIPELINE_RETRY_INITIAL_MS: '500',
        LOG_LEVEL: 'info',
        ...store.env(),
      };
      const first = await started(env);
      const accepted: string[] = [];
      for (let i = 0; i < 200; i++) {
        const phone = String(79_190_000_000 + (i % 25));
        const response = await post(first.port, { phone, message: `m${i}`, id: `id-${i}` });
        expect(response.status).toBe(202);
        accepted.push(`${phone}/id-${i}`);
      }
      // Some delivered, some pending, some in flight: then the downstream fails, and SIGTERM.
      await waitFor(() => hook.received.length >= 5, 20_000, 'some batches delivered before the shutdown');
      hook.fallback = 500;
      const stoppedAt = Date.now();
      first.main.child.kill('SIGTERM');
      const code = await first.main.exited;
      const stopLog = first.main.stdout();
      expect(code, stopLog.slice(-2_000)).toBe(0);
      // Within its timeout (4 s), with the drain's retries at their backoff, not in a burst.
      expect(Date.now() - stoppedAt).toBeLessThan(15_000);
      // A batch that failed during the drain was tried again at its backoff (500 ms, doubling), not at once.
      const failing = new Map<string, number[]>();
      for (const attempt of hook.attempts) if (attempt.at >= stoppedAt && attempt.status === 500) failing.set(attempt.batchId, [...(failing.get(attempt.batchId) ?? []), attempt.at]);
      for (const times of failing.values()) for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(400);
      if (store.keeps === 'spill') {
        expect(failing.size, 'the drain tried the shutdown batches').toBeGreaterThan(0);
        expect(existsSync(join(dataDir, 'memory-spill.json'))).toBe(true);
        expect(stopLog).toMatch(/messages not delivered before shutdown were written to .*memory-spill\.json; the next start loads them/);
      }
      hook.fallback = 200;
      const second = await started(env);
      await waitFor(() => allDelivered(hook.received, accepted), 60_000, `all ${accepted.length} accepted messages delivered`);
      expectExactlyOnceInOrder(hook.received, accepted);
      if (store.keeps === 'spill') expect(existsSync(join(dataDir, 'memory-spill.json.loaded'))).toBe(true);
      second.main.child.kill('SIGTERM');
      expect(await second.main.exited).toBe(0);
    });
  }

  it('memory: when the spill cannot be written, the exit code says so (74) and the log says how many messages', async () => {
    const { hook, url } = await receiver();
    hook.fallback = 500;
    const dataDir = tempDataDir();
    const env = { PORT: '0', DATA_DIR: dataDir, BATCH_STORE: 'memory', BATCH_WINDOW_MS: '60000', BATCH_MAX_AGE_MS: '120000', BATCH_WEBHOOK_URL: url, SHUTDOWN_TIMEOUT_MS: '2000' };
    const { main, port } = await started(env);
    for (let i = 0; i < 3; i++) expect((await post(port, { phone: '79160000777', message: `m${i}`, id: `id-${i}` })).status).toBe(202);
    // DATA_DIR is gone, and a file stands where it was: nothing can be written there.
    rmSync(dataDir, { recursive: true, force: true });
    writeFileSync(dataDir, 'not a directory');
    cleanups.push(() => rmSync(dataDir, { force: true }));
    main.child.kill('SIGTERM');
    expect(await main.exited).toBe(74);
    expect(main.stdout()).toContain('3 accepted messages could not be kept');
    expect(readFileSync(dataDir, 'utf8')).toBe('not a directory');
  });
});
