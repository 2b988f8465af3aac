import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';

/**
 * Redis tests talk to a real Redis: REDIS_URL if set, else 127.0.0.1:6379 if it answers,
 * else a private redis-server started here on a free port (and stopped after the run).
 * With none of these the run fails and says how to get one.
 */
let child: ChildProcess | undefined;
let dir: string | undefined;

function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}


export async function setup(): Promise<void> {
  if (process.env.REDIS_URL) return;
  if (await ping('127.0.0.1', 6379)) {
    process.env.REDIS_URL = 'redis://127.0.0.1:6379';
    return;
  }
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('Redis tests need a Redis server: set REDIS_URL, run one on 127.0.0.1:6379, or install redis-server (apt-get install redis-server)');
  }
  const port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await ping('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await ping('127.0.0.1', port))) throw new Error(`could not start redis-server on port ${port}`);
  process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
}

export async function teardown(): Promise<void> {
  child?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
}
