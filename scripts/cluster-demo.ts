/**
 * `npx tsx scripts/cluster-demo.ts`: three runtimes (child processes of `src/main.ts`) on the
 * Redis at REDIS_URL share six sessions, on the test socket (WA_SOCKET_MODULE) holding a real
 * WebSocket each to a local server. Prints `GET /health/cluster` once every session is owned,
 * then kills the node holding the most with SIGKILL and prints it again once the survivors
 * have taken its sessions, with the time that took. Everything it starts it stops; its Redis
 * keys live under a fresh prefix and are deleted at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ClusterView } from '../actors/cluster/session-ownership.js';
import { deleteUnder } from '../bench/batching/redis-env.js';
import { startMain } from '../test/support/main-process.js';
import { WaServer } from '../test/support/wa-server.js';

const redisUrl = process.env['REDIS_URL'];
if (!redisUrl) {
  process.stderr.write('REDIS_URL must name a Redis (for example redis://127.0.0.1:6379)\n');
  process.exit(2);
}
const leaseMs = Number(process.env['WA_LEASE_MS'] ?? 15_000);
const sessions = ['salon1', 'salon2', 'salon3', 'salon4', 'salon5', 'salon6'];
const prefix = `demo:cluster:${randomUUID().slice(0, 8)}:`;
const server = await WaServer.start('silent', 0, { keepAliveMs: 1_000 });
const children: ChildProcess[] = [];
const dirs: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

try {
  // Started together, as a deployment's nodes come up: each waits a second after its first
  // heartbeat before it takes sessions, so they see each other and share.
  const started = ['node-a', 'node-b', 'node-c'].map((id) => {
    const data = mkdtempSync(join(tmpdir(), 'wa-cluster-demo-'));
    dirs.push(data);
    const main = startMain(
      {
        PORT: '0',
        NODE_ID: id,
        DATA_DIR: data,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        WA_SESSIONS: sessions.join(','),
        WA_LEASE_MS: String(leaseMs),
        WA_SOCKET_MODULE: new URL('../test/support/controlled-wa-socket.ts', import.meta.url).pathname,
        WA_WEBSOCKET_URL: server.url,
        METRICS_PROCESS: 'false',
      },
      children,
    );
    return { id, main };
  });
  const nodes = await Promise.all(started.map(async ({ id, main }) => ({ id, base: `http://127.0.0.1:${await main.port(60_000)}`, child: main.child })));
  const view = async (base: string): Promise<ClusterView> => (await (await fetch(`${base}/health/cluster`)).json()) as ClusterView;
  let now = await view(nodes[0]!.base);
  while (now.nodes.length < 3 || now.sessions.some((each) => each.owner === null)) {
    await sleep(200);
    now = await view(nodes[0]!.base);
  }
  process.stdout.write(`GET /health/cluster (three nodes, WA_LEASE_MS ${leaseMs}):\n${JSON.stringify(now, null, 2)}\n`);
  const held = nodes.map((node) => now.sessions.filter((each) => each.owner === node.id).length);
  const victim = nodes[held.indexOf(Math.max(...held))]!;
  const survivor = nodes.find((node) => node !== victim)!;
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  process.stdout.write(`\nkill -9 ${victim.id} (it owned ${Math.max(...held)} sessions)\n`);
  let after = await view(survivor.base);
  let movedAt: number | undefined;
  while (after.sessions.some((each) => each.owner === null || each.owner === victim.id) || after.nodes.some((node) => node.id === victim.id)) {
    await sleep(100);
    after = await view(survivor.base);
    if (movedAt === undefined && after.sessions.every((each) => each.owner !== null && each.owner !== victim.id)) movedAt = Date.now();
  }
  movedAt ??= Date.now();
  process.stdout.write(
    `\nits sessions owned by the survivors ${((movedAt - killedAt) / 1000).toFixed(1)} s after the kill; ${victim.id} out of the live nodes ${((Date.now() - killedAt) / 1000).toFixed(1)} s after it:\n${JSON.stringify(after, null, 2)}\n`,
  );
  process.stdout.write(`\nconnections the WebSocket server saw: ${server.connections.length}; moments with two connections for one session: ${server.overlaps.length}\n`);
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await deleteUnder(redisUrl, prefix);
}
