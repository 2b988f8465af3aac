import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { deleteUnder } from '../batching/redis-env.js';
import { WaServer } from '../../test/support/wa-server.js';

export interface FailoverOptions {
  readonly kills: number;
  readonly leaseMs: number;
  readonly sessions: number;
  readonly redisUrl: string;
}

export interface Failover {
  /** From the kill -9 to every one of the dead node's sessions open on the survivor, per kill (ms). */
  readonly samples: number[];
}

const here = import.meta.url;
const compiled = !here.endsWith('.ts');
const entry = fileURLToPath(new URL(compiled ? '../../src/main.js' : '../../src/main.ts', here));
const socketModule = fileURLToPath(new URL(compiled ? '../../test/support/controlled-wa-socket.js' : '../../test/support/controlled-wa-socket.ts', here));

interface Node {
  readonly id: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  port(): Promise<number>;
}

/**
 * Two runtimes on one Redis share `sessions` sessions (the controlled socket holding a real
 * WebSocket each to a local server); the one holding sessions is killed with SIGKILL and the
 * time until the survivor has every one of them open is taken; the dead one is started again
 * (a new process, a new NODE_ID) and the next kill picks whichever node holds sessions then.
 */
export async function failover(options: FailoverOptions): Promise<Failover> {
  const server = await WaServer.start('silent', 0, { keepAliveMs: 500 });
  const prefix = `bench:failover:${randomUUID().slice(0, 8)}:`;
  const dirs: string[] = [];
  const ids = Array.from({ length: options.sessions }, (_, i) => `f${i}`);
  const nodes: Node[] = [];
  let generation = 0;
  const start = (): Node => {
    const data = mkdtempSync(join(tmpdir(), 'wa-failover-'));
    dirs.push(data);
    const id = `bench-node-${++generation}`;
    const child = spawn(process.execPath, [...(compiled ? [] : ['--import', 'tsx']), entry], {
      env: {
        PATH: process.env['PATH'] ?? '',
        PORT: '0',
        LOG_LEVEL: 'info',
        NODE_ID: id,
        DATA_DIR: data,
        REDIS_URL: options.redisUrl,
        REDIS_KEY_PREFIX: prefix,
        WA_SESSIONS: ids.join(','),
        WA_LEASE_MS: String(options.leaseMs),
        WA_SOCKET_MODULE: socketModule,
        WA_WEBSOCKET_URL: server.url,
        METRICS_PROCESS: 'false',
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString()).slice(-200_000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const port = async (): Promise<number> => {
      for (let i = 0; i < 600; i++) {
        for (const line of stdout.split('\n')) {
          if (!line.includes('runtime started')) continue;
          const port = (JSON.parse(line) as { http?: { port?: number } }).http?.port;
          if (port) return port;
        }
        await sleep(100);
      }
      throw new Error(`${id} did not start`);
    };
    const node = { id, child, exited, port };
    nodes.push(node);
    return node;
  };
  const openOn = async (port: number): Promise<string[]> => {
    try {
      const answer = (await (await fetch(`http://127.0.0.1:${port}/sessions`)).json()) as { sessions: { id: string; status: string }[] };
      return answer.sessions.filter((each) => each.status === 'open').map((each) => each.id);
    } catch {
      return [];
    }
  };
  const samples: number[] = [];
  try {
    let pair: { node: Node; port: number }[] = [];
    for (const node of [start(), start()]) pair.push({ node, port: await node.port() });
    for (let kill = 0; kill < options.kills; kill++) {
      // Every session open somewhere first.
      let held: string[][] = [];
      for (let i = 0; i < 600; i++) {
        held = await Promise.all(pair.map((each) => openOn(each.port)));
        if (held.flat().length === ids.length) break;
        await sleep(50);
      }
      const victimIndex = (held[0] as string[]).length >= (held[1] as string[]).length ? 0 : 1;
      const victim = pair[victimIndex] as { node: Node; port: number };
      const survivor = pair[1 - victimIndex] as { node: Node; port: number };
      const orphans = held[victimIndex] as string[];
      const killedAt = performance.now();
      victim.node.child.kill('SIGKILL');
      for (;;) {
        const open = await openOn(survivor.port);
        if (orphans.every((id) => open.includes(id))) break;
        if (performance.now() - killedAt > options.leaseMs * 4 + 30_000) throw new Error('the sessions did not move');
        await sleep(20);
      }
      samples.push(performance.now() - killedAt);
      await victim.node.exited;
      const fresh = start();
      pair = [survivor, { node: fresh, port: await fresh.port() }];
    }
    return { samples };
  } finally {
    for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await Promise.all(nodes.map((node) => node.exited));
    await server.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await deleteUnder(options.redisUrl, prefix);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
