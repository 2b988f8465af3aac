import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeAll, startMain, type MainProcess } from '../support/main-process.js';
import { freePort } from '../support/net.js';
import { waitFor } from '../support/wait.js';
import { WaServer } from '../support/wa-server.js';

/** The CLI in its own process against runtimes in theirs, as an operator runs `npx wa-runtime`. */

const root = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'cli-admin-token-5e1d0c9b7a';
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
let degraded: { main: MainProcess; url: string };
let unhealthy: { main: MainProcess; url: string };

const cliArgs = ['--import', 'tsx', 'src/cli.ts'];
const cliEnv = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '', ADMIN_TOKEN: TOKEN, ...extra });

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...cliArgs, ...args], { cwd: root, env: cliEnv(env), encoding: 'utf8', timeout: 60_000 });
}

beforeAll(async () => {
  const server = await WaServer.start('drop');
  cleanups.push(() => server.close());
  const authDir = mkdtempSync(join(tmpdir(), 'wa-auth-cli-'));
  cleanups.push(() => rmSync(authDir, { recursive: true, force: true }));
  // A session whose server drops every connection: its socket backs off (degraded, not unhealthy).
  const first = startMain(
    { PORT: '0', ADMIN_TOKEN: TOKEN, WA_SESSIONS: 'salon1', WA_WEBSOCKET_URL: server.url, WA_AUTH_DIR: authDir, BACKOFF_INITIAL_MS: '30000', BACKOFF_MAX_MS: '60000', METRICS_PROCESS: 'false' },
    children,
  );
  // Redis that is not there: the store check is critical, so the runtime is unhealthy (and still answers).
  const deadRedis = await freePort();
  const second = startMain({ PORT: '0', ADMIN_TOKEN: TOKEN, REDIS_URL: `redis://127.0.0.1:${deadRedis}`, METRICS_PROCESS: 'false' }, children);
  degraded = { main: first, url: `http://127.0.0.1:${await first.port(60_000)}` };
  unhealthy = { main: second, url: `http://127.0.0.1:${await second.port(60_000)}` };
  await waitFor(
    async () => {
      const status = (await (await fetch(`${degraded.url}/admin/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { nodes: { path: string; status: string }[] };
      return status.nodes.some((node) => node.path === '/whatsapp/salon1/socket' && node.status === 'backing_off');
    },
    60_000,
    'the session backing off',
  );
  await waitFor(async () => (await fetch(`${unhealthy.url}/health`)).status === 503, 60_000, 'the second runtime unhealthy');
}, 180_000);

afterAll(() => disposeAll(children, cleanups));

describe('wa-runtime against a running runtime', () => {
  it('status on a terminal: an aligned, coloured table with the backing-off session in yellow, restarts and uptimes in human units', () => {
    // `script` gives the CLI a pseudo-terminal, as an operator's shell does.
    const command = [process.execPath, ...cliArgs, 'status', '--url', degraded.url].map((part) => `'${part}'`).join(' ');
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: root, env: { ...cliEnv(), TERM: 'xterm' }, encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(0);
    const out = result.stdout;
    expect(out).toContain('\u001b[33mbacking_off\u001b[0m');
    expect(out).toContain('\u001b[32mrunning\u001b[0m');
    expect(out).toMatch(/health: \u001b\[33mdegraded\u001b\[0m \(score \d+\)/);
    const plainLines = out.replace(/\u001b\[[0-9;]*m/g, '').split(/\r?\n/);
    const header = plainLines.find((line) => line.startsWith('PATH'));
    expect(header).toMatch(/^PATH +STATUS +↺ +UPTIME +NEXT RESTART +MAILBOX +NOTE$/);
    const socket = plainLines.find((line) => line.startsWith('/whatsapp/salon1/socket'));
    expect(socket).toMatch(/backing_off +\d+ +- +in \d+s/);
    expect(socket).toContain('whatsapp:salon1 down');
    // Columns line up: the STATUS column starts at the same offset on every row.
    const column = header?.indexOf('STATUS');
    for (const line of plainLines.filter((line) => line.startsWith('/'))) expect(line.slice(column).match(/^\S/)).not.toBeNull();
    expect(plainLines.find((line) => line.startsWith('/http'))).toMatch(/running +0 +\d+(s|m \d+s)/);
  });

  it('status --json prints the API’s report; piped output has no colour', () => {
    const json = cli(['status', '--json', '--url', degraded.url]);
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout) as { status: string; score: number; nodes: { path: string; status: string; restarts: number; outage: unknown }[] };
    expect(report.status).toBe('degraded');
    expect(report.nodes.find((node) => node.path === '/whatsapp/salon1/socket')).toMatchObject({ status: 'backing_off', outage: { dependency: 'whatsapp:salon1' } });
    const piped = cli(['status', '--url', degraded.url]);
    expect(piped.stdout).not.toContain('\u001b[');
  });

  it('exit codes: 0 ok, 1 unhealthy or failed, 2 usage, 3 nothing listening', async () => {
    expect(cli(['health', '--url', degraded.url]).status).toBe(0);
    const sick = cli(['health', '--url', unhealthy.url]);
    expect(sick.status).toBe(1);
    expect(sick.stdout).toMatch(/store +critical/);
    expect(cli(['status', '--url', unhealthy.url]).status).toBe(1);
    const refused = cli(['restart', '/nope', '--url', degraded.url]);
    expect(refused).toMatchObject({ status: 1, stderr: expect.stringContaining('WAR_ERR_CHILD_NOT_FOUND (404): no actor at /nope') });
    expect(cli(['status', '--url', degraded.url], { ADMIN_TOKEN: 'wrong-token-0123456789' })).toMatchObject({ status: 1, stderr: expect.stringContaining('WAR_ERR_UNAUTHORIZED') });
    expect(cli(['recover', 'everything', '--url', degraded.url])).toMatchObject({ status: 2, stderr: expect.stringContaining('recover takes one of whatsapp, batches, company, all') });
    expect(cli(['status', '--frobnicate'])).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown option --frobnicate') });
    expect(cli(['status', '--repair', '--url', degraded.url])).toMatchObject({ status: 2, stderr: expect.stringContaining('--repair is not an option of status') });
    expect(cli(['constructor'])).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown command "constructor"') });
    expect(cli(['recover', 'whatsapp', 'salon1', '--pair', '--phone', 'abc', '--url', degraded.url])).toMatchObject({ status: 2, stderr: expect.stringContaining('is not a phone number') });
    // Done as far as it could go, but the store is away: the report, and exit 1.
    const partial = cli(['recover', 'batches', '--url', unhealthy.url]);
    expect(partial).toMatchObject({ status: 1, stderr: expect.stringContaining('not everything could be done: the store:') });
    expect(partial.stdout).toContain('the store could not be reached');
    const nobody = await freePort();
    expect(cli(['status', '--url', `http://127.0.0.1:${nobody}`])).toMatchObject({ status: 3, stderr: expect.stringContaining('no runtime answered') });
  });

  it('recover batches and recover whatsapp print what they did', () => {
    const batches = cli(['recover', 'batches', '--url', degraded.url]);
    expect(batches.status).toBe(0);
    expect(batches.stdout).toContain('pending conversations re-armed: 0');
    expect(batches.stdout).toContain('dead letters retried: 0');
    const session = cli(['recover', 'whatsapp', 'salon1', '--url', degraded.url]);
    expect(session.status).toBe(0);
    expect(session.stdout).toMatch(/salon1: reconnect \S+ → \S+/);
  });

  it('logs -f shows a line logged after it started, then stops on SIGINT with exit 0', async () => {
    const follow = spawn(process.execPath, [...cliArgs, 'logs', '-f', '--url', degraded.url], { cwd: root, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(follow);
    let out = '';
    follow.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follow.once('exit', (code) => resolve(code)));
    // Let it read what is there and start following.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(out).not.toContain('/does-not-exist-');
    const marker = `/does-not-exist-${Date.now()}`;
    // A refused restart is logged at warn by the runtime (the audit line), after `logs -f` started.
    expect(cli(['restart', marker, '--url', degraded.url]).status).toBe(1);
    await waitFor(() => out.includes(marker), 20_000, 'the new line in logs -f');
    expect(out).toMatch(new RegExp(`warn admin operation via cli failed .*${marker}`));
    follow.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 60_000);
});
