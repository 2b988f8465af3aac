import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferJSON, initAuthCreds } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisStore } from '../../actors/batcher/redis-store.js';
import { CREDS, keyName } from '../../actors/whatsapp/auth-store.js';
import { FileAuthStore } from '../../actors/whatsapp/file-auth-store.js';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import type { AdminEvent, RuntimeEvent } from '../../src/events/runtime-events.js';
import { createLogger } from '../../src/logging/logger.js';
import { createLogRings } from '../../src/logging/log-ring.js';
import type { Initiator } from '../../src/operations/initiator.js';
import { Runtime } from '../../src/runtime.js';
import { sessionPaths } from '../../src/tree-paths.js';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEvent } from '../../supervisor/lifecycle-events.js';
import { testConfig } from '../support/config.js';
import { silentLogger } from '../support/logger.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';
import { WaServer } from '../support/wa-server.js';

const OPERATOR: Initiator = { frontEnd: 'http', who: 'http 127.0.0.1' };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('operations on a real runtime with two WhatsApp sessions against the local WebSocket server', () => {
  /** s1 (company c1) and s2 (company c2), each socket on its own thread running real Baileys against a server that drops every connection. */
  async function sessionsRuntime(backoffInitialMs: number) {
    const server = await WaServer.start('drop');
    cleanups.push(() => server.close());
    const authDir = mkdtempSync(join(tmpdir(), 'wa-auth-ops-'));
    cleanups.push(() => rmSync(authDir, { recursive: true, force: true }));
    const runtime = new Runtime({
      loaded: testConfig({
        PORT: '0',
        METRICS_PROCESS: 'false',
        WA_SESSIONS: 's1,s2',
        COMPANIES: 'c1=s1;c2=s2',
        WA_WEBSOCKET_URL: server.url,
        WA_AUTH_DIR: authDir,
        BACKOFF_INITIAL_MS: String(backoffInitialMs),
        BACKOFF_MAX_MS: '120000',
      }),
      logger: silentLogger(),
      handlerRunner: () => new InlineRunner(() => undefined),
      showQr: () => undefined,
    });
    const events: (LifecycleEvent | AdminEvent)[] = [];
    runtime.events.subscribe((event) => void events.push(event as LifecycleEvent | AdminEvent), { types: [...LIFECYCLE_EVENT_TYPES, 'admin'] });
    await runtime.start();
    cleanups.push(async () => {
      await runtime.shutdown();
    });
    const socketOf = (id: string) => nodeAt(runtime.system.snapshot(), sessionPaths(id).socket);
    const restartsOf = (id: string) => events.filter((event) => event.type === 'restarting' && event.path === sessionPaths(id).socket).length;
    return { server, runtime, events, socketOf, restartsOf, authDir };
  }

  it('recover whatsapp reconnects one session now, long before its backoff, and leaves the other alone; restart resets the backoff', async () => {
    const { server, runtime, events, socketOf } = await sessionsRuntime(20_000);
    // Both sockets connected once, were dropped, and now wait 20 s or more.
    await waitFor(() => socketOf('s1')?.status === 'backing_off' && socketOf('s2')?.status === 'backing_off', 30_000, 'both sockets backing off');
    const s2Before = socketOf('s2');
    const connectionsBefore = server.connections.length;
    const asked = Date.now();

    const result = await runtime.operations.recover({ type: 'whatsapp', sessionId: 's1' }, OPERATOR);
    expect(result).toMatchObject({ type: 'whatsapp', result: { sessionId: 's1', mode: 'reconnect', note: null } });
    await waitFor(() => server.connections.length > connectionsBefore, 15_000, 'a new connection to the WebSocket server');
    // Well inside the 20 s the backoff would have waited: the recovery made it.
    expect((server.connections.at(-1)?.at ?? Infinity) - asked).toBeLessThan(15_000);
    const s2After = socketOf('s2');
    expect(s2After?.restarts).toBe(s2Before?.restarts);
    expect(s2After?.nextRestartAt).toBe(s2Before?.nextRestartAt);
    expect(events.filter((event) => event.type === 'admin')).toEqual([
      expect.objectContaining({ operation: 'recover_whatsapp', target: 's1 (reconnect)', frontEnd: 'http', outcome: 'ok' }),
    ]);

    // The restart of s1 reset its backoff: after the next drop it waits the initial 20 s again, not 40 s.
    await waitFor(() => socketOf('s1')?.status === 'backing_off' && socketOf('s1')?.nextRestartAt !== null, 30_000, 's1 backing off again');
    const failedAt = Date.now();
    const waitMs = Date.parse(socketOf('s1')?.nextRestartAt ?? '') - failedAt;
    expect(waitMs).toBeLessThanOrEqual(20_000 * 1.5 + 1_000);
    const connectionsThen = server.connections.length;
    await runtime.operations.restart(sessionPaths('s1').socket, OPERATOR);
    await waitFor(() => server.connections.length > connectionsThen, 10_000, 'the socket connected again at once');
    expect(events.filter((event) => event.type === 'admin').at(-1)).toMatchObject({ operation: 'restart', target: sessionPaths('s1').socket, outcome: 'ok' });
  }, 120_000);

  it('recover company touches only that company’s sessions; an unknown company and an unknown path are clear refusals', async () => {
    const { runtime, socketOf, restartsOf } = await sessionsRuntime(20_000);
    await waitFor(() => socketOf('s1')?.status === 'backing_off' && socketOf('s2')?.status === 'backing_off', 30_000, 'both sockets backing off');
    const s1Before = socketOf('s1');
    const [s1Restarts, s2Restarts] = [restartsOf('s1'), restartsOf('s2')];

    const result = await runtime.operations.recover({ type: 'company', company: 'c2' }, OPERATOR);
    expect(result).toMatchObject({ type: 'company', result: { company: 'c2', sessions: [{ sessionId: 's2', mode: 'reconnect' }] } });
    await waitFor(() => restartsOf('s2') > s2Restarts, 10_000, 's2 restarted');
    expect(restartsOf('s1')).toBe(s1Restarts);
    expect(socketOf('s1')?.restarts).toBe(s1Before?.restarts);
    expect(socketOf('s1')?.nextRestartAt).toBe(s1Before?.nextRestartAt);

    await expect(runtime.operations.recover({ type: 'company', company: 'c9' }, OPERATOR)).rejects.toMatchObject({ code: 'WAR_ERR_UNKNOWN_COMPANY', message: expect.stringContaining('c1, c2') });
    await expect(runtime.operations.restart('/nope', OPERATOR)).rejects.toMatchObject({ code: 'WAR_ERR_CHILD_NOT_FOUND' });
    await expect(runtime.operations.restart('/', OPERATOR)).rejects.toMatchObject({ code: 'WAR_ERR_ROOT_RESTART' });
    await expect(runtime.operations.recover({ type: 'whatsapp', sessionId: 's9' }, OPERATOR)).rejects.toMatchObject({ code: 'WAR_ERR_WA_UNKNOWN_SESSION' });
  }, 120_000);

  it('recover whatsapp --repair brings a backing-off socket up, clears its Signal sessions and keeps its credentials, and connects', async () => {
    const { server, runtime, socketOf, authDir } = await sessionsRuntime(20_000);
    await waitFor(() => socketOf('s1')?.status === 'backing_off', 30_000, 's1 backing off');
    // Credentials, as a paired session has them, and two Signal sessions, as Baileys keeps them.
    const auth = new FileAuthStore(join(authDir, 's1'));
    const creds = JSON.stringify(initAuthCreds(), BufferJSON.replacer);
    await auth.write(new Map([[CREDS, creds], [keyName('session', '79161234567.0'), '{"x":1}'], [keyName('session', '79169999999.0'), '{"x":2}']]));
    const connectionsBefore = server.connections.length;
    const result = await runtime.operations.recover({ type: 'whatsapp', sessionId: 's1', mode: 'repair' }, OPERATOR);
    expect(result).toMatchObject({ type: 'whatsapp', result: { sessionId: 's1', mode: 'repair', cleared: 2, after: 'connecting', note: null } });
    await waitFor(() => server.connections.length > connectionsBefore, 15_000, 'the repaired session connecting');
    expect(await auth.read(keyName('session', '79161234567.0'))).toBeUndefined();
    // The credentials are kept: the same identity connects again, no pairing asked.
    expect(await auth.read(CREDS)).toBe(creds);
    await auth.close();
  }, 60_000);

  it('status summarises the tree with a backing-off session and its outage', async () => {
    const { runtime, socketOf } = await sessionsRuntime(20_000);
    await waitFor(() => socketOf('s1')?.status === 'backing_off', 30_000, 's1 backing off');
    const status = runtime.operations.status();
    const row = status.nodes.find((node) => node.path === sessionPaths('s1').socket);
    expect(row).toMatchObject({ status: 'backing_off', placement: 'thread', outage: { dependency: 'whatsapp:s1' }, lastError: { code: 'WAR_ERR_WA_CLOSED' } });
    expect(row?.nextRestartAt).not.toBeNull();
    expect(status.nodes.find((node) => node.path === '/batchers')).toMatchObject({ dynamic: { children: 0 } });
    expect(status.status).not.toBe('healthy');
  }, 60_000);
});

