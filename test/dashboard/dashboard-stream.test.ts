import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { createLogger } from '../../src/logging/logger.js';
import { createLogRings } from '../../src/logging/log-ring.js';
import { Runtime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { openSse, type SseClient } from '../support/sse-client.js';
import { waitFor } from '../support/wait.js';

const ADMIN = 'dash-admin-token-6a1f0c3e9b';
const READER = 'dash-reader-token-2d7e8f4a1c';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(env: Record<string, string> = {}) {
  const rings = createLogRings(100);
  const logger = createLogger({ level: 'info', rings, destination: { write: () => undefined } });
  const runtime = new Runtime({
    loaded: testConfig({ PORT: '0', ADMIN_TOKEN: ADMIN, METRICS_PROCESS: 'false', ...env }),
    logger,
    logs: rings,
    handlerRunner: () => new InlineRunner(() => undefined),
  });
  await runtime.start();
  cleanups.push(async () => {
    await runtime.shutdown();
  });
  const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
  const sse = async (headers: Record<string, string> = {}): Promise<SseClient> => {
    const client = await openSse(`${base}/dashboard/events`, headers);
    cleanups.push(() => client.close());
    return client;
  };
  const restart = (path: string) => fetch(`${base}/admin/restart`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ path }) });
  const stats = async () => (await (await fetch(`${base}/dashboard/stats`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { clients: number; dropped: number; refused: number; resumed: number; frames: number };
  return { runtime, base, sse, restart, stats, logger };
}

/** Frame numbers: ids are `<boot>-<n>`. */
const ids = (client: SseClient, event = 'delta') => client.events.filter((e) => e.event === event).map((e) => Number(e.id?.split('-')[1]));
const bootOf = (client: SseClient) => client.events[0]?.id?.split('-')[0];
const memoryRestarts = (client: SseClient): number | undefined => {
  for (const event of [...client.events].reverse()) {
    const tree = (JSON.parse(event.data) as { tree?: { nodes: { path: string; restarts: number }[] } }).tree;
    const node = tree?.nodes.find((n) => n.path === '/monitors/memory');
    if (node) return node.restarts;
  }
  return undefined;
};

describe('GET /dashboard/events', () => {
  it('starts with a snapshot, then deltas of what changed; resuming with Last-Event-ID loses no delta', async () => {
    const { sse, restart } = await start();
    const steady = await sse();
    expect(steady.status).toBe(200);
    await waitFor(() => steady.events.some((e) => e.event === 'snapshot'), 10_000, 'the snapshot');
    const snapshot = JSON.parse(steady.events[0]?.data ?? '{}') as Record<string, unknown>;
    expect(Object.keys(snapshot).sort()).toEqual(['alerts', 'batching', 'checks', 'sessions', 'tree']);

    const first = await sse();
    await waitFor(() => first.events.some((e) => e.event === 'snapshot'), 10_000, 'the second snapshot');
    await restart('/monitors/memory');
    await waitFor(() => memoryRestarts(first) === 1, 5_000, 'the restart in a delta');
    const lastSeen = ids(first).at(-1) as number;
    first.close();

    // Missed while away: two more restarts, each a delta.
    await restart('/monitors/memory');
    await waitFor(() => memoryRestarts(steady) === 2, 5_000, 'second restart');
    await restart('/monitors/memory');
    await waitFor(() => memoryRestarts(steady) === 3, 5_000, 'third restart');

    const resumed = await sse({ 'last-event-id': `${bootOf(first)}-${lastSeen}` });
    await waitFor(() => memoryRestarts(resumed) === 3, 5_000, 'the resumed client caught up');
    // No snapshot: exactly the deltas after lastSeen, in order, the ones the steady client got.
    expect(resumed.events.filter((e) => e.event === 'snapshot')).toEqual([]);
    const missed = ids(steady).filter((id) => id > lastSeen);
    expect(ids(resumed).slice(0, missed.length)).toEqual(missed);
    expect(missed.length).toBeGreaterThanOrEqual(2);

    // An id from another life of the server (a restarted /http), or not an id, gets a fresh snapshot.
    const stranger = await sse({ 'last-event-id': `00000000-${lastSeen}` });
    await waitFor(() => stranger.events.length > 0, 5_000, 'an answer');
    expect(stranger.events[0]?.event).toBe('snapshot');
  });

  it('sends at most one frame per 250 ms, whatever the event rate', async () => {
    const { sse, restart } = await start({ MONITOR_INTERVAL_MS: '100', MEMORY_CHECK_INTERVAL_MS: '100' });
    const client = await sse();
    await waitFor(() => client.events.length > 0, 10_000, 'the snapshot');
    const from = Date.now();
    const storm = Array.from({ length: 20 }, () => restart('/monitors/queue'));
    await Promise.all(storm);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const frames = client.events.filter((e) => e.event === 'delta' && e.at >= from);
    expect(frames.length).toBeGreaterThan(0);
    // 3 s and a little: at most ~13 ticks of 250 ms.
    expect(frames.length).toBeLessThanOrEqual(14);
  });

  it('DASHBOARD_MAX_CLIENTS is enforced: the next one gets 503 WAR_ERR_DASHBOARD_FULL and is counted', async () => {
    const { base, sse, stats } = await start({ DASHBOARD_MAX_CLIENTS: '2' });
    const a = await sse();
    const b = await sse();
    expect([a.status, b.status]).toEqual([200, 200]);
    const c = await fetch(`${base}/dashboard/events`);
    expect(c.status).toBe(503);
    expect(await c.json()).toMatchObject({ code: 'WAR_ERR_DASHBOARD_FULL', message: expect.stringContaining('DASHBOARD_MAX_CLIENTS') });
    expect((await stats()).refused).toBe(1);
    a.close();
    await waitFor(async () => (await stats()).clients === 1, 5_000, 'the closed client gone');
    expect((await sse()).status).toBe(200);
  });

  it('a client that stops reading is dropped and counted, never buffered without limit; the others go on', async () => {
    const { base, sse, restart, stats, logger } = await start({ DASHBOARD_CLIENT_BUFFER_BYTES: '1024' });
    const reading = await sse();
    const { hostname, port } = new URL(base);
    const stalled = connect(Number(port), hostname);
    cleanups.push(() => void stalled.destroy());
    await new Promise<void>((resolve) => stalled.once('connect', () => resolve()));
    // A token holder: its frames carry the recent warn lines, which the churn below makes large.
    stalled.write(`GET /dashboard/events HTTP/1.1\r\nhost: ${hostname}\r\naccept: text/event-stream\r\nauthorization: Bearer ${ADMIN}\r\n\r\n`);
    // It never reads again: the kernel's buffers fill, then the server's.
    stalled.pause();
    let closed = false;
    stalled.once('close', () => (closed = true));
    await waitFor(async () => (await stats()).clients === 2, 5_000, 'both attached');
    // ~100 KB of new warn lines per 250 ms: several megabytes of frames within seconds, more than the kernel's buffers hold.
    let line = 0;
    const pad = 'x'.repeat(2_000);
    const churn = setInterval(() => {
      for (let i = 0; i < 10; i++) logger.warn({ pad, line: line++ }, 'churn');
    }, 50);
    cleanups.push(() => clearInterval(churn));
    await waitFor(async () => (await stats()).dropped === 1, 90_000, 'the stalled client dropped');
    clearInterval(churn);
    const after = await stats();
    expect(after.clients).toBe(1);
    const seen = reading.events.length;
    await restart('/monitors/memory');
    await waitFor(() => reading.events.length > seen, 5_000, 'the reading client still gets frames');
    stalled.resume();
    await waitFor(() => closed, 10_000, 'the stalled connection closed by the server');
  }, 180_000);

  it('DASHBOARD_TOKEN guards the read-only views; only the admin token adds the logs; no token ever in a URL', async () => {
    const { base, sse, logger } = await start({ DASHBOARD_TOKEN: READER });
    expect((await fetch(`${base}/dashboard/events`)).status).toBe(401);
    expect((await fetch(`${base}/dashboard/batchers`)).status).toBe(401);
    // The page itself is static: it asks for the token.
    expect((await fetch(`${base}/dashboard`)).status).toBe(200);
    logger.warn('a warning for the dashboard');
    const reader = await sse({ authorization: `Bearer ${READER}` });
    const admin = await sse({ authorization: `Bearer ${ADMIN}` });
    await waitFor(() => reader.events.length > 0 && admin.events.length > 0, 10_000, 'both snapshots');
    expect(JSON.parse(reader.events[0]?.data ?? '{}')).not.toHaveProperty('logs');
    const logs = (JSON.parse(admin.events[0]?.data ?? '{}') as { logs?: { msg: string }[] }).logs;
    expect(logs?.map((line) => line.msg)).toContain('a warning for the dashboard');
    expect((await fetch(`${base}/dashboard/logs`, { headers: { authorization: `Bearer ${READER}` } })).status).toBe(401);
  });
});
