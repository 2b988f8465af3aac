import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';
import { tempDataDir } from './config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface MainProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** The HTTP port once the runtime logged "runtime started". */
  port(timeoutMs?: number): Promise<number>;
}

/** The real entry point (src/main.ts through tsx) in a child process with only `env` (and PATH). */
export function startMain(env: Record<string, string>, tracked?: ChildProcess[]): MainProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    // Its own DATA_DIR unless the test shares one between runs (a restart on the same store).
    env: { PATH: process.env.PATH ?? '', DATA_DIR: tempDataDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  tracked?.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    port: (timeoutMs = 30_000) => waitFor(() => listeningPort(stdout), timeoutMs, `the runtime to start (stderr: ${stderr.slice(0, 500)})`),
  };
}

function listeningPort(stdout: string): number | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; http?: { port?: number } };
    if (entry.msg === 'runtime started' && entry.http?.port) return entry.http.port;
  }
  return undefined;
}

/** A test file's afterEach: runtimes still running are killed, then its cleanups run, last first. */
export async function disposeAll(children: ChildProcess[], cleanups: (() => Promise<void> | void)[]): Promise<void> {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}
