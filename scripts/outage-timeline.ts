/**
 * `npm run build && npx tsx scripts/outage-timeline.ts [minutes]` (default 10): starts the
 * built runtime with its default settings against a Redis that is not there, samples
 * /health, /health/live, /health/ready and the webhook every 30 s while it stays down, then
 * starts `redis-server` on that port and times how long until the webhook accepts again.
 * Prints the timeline; exits 1 if the runtime exited during the outage or never served again.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const minutes = Number(process.argv[2] ?? '10');
const started = Date.now();
const stamp = (): string => `${new Date().toISOString()} +${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`;
const say = (line: string): void => void process.stdout.write(`${stamp()}  ${line}\n`);

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

const redisPort = await freePort();
const httpPort = await freePort();
const base = `http://127.0.0.1:${httpPort}`;
const runtime = spawn(process.execPath, ['dist/src/main.js'], {
  env: { PATH: process.env.PATH ?? '', PORT: String(httpPort), REDIS_URL: `redis://127.0.0.1:${redisPort}`, LOG_LEVEL: 'info', REDIS_KEY_PREFIX: 'timeline:' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let exited: number | null = null;
runtime.on('exit', (code) => (exited = code ?? -1));
let logLines = 0;
runtime.stdout.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString().split('\n').filter(Boolean)) {
    logLines++;
    if (/unreachable|reachable again|runtime started|shutting down|stopped/.test(line)) say(`log: ${line.slice(0, 220)}`);
  }
});

async function status(path: string): Promise<string> {
  try {
    const response = await fetch(`${base}${path}`);
    const body = (await response.json()) as { status?: string; code?: string };
    return `${response.status}${body.status ? ` ${body.status}` : ''}${body.code ? ` ${body.code}` : ''}`;
  } catch (error) {
    return `no answer (${(error as Error).message})`;
  }
}

async function webhook(id: string): Promise<number> {
  try {
    const response = await fetch(`${base}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '79161234567', message: 'timeline', id }) });
    return response.status;
  } catch {
    return 0;
  }
}

async function sample(label: string): Promise<void> {
  const tree = (await fetch(`${base}/health/tree`).then((r) => r.json()).catch(() => undefined)) as { tree?: { children?: { path: string; status: string; restarts: number; outage?: unknown }[] } } | undefined;
  const store = tree?.tree?.children?.find((node) => node.path === '/store');
  say(
    `${label}: /health ${await status('/health')}, /health/live ${await status('/health/live')}, /health/ready ${await status('/health/ready')}, webhook ${await webhook(`probe-${Date.now()}`)}, /store ${store ? `${store.status}, ${store.restarts} restarts` : '?'}, log lines so far ${logLines}`,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
say(`runtime pid ${runtime.pid} on :${httpPort}, REDIS_URL redis://127.0.0.1:${redisPort} (nothing listens there)`);
await sleep(3_000);
const until = started + minutes * 60_000;
while (Date.now() < until && exited === null) {
  await sample('redis down');
  await sleep(Math.min(30_000, Math.max(0, until - Date.now())));
}
if (exited !== null) {
  say(`FAIL: the runtime exited with ${exited} during the outage`);
  process.exit(1);
}
await sample(`after ${minutes} min`);

const dir = mkdtempSync(join(tmpdir(), 'timeline-redis-'));
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
say(`redis-server started on :${redisPort} (pid ${redis.pid})`);
const redisUp = Date.now();
let accepted = false;
while (Date.now() - redisUp < 120_000) {
  if ((await webhook(`after-${Date.now()}`)) === 202) {
    accepted = true;
    break;
  }
  await sleep(100);
}
say(accepted ? `webhook accepts again ${((Date.now() - redisUp) / 1000).toFixed(2)} s after redis-server was started` : 'FAIL: the webhook did not accept within 120 s');
await sample('redis up');
runtime.kill('SIGTERM');
await new Promise((resolve) => runtime.once('exit', resolve));
say(`runtime exited with ${exited}`);
redis.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
process.exit(accepted ? 0 : 1);
