import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WaServer, type WaServerMode } from '../../test/support/wa-server.js';

export interface SessionMemoryOptions {
  readonly sessions: number;
  readonly perThread: number;
  /** `drop`: every connection closed at once (sessions reconnect at their backoff); `silent`: connections held open with no traffic. */
  readonly mode: WaServerMode;
  /** How long the runtime runs after every session has connected at least twice (drop) or once (silent). */
  readonly settleMs?: number;
}

export interface SessionMemory {
  /** Resident set of the whole runtime process, the median of the samples taken after settling (MB). */
  readonly rssMb: number;
  readonly samples: number[];
  readonly connections: number;
  readonly threads: number;
  readonly startMs: number;
}

const MB = 1024 * 1024;

/**
 * The real runtime (the compiled entry point, as `npm start` runs it) in a child process with
 * `sessions` WhatsApp sessions against a local WebSocket server in this process; its resident
 * memory read from /proc, so everything the process holds (every thread's heap, Baileys'
 * code, native buffers) is counted, as an operator's `ps` counts it.
 */
export async function sessionMemory(options: SessionMemoryOptions): Promise<SessionMemory> {
  const server = await WaServer.start(options.mode);
  const dataDir = mkdtempSync(join(tmpdir(), 'wa-mem-'));
  const ids = Array.from({ length: options.sessions }, (_, i) => `m${i}`);
  const entry = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../src/main.ts' : '../../src/main.js', import.meta.url));
  const started = performance.now();
  const child = spawn(process.execPath, [...(entry.endsWith('.ts') ? ['--import', 'tsx'] : []), entry], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: '0',
      LOG_LEVEL: 'fatal',
      DATA_DIR: dataDir,
      WA_AUTH_DIR: join(dataDir, 'wa-auth'),
      WA_SESSIONS: ids.join(','),
      WA_SESSIONS_PER_THREAD: String(options.perThread),
      WA_WEBSOCKET_URL: server.url,
      // Held open: the handshake never completes, and must not time out while we measure.
      ...(options.mode === 'silent' ? { WA_CONNECT_TIMEOUT_MS: '600000' } : {}),
      METRICS_PROCESS: 'false',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const wanted = options.mode === 'drop' ? 2 * options.sessions : options.sessions;
    const deadline = Date.now() + 60_000 + options.sessions * 3_000;
    while (server.connections.length < wanted) {
      if (child.exitCode !== null) throw new Error(`the runtime exited (${child.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`only ${server.connections.length} of ${wanted} connections arrived`);
      await sleep(100);
    }
    const startMs = performance.now() - started;
    await sleep(options.settleMs ?? 5_000);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      samples.push(residentMb(child.pid as number));
      await sleep(400);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    return { rssMb: sorted[2] as number, samples, connections: server.connections.length, threads: threadCount(child.pid as number), startMs };
  } finally {
    child.kill('SIGKILL');
    await exited;
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return (kb * 1024) / MB;
}

/** OS threads of the process (Node's own pool included), to see how many workers run. */
function threadCount(pid: number): number {
  return Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
