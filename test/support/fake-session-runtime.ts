import { mkdtempSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import { FileAuthStore } from '../../actors/whatsapp/file-auth-store.js';
import type { GatewayMessage, SessionInfo } from '../../actors/whatsapp/session-protocol.js';
import { sessionPaths } from '../../src/tree-paths.js';
import type { ManualClock } from '../../src/clock.js';
import { testConfig } from './config.js';
import type { HandlerAction } from '../../actors/pipeline/handler.js';
import { Runtime } from '../../src/runtime.js';
import { nodeAt } from './system.js';
import { FakeWhatsApp } from './fake-wa-socket.js';
import { silentLogger } from './logger.js';
import { seededRandom } from './random.js';
import { waitFor } from './wait.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const S1 = sessionPaths('s1');

export interface FakeSessionOptions {
  env?: Record<string, string>;
  logger?: Logger;
  /** Runs on the session's auth store before the runtime starts (to seed credentials). */
  seedAuth?: (store: FileAuthStore) => Promise<void>;
  /** A manual clock for backoff timing; real time when absent. */
  clock?: ManualClock;
  /** What the handler answers for each flushed batch (for example a reply). */
  handle?: (batch: FlushedBatch) => HandlerAction[] | undefined;
}

/**
 * The whole runtime with session s1, whose socket runs locally on a FakeWhatsApp (real
 * HTTP, real batchers, real auth files in a temporary directory). `close` undoes it all.
 */
export async function startFakeSession(options: FakeSessionOptions = {}) {
  const fake = new FakeWhatsApp();
  const qrs: string[] = [];
  const delivered: FlushedBatch[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wa-auth-'));
  await options.seedAuth?.(new FileAuthStore(join(dir, 's1')));
  const runtime = new Runtime({
    loaded: testConfig({ PORT: '0', WA_SESSIONS: 's1', WA_AUTH_DIR: dir, ADMIN_TOKEN, METRICS_PROCESS: 'false', ...options.env }),
    logger: options.logger ?? silentLogger(),
    ...(options.clock ? { clock: options.clock } : {}),
    random: seededRandom(11),
    handlerRunner: () =>
      new InlineRunner((batch) => {
        delivered.push(batch);
        return options.handle?.(batch);
      }),
    whatsappPlacement: { kind: 'local', overrides: () => ({ factory: fake.factory }) },
    showQr: (_id, qr) => qrs.push(qr),
  });
  await runtime.start();
  const system = runtime.system;
  const address = await runtime.httpAddress();
  const base = `http://127.0.0.1:${address?.port}`;
  await waitFor(() => fake.sockets.length === 1, 5_000, 'the first socket');
  const info = async () => (await system.lookup<GatewayMessage, SessionInfo>(S1.gateway)?.ask({ type: 'info' })) as SessionInfo;
  return {
    runtime,
    fake,
    qrs,
    delivered,
    base,
    info,
    socketNode: () => nodeAt(system.snapshot(), S1.socket),
    gatewayNode: () => nodeAt(system.snapshot(), S1.gateway),
    store: () => new FileAuthStore(join(dir, 's1')),
    async open() {
      fake.current.open();
      await waitFor(async () => (await info()).status === 'open', 5_000, 'status open');
    },
    async close() {
      await runtime.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type FakeSession = Awaited<ReturnType<typeof startFakeSession>>;

export async function post(url: string, body: unknown, token: string | null = ADMIN_TOKEN) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
