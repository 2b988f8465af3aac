/**
 * Yardstick for crash-to-serving: a Node HTTP process managed by PM2 7.0.4, killed with
 * SIGKILL, timed until it answers HTTP again (from a new pid). PM2 runs with a private
 * PM2_HOME in a temp dir; the daemon and the directory are removed afterwards, even on failure.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { summarize } from '../../support/stats.js';
import type { LatencyFigure } from '../../support/suite.js';
import { nowNs, sleep } from '../../support/timing.js';

export interface Pm2Plan {
  warmup: number;
  kills: number;
  /** Pause after each recovery, longer than PM2's min_uptime, so no restart counts as unstable. */
  settleMs: number;
}

const SERVER_SOURCE = `const http = require('node:http');
http.createServer((req, res) => res.end(String(process.pid))).listen(Number(process.env.PORT), '127.0.0.1');
`;

function pm2Bin(): string {
  return join(dirname(createRequire(import.meta.url).resolve('pm2/package.json')), 'bin', 'pm2');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function pm2(home: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [pm2Bin(), ...args, '--no-color'],
      { env: { ...process.env, PM2_HOME: home }, timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) => (error ? reject(new Error(`pm2 ${args.join(' ')} failed: ${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

/** The pid of the process answering on `port`, or undefined if nothing answers. */
function httpPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(Number(body) || undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function waitForPid(port: number, deadlineMs: number, notPid?: number): Promise<number> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const pid = await httpPid(port);
    if (pid !== undefined && pid !== notPid) return pid;
    if (performance.now() > deadline) throw new Error(`nothing new answered on port ${port} within ${deadlineMs} ms`);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function pm2KillToServing(plan: Pm2Plan): Promise<LatencyFigure> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-pm2-'));
  const home = join(dir, 'home');
  const port = await freePort();
  const script = join(dir, 'server.cjs');
  writeFileSync(script, SERVER_SOURCE);
  const ecosystem = join(dir, 'ecosystem.config.cjs');
  writeFileSync(
    ecosystem,
    `module.exports = ${JSON.stringify({
      apps: [
        {
          name: 'bench-http',
          script,
          env: { PORT: String(port) },
          exec_mode: 'fork',
          autorestart: true,
          restart_delay: 0,
          min_uptime: 100,
          max_restarts: 1_000_000,
        },
      ],
    })};\n`,
  );
  let lastAppPid: number | undefined;
  try {
    await pm2(home, ['start', ecosystem]);
    lastAppPid = await waitForPid(port, 15_000);
    const samples: number[] = [];
    for (let i = 0; i < plan.warmup + plan.kills; i++) {
      const pid: number = lastAppPid;
      const started = nowNs();
      process.kill(pid, 'SIGKILL');
      lastAppPid = await waitForPid(port, 15_000, pid);
      const elapsedMs = (nowNs() - started) / 1e6;
      if (i >= plan.warmup) samples.push(elapsedMs);
      await sleep(plan.settleMs);
    }
    return { kind: 'latency', unit: 'ms', summary: summarize(samples), extra: { port } };
  } finally {
    try {
      await pm2(home, ['kill']);
    } catch (error) {
      // Only when PM2 could not stop itself: its daemon and app by pid, so nothing outlives the bench.
      process.stderr.write(`bench: pm2 kill failed (${(error as Error).message}); killing its daemon and app by pid\n`);
      const daemonPidFile = join(home, 'pm2.pid');
      if (existsSync(daemonPidFile)) killQuietly(Number(readFileSync(daemonPidFile, 'utf8')));
      if (lastAppPid !== undefined) killQuietly(lastAppPid);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
