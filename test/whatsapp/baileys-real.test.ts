import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferJSON, initAuthCreds } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { CREDS } from '../../actors/whatsapp/auth-store.js';
import { RedisAuthStore } from '../../actors/whatsapp/redis-auth-store.js';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import { sessionPaths } from '../../src/tree-paths.js';
import { testConfig } from '../support/config.js';
import { Runtime } from '../../src/runtime.js';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEvent } from '../../supervisor/lifecycle-events.js';
import type { TreeNode } from '../../supervisor/tree-node.js';
import { silentLogger } from '../support/logger.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';
import { WaServer } from '../support/wa-server.js';

const PATHS = sessionPaths('s1');

let runtime: Runtime | undefined;
let server: WaServer | undefined;
let authDir: string | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  await server?.close();
  if (authDir) rmSync(authDir, { recursive: true, force: true });
  runtime = undefined;
  server = undefined;
  authDir = undefined;
});

/** The whole runtime, session s1 on its own worker thread running real Baileys against `server`. */
async function start(target: WaServer, env: Record<string, string>) {
  authDir = mkdtempSync(join(tmpdir(), 'wa-auth-'));
  const delivered: FlushedBatch[] = [];
  runtime = new Runtime({
    loaded: testConfig({
      PORT: '0',
      METRICS_PROCESS: 'false',
      BATCH_WINDOW_MS: '100',
      WA_SESSIONS: 's1',
      WA_WEBSOCKET_URL: target.url,
      WA_AUTH_DIR: authDir,
      ...env,
    }),
    logger: silentLogger(),
    handlerRunner: () => new InlineRunner((batch) => void delivered.push(batch)),
    showQr: () => undefined,
  });
  const events: LifecycleEvent[] = [];
  runtime.system.events.subscribe((event) => events.push(event), { types: LIFECYCLE_EVENT_TYPES });
  await runtime.start();
  const address = await runtime.httpAddress();
  const base = `http://127.0.0.1:${address?.port}`;
  const tree = async () => ((await (await fetch(`${base}/health/tree`)).json()) as { tree: TreeNode }).tree;
  return { base, events, delivered, tree };
}

describe('real Baileys v7 against a local WebSocket server', () => {
  it('a server that drops every connection: the session reconnects with growing gaps, shows 428, and the runtime keeps serving', async () => {
    server = await WaServer.start('drop');
    const { base, events, delivered, tree } = await start(server, { BACKOFF_INITIAL_MS: '200', BACKOFF_MAX_MS: '5000' });

    let sawBackingOff: TreeNode | undefined;
    await waitFor(
      async () => {
        const snapshot = await tree();
        const socket = nodeAt(snapshot, PATHS.socket);
        if (socket?.status === 'backing_off') sawBackingOff ??= socket;
        return events.filter((event) => event.type === 'restarting' && event.path === PATHS.socket).length >= 4 && sawBackingOff;
      },
      30_000,
      'four restarts of the socket',
    );
    expect(sawBackingOff?.lastError).toMatchObject({ code: 'WAR_ERR_WA_CLOSED', message: 'WhatsApp connection closed: 428 connectionClosed' });
    expect(sawBackingOff?.nextRestartAt).not.toBeNull();
    const gateway = nodeAt(await tree(), PATHS.gateway);
    expect(gateway?.detail).toMatchObject({ lastCloseCode: 428 });

    // Growing gaps: each backoff delay at least the one before (3 doublings of 200 ms, jitter ≤ 10%).
    const delays = events.filter((event): event is Extract<LifecycleEvent, { type: 'restarting' }> => event.type === 'restarting' && event.path === PATHS.socket).map((event) => event.delayMs);
    for (let i = 1; i < 4; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1] as number);
    expect(delays[3]).toBeGreaterThanOrEqual(1_400);
    // Each restart is a new connection to the server, the socket in its own worker thread.
    expect(server.connections.length).toBeGreaterThanOrEqual(4);
    expect(nodeAt(await tree(), PATHS.socket)?.placement).toBe('thread');

    // The rest of the runtime serves meanwhile: health answers, a webhook message is batched and delivered.
    const health = await fetch(`${base}/health`);
    expect([200, 503]).toContain(health.status);
    const sessions = (await (await fetch(`${base}/sessions`)).json()) as { sessions: { id: string; status: string; lastCloseCode: number }[] };
    expect(sessions.sessions[0]).toMatchObject({ id: 's1', lastCloseCode: 428 });
    const accepted = await fetch(`${base}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '79161234567', message: 'still here', sessionId: 's1' }) });
    expect(accepted.status).toBe(202);
    await waitFor(() => delivered.length === 1, 10_000, 'the batch');
    expect(delivered[0]?.text).toBe('still here');
    const extended = (await (await fetch(`${base}/health/extended`)).json()) as { sessions: Record<string, { status: string; last_close_code: number }> };
    expect(extended.sessions.s1).toMatchObject({ last_close_code: 428 });
  });

  it('with REDIS_URL the session thread keeps its auth state in Redis: seeded credentials are loaded and kept', async () => {
    const prefix = testPrefix('wa-real');
    const creds = initAuthCreds();
    const key = `${prefix}wa-auth:s1`;
    const seed = new RedisAuthStore(redisUrl(), key);
    await seed.write(new Map([[CREDS, JSON.stringify(creds, BufferJSON.replacer)]]));
    await seed.close();
    try {
      server = await WaServer.start('drop');
      const { tree } = await start(server, { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, BACKOFF_INITIAL_MS: '100' });
      await waitFor(async () => nodeAt(await tree(), PATHS.gateway)?.detail?.['lastCloseCode'] === 428, 20_000, 'a 428 with the Redis auth state');
      expect((server as WaServer).connections.length).toBeGreaterThanOrEqual(1);
      const check = new RedisAuthStore(redisUrl(), key);
      const stored = JSON.parse((await check.read(CREDS)) ?? 'null', BufferJSON.reviver) as typeof creds;
      await check.close();
      expect(Buffer.from(stored.noiseKey.private)).toEqual(Buffer.from(creds.noiseKey.private));
      // The file store was not touched: it would have created the session's directory on its first read.
      expect(existsSync(join(authDir as string, 's1'))).toBe(false);
    } finally {
      await deletePrefix(prefix);
    }
  });

  it('a server that accepts and goes silent: the handshake times out (408) and the session reconnects', async () => {
    server = await WaServer.start('silent');
    const { tree } = await start(server, { WA_CONNECT_TIMEOUT_MS: '400', BACKOFF_INITIAL_MS: '100', BACKOFF_MAX_MS: '1000' });
    await waitFor(() => (server as WaServer).connections.length >= 2, 20_000, 'a reconnect after the timeout');
    const snapshot = await tree();
    expect(nodeAt(snapshot, PATHS.gateway)?.detail).toMatchObject({ lastCloseCode: 408 });
    const socket = nodeAt(snapshot, PATHS.socket);
    expect(socket?.restarts).toBeGreaterThanOrEqual(1);
    expect(socket?.lastError?.message).toBe('WhatsApp connection closed: 408 timedOut');
  });
});