describe('recover batches on a real Redis', () => {
  it('re-delivers an in-flight batch whose runtime died (lease expired) and retries a dead letter; reports how many of each', async () => {
    const prefix = testPrefix('ops-recover');
    cleanups.push(() => deletePrefix(prefix));
    const delivered: FlushedBatch[] = [];
    let failing = true;
    const rings = createLogRings(100);
    const runtime = new Runtime({
      loaded: testConfig({
        PORT: '0',
        METRICS_PROCESS: 'false',
        REDIS_URL: redisUrl(),
        REDIS_KEY_PREFIX: prefix,
        BATCH_WINDOW_MS: '50',
        BATCH_MAX_AGE_MS: '50',
        PIPELINE_MAX_ATTEMPTS: '1',
        // Only the operator's sweep may take the dead runtime's batch over.
        BATCH_SWEEP_INTERVAL_MS: '3600000',
      }),
      logger: createLogger({ level: 'info', rings, destination: { write: () => undefined } }),
      logs: rings,
      handlerRunner: () =>
        new InlineRunner((batch) => {
          if (failing && batch.text === 'will fail') throw new Error('the downstream is down');
          delivered.push(batch);
        }),
    });
    const events: RuntimeEvent[] = [];
    runtime.events.subscribe((event) => void events.push(event), { types: ['admin', 'dead_lettered'] });
    await runtime.start();
    cleanups.push(async () => {
      await runtime.shutdown();
    });

    // A dead letter: the handler fails its only attempt.
    const ingest = runtime.ingest;
    await ingest.accept({ sessionId: 'default', phone: '79160000001', id: 'm-fail', text: 'will fail' });
    await waitFor(() => events.some((event) => event.type === 'dead_lettered'), 15_000, 'a dead letter');

    // A batch another runtime cut and then died holding: its lease runs out in 200 ms.
    const other = new RedisStore({ url: redisUrl(), keyPrefix: prefix, ttlSeconds: 3_600 });
    cleanups.push(() => other.close());
    await other.connect();
    const conversation = { sessionId: 'default', phone: '79160000002' };
    await other.append(conversation, { id: 'm-orphan', text: 'orphaned', at: Date.now() });
    const now = Date.now();
    const cut = await other.flush(conversation, {
      now,
      rules: { windowMs: 1, maxMessages: 10, maxAgeMs: 1 },
      force: 'recovered',
      batchId: 'batch-orphan',
      owner: 'a-runtime-that-died',
      leaseUntil: now + 200,
    });
    expect(cut.status).toBe('flushed');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(delivered.map((batch) => batch.batchId)).not.toContain('batch-orphan');

    failing = false;
    const result = await runtime.operations.recover({ type: 'batches' }, OPERATOR);
    expect(result).toMatchObject({ type: 'batches', result: { reclaimed: 1, deadLetters: { retried: 1, left: 0 }, waitingForStore: null } });
    await waitFor(() => delivered.some((batch) => batch.batchId === 'batch-orphan') && delivered.some((batch) => batch.text === 'will fail'), 15_000, 'both batches delivered');
    await waitFor(async () => (await runtime.store.deadLetterCount()) === 0, 10_000, 'no dead letter left');

    // Audited once, as an event and as a log line naming the front end.
    const admin = events.filter((event): event is AdminEvent => event.type === 'admin');
    expect(admin).toEqual([expect.objectContaining({ operation: 'recover_batches', frontEnd: 'http', by: 'http 127.0.0.1', outcome: 'ok', message: expect.stringContaining('1 re-delivered') })]);
    const lines = runtime.operations.logs({ level: 'info', limit: 100 }).lines.filter((line) => line.fields.operation === 'recover_batches');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'admin operation via http', fields: { frontEnd: 'http' } });
  }, 60_000);
});
