import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';
import { waitFor } from '../support/wait.js';
import { tempDataDir } from '../support/config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
const runtimePids: number[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of runtimePids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

/** `npm start` as a user runs it (build first, then the runtime), in its own process. */
async function npmStart() {
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), LOG_LEVEL: 'info', METRICS_PROCESS: 'false', DATA_DIR: tempDataDir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(npm);
  let stdout = '';
  npm.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  npm.stderr?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  // The runtime's own pid, from its first log line: npm is its parent, not itself.
  const pid = await waitFor(() => {
    const line = stdout.split('\n').find((entry) => entry.includes('"msg":"runtime started"'));
    return line ? (JSON.parse(line) as { pid: number }).pid : undefined;
  }, 60_000, `the runtime to start under npm (output: ${stdout.slice(-500)})`);
  runtimePids.push(pid);
  expect(pid).not.toBe(npm.pid);
  return { npm, pid, port, output: () => stdout };
}

describe('npm start', () => {
  it('SIGTERM to npm shuts the runtime down gracefully (exit 0) and frees the port', async () => {
    const { npm, pid, port, output } = await npmStart();
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    npm.kill('SIGTERM');
    // Well inside SHUTDOWN_TIMEOUT_MS (30 s).
    await waitFor(() => !alive(pid), 20_000, 'the runtime to exit');
    expect(output()).toMatch(/"code":0,"msg":"stopped"/);
    expect(await portFree(port)).toBe(true);
  });

  it('npm killed outright (SIGKILL, nothing forwarded): the runtime notices its parent is gone and shuts down', async () => {
    const { npm, pid, port, output } = await npmStart();
    npm.kill('SIGKILL');
    await waitFor(() => !alive(pid), 20_000, 'the orphaned runtime to exit');
    expect(output()).toContain('the npm process that started the runtime is gone');
    expect(await portFree(port)).toBe(true);
  });
});
