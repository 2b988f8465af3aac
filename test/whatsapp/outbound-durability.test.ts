import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { Runtime } from '../../src/runtime.js';
import { sessionPaths } from '../../src/tree-paths.js';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEvent } from '../../supervisor/lifecycle-events.js';
import { testConfig } from '../support/config.js';
import { ackedSends, expectSentInOrder, type AcceptedSend } from '../support/controlled-sends.js';
import { silentLogger } from '../support/logger.js';
import { disposeAll, startMain } from '../support/main-process.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'test-admin-token-0123456789';
const SOCKET_MODULE = new URL('../support/controlled-wa-socket.ts', import.meta.url);
const RECIPIENTS = ['79990000001', '79990000002', '79990000003'];

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await disposeAll(children, cleanups);
  delete process.env['WA_TEST_CONTROL_DIR'];
});

function controlDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wa-control-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function post(base: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
}

/** Sends `count` messages round the recipients, one after another, and returns what was accepted in acceptance order. */
async function sendMany(base: string, session: string, count: number, label: string): Promise<AcceptedSend[]> {
  const accepted: AcceptedSend[] = [];
  for (let i = 0; i < count; i++) {
    const to = RECIPIENTS[i % RECIPIENTS.length] as string;
    const answer = await post(base, `/sessions/${session}/send`, { to, text: `${label} ${i}` });
    expect(answer.status).toBe(202);
    accepted.push({ id: answer.body['id'] as string, to });
  }
  return accepted;
}

async function sessionStatus(base: string, session: string): Promise<string | undefined> {
  const answer = await fetch(`${base}/sessions/${session}`);
  return answer.ok ? ((await answer.json()) as { status?: string }).status : undefined;
}

describe('the send queue survives crashes (in one runtime, the session on a real worker thread)', () => {
  it('a crashed gateway and an exiting session thread lose nothing: every accepted message is acknowledged once, in order per recipient', async () => {
    const control = controlDir();
    process.env['WA_TEST_CONTROL_DIR'] = control;
    const runtime = new Runtime({
      loaded: testConfig({ PORT: '0', METRICS_PROCESS: 'false', ADMIN_TOKEN: TOKEN, WA_SESSIONS: 'o1', BACKOFF_INITIAL_MS: '100', BACKOFF_MAX_MS: '1000', WA_SEND_RETRY_MS: '50' }),
      logger: silentLogger(),
      handlerRunner: () => new InlineRunner(() => undefined),
      whatsappPlacement: { kind: 'thread', factory: { module: SOCKET_MODULE.href, exportName: 'createSocket' } },
      showQr: () => undefined,
    });
    cleanups.push(() => runtime.shutdown().then(() => undefined));
    const events: LifecycleEvent[] = [];
    runtime.system.events.subscribe((event) => events.push(event), { types: LIFECYCLE_EVENT_TYPES });
    await runtime.start();
    const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
    await waitFor(async () => (await sessionStatus(base, 'o1')) === 'open', 30_000, 'o1 open');

    // The gateway crashes with messages queued and one in flight (held, unacknowledged).
    writeFileSync(join(control, 'hold-sends'), '');
    const first = await sendMany(base, 'o1', 12, 'before the gateway crash');
    const mark = events.length;
    // A malformed message the gateway crashes on: a real failure, not an orderly restart.
    runtime.system.lookup(sessionPaths('o1').gateway)?.tell({ type: 'lifecycle', event: null as unknown as LifecycleEvent });
    await waitFor(() => events.slice(mark).some((event) => event.type === 'started' && event.path === sessionPaths('o1').gateway), 30_000, 'the gateway restarted');
    expect(events.slice(mark).some((event) => event.type === 'failed' && event.path === sessionPaths('o1').gateway)).toBe(true);
    rmSync(join(control, 'hold-sends'));
    await waitFor(() => ackedSends(control).length >= first.length, 30_000, 'the first messages acknowledged');
    expectSentInOrder(first, ackedSends(control), 0);

    // The session's thread exits with messages queued and one in flight.
    await waitFor(async () => (await sessionStatus(base, 'o1')) === 'open', 30_000, 'o1 open again');
    writeFileSync(join(control, 'hold-sends'), '');
    const second = await sendMany(base, 'o1', 12, 'before the thread exit');
    const threadId = nodeAt(runtime.system.snapshot(), sessionPaths('o1').socket)?.detail?.['threadId'] as number;
    writeFileSync(join(control, `exit-${threadId}`), '');
    await waitFor(() => {
      const now = nodeAt(runtime.system.snapshot(), sessionPaths('o1').socket)?.detail?.['threadId'];
      return now !== undefined && now !== threadId;
    }, 30_000, 'the socket on a new thread');
    rmSync(join(control, 'hold-sends'));
    const all = [...first, ...second];
    await waitFor(() => ackedSends(control).length >= all.length, 30_000, 'every message acknowledged');
    expectSentInOrder(all, ackedSends(control), 0);
  }, 120_000);
});

describe.each([
  { store: 'sqlite (the default embedded store)', env: (): Record<string, string> => ({}) },
  {
    store: 'redis',
    env: (): Record<string, string> => {
      const prefix = testPrefix('outbox-kill');
      cleanups.push(() => deletePrefix(prefix));
      return { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix };
    },
  },
])('the send queue survives kill -9 of the process: $store', ({ env }) => {
  it('messages accepted before the kill are all sent after the restart, in order per recipient, a resend only under its own id', async () => {
    const control = controlDir();
    const data = mkdtempSync(join(tmpdir(), 'wa-runtime-data-'));
    cleanups.push(() => rmSync(data, { recursive: true, force: true }));
    const runEnv = {
      PORT: '0',
      ADMIN_TOKEN: TOKEN,
      DATA_DIR: data,
      WA_AUTH_DIR: join(data, 'wa-auth'),
      WA_SESSIONS: 'k1',
      WA_SOCKET_MODULE: SOCKET_MODULE.pathname,
      WA_TEST_CONTROL_DIR: control,
      WA_SEND_RETRY_MS: '50',
      METRICS_PROCESS: 'false',
      ...env(),
    };
    const first = startMain(runEnv, children);
    const base = `http://127.0.0.1:${await first.port()}`;
    await waitFor(async () => (await sessionStatus(base, 'k1')) === 'open', 30_000, 'k1 open');
    // Each acknowledgement takes 40 ms, so the kill lands with most of the queue unsent.
    writeFileSync(join(control, 'send-delay-ms'), '40');
    const accepted = await sendMany(base, 'k1', 40, 'kill test');
    await waitFor(() => ackedSends(control).length >= 5, 30_000, 'some messages acknowledged');
    first.child.kill('SIGKILL');
    await first.exited;
    const before = ackedSends(control).length;
    expect(before).toBeLessThan(accepted.length);

    writeFileSync(join(control, 'send-delay-ms'), '0');
    const second = startMain(runEnv, children);
    await second.port();
    await waitFor(() => new Set(ackedSends(control).map((each) => each.messageId)).size >= accepted.length, 60_000, 'every accepted message acknowledged after the restart');
    expectSentInOrder(accepted, ackedSends(control), 1);
  }, 120_000);
});
