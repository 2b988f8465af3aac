import { afterEach, describe, expect, it } from 'vitest';
import { canaryMonitor, type CanaryStatus } from '../../actors/monitors/canary/canary-monitor.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { CanaryTarget } from '../../src/config/parsers.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { local } from '../../supervisor/child-spec.js';
import { captureLogger } from '../support/logger.js';
import { FlakyHttp } from '../support/flaky-http.js';
import { freePort } from '../support/net.js';
import { nodeAt, startSystem } from '../support/system.js';
import { waitFor } from '../support/wait.js';

const INTERVAL_MS = 1_000;
const TIMEOUT_MS = 500;

const servers: FlakyHttp[] = [];
const systems: { shutdown(): Promise<void> }[] = [];
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown();
  for (const server of servers.splice(0)) await server.close();
});

async function server(): Promise<FlakyHttp> {
  const started = await new FlakyHttp().start();
  servers.push(started);
  return started;
}

async function startCanary(targets: CanaryTarget[]) {
  const checks = new HealthChecks();
  const log = captureLogger('info');
  const { system, clock } = await startSystem(
    [
      {
        kind: 'actor',
        id: 'canary',
        dependency: { name: 'canary' },
        behaviour: local(() => canaryMonitor({ targets, intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS, failureThreshold: 3, successThreshold: 2, checks })),
      },
    ],
    { logger: log.logger },
  );
  systems.push(system);
  /** Waits for every target's result of the round at the clock's current time. */
  const settled = async (): Promise<void> => {
    const at = new Date(clock.now()).toISOString();
    await waitFor(() => targets.every((target) => checks.get(`canary:${target.name}`)?.at === at), 10_000, `the canary round at ${at}`);
  };
  /** The next round: the interval elapses, the targets answer. */
  const round = async (): Promise<void> => {
    await clock.advanceAsync(INTERVAL_MS);
    await settled();
  };
  await settled();
  return { checks, clock, system, log, round, settled, status: () => (system.lookup('/canary') as ActorRef<{ type: 'status' }, CanaryStatus>).ask({ type: 'status' }) };
}

describe('canary monitor against a local server that fails on cue', () => {
  it('goes down after 3 failures in a row (warning before), and up again after 2 successes', async () => {
    const api = await server();
    const canary = await startCanary([{ name: 'api', url: api.url(), expect: undefined }]);
    const check = () => canary.checks.get('canary:api');
    expect(check()).toMatchObject({ status: 'ok', data: { statusCode: 200, failuresInARow: 0 } });

    api.answer({ status: 503, body: 'down for maintenance' });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      await canary.round();
      seen.push(check()?.status ?? 'absent');
    }
    expect(seen).toEqual(['warn', 'warn', 'critical']);
    expect(check()).toMatchObject({ message: expect.stringMatching(/^api is down \(3 failures in a row\): HTTP 503 \(\d+ ms\)$/), data: { statusCode: 503, failuresInARow: 3, successesInARow: 0 } });

    api.answer({ status: 200, body: { status: 'ok' } });
    await canary.round();
    expect(check()).toMatchObject({ status: 'critical', data: { statusCode: 200, successesInARow: 1 } });
    await canary.round();
    expect(check()).toMatchObject({ status: 'ok', data: { successesInARow: 2, failuresInARow: 0 } });
    expect(api.requests).toHaveLength(1 + 3 + 2);
    expect(nodeAt(canary.system.snapshot(), '/canary')).toMatchObject({ status: 'running', restarts: 0, detail: { targets: 1, down: 0 } });

    // Transitions only: failing, down, up (the first "ok" says nothing).
    const lines = canary.log.lines().filter((line) => line.includes('"canary"'));
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg.replace(/ \(\d+ ms\)$/, ''))).toEqual([
      'api failing (1 of 3 before down): HTTP 503',
      'api is down (3 failures in a row): HTTP 503',
      'api: HTTP 200',
    ]);
  });

  it('a hanging server times out on the clock: aborted, a failure with the timeout as its response time', async () => {
    const slow = await server();
    const canary = await startCanary([{ name: 'slow', url: slow.url(), expect: undefined }]);
    slow.answer('hang');
    await canary.clock.advanceAsync(INTERVAL_MS);
    await waitFor(() => slow.hanging === 1, 10_000, 'the request to hang');
    await canary.clock.advanceAsync(TIMEOUT_MS - 1);
    expect(canary.checks.get('canary:slow')?.status).toBe('ok');
    await canary.clock.advanceAsync(1);
    expect(canary.checks.get('canary:slow')).toMatchObject({ status: 'warn', message: 'slow failing (1 of 3 before down): timed out (500 ms)', data: { statusCode: null, responseTimeMs: 500, failuresInARow: 1 } });
    // The request was aborted: the server sees the connection go.
    await waitFor(() => slow.hanging === 0, 10_000, 'the aborted request to close');
    // The next round asks afresh.
    slow.answer({ status: 200 });
    await canary.clock.advanceAsync(INTERVAL_MS - TIMEOUT_MS);
    await canary.settled();
    expect(canary.checks.get('canary:slow')).toMatchObject({ status: 'ok', data: { statusCode: 200 } });
  });

  it('checks the expected JSON field: missing or different is a failure that says what it found', async () => {
    const api = await server();
    api.answer({ status: 200, body: { status: 'ok', checks: { db: 'up' } } });
    const canary = await startCanary([
      { name: 'status', url: api.url(), expect: { field: 'status', value: 'ok' } },
      { name: 'db', url: api.url('/deep'), expect: { field: 'checks.db', value: 'up' } },
    ]);
    expect(canary.checks.get('canary:status')?.status).toBe('ok');
    expect(canary.checks.get('canary:db')?.status).toBe('ok');

    api.answer({ status: 200, body: { status: 'degraded' } });
    await canary.round();
    expect(canary.checks.get('canary:status')).toMatchObject({ status: 'warn', message: expect.stringContaining('field status is "degraded" (expected "ok")'), data: { statusCode: 200 } });
    expect(canary.checks.get('canary:db')).toMatchObject({ status: 'warn', message: expect.stringContaining('field checks.db missing') });
    const status = await canary.status();
    expect(Object.keys(status)).toEqual(['canary:status', 'canary:db']);
    expect(status['canary:db']?.status).toBe('warn');
  });

  it('does not follow redirects, counts a refused connection as a failure, and keeps credentials out of the check', async () => {
    const api = await server();
    api.answer({ status: 302, headers: { location: '/elsewhere' } });
    const closed = await freePort();
    const secretUrl = api.url('/health?token=s3cr3t-token').replace('http://', 'http://ops:hunter2-pass@');
    const canary = await startCanary([
      { name: 'moved', url: secretUrl, expect: undefined },
      { name: 'gone', url: `http://127.0.0.1:${closed}/health`, expect: undefined },
    ]);
    expect(canary.checks.get('canary:moved')).toMatchObject({ status: 'ok', data: { statusCode: 302 } });
    expect(api.requests.map((request) => request.path)).toEqual(['/health?token=s3cr3t-token']);
    expect(api.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('ops:hunter2-pass').toString('base64')}`);
    expect(canary.checks.get('canary:gone')).toMatchObject({ status: 'warn', message: expect.stringContaining('ECONNREFUSED'), data: { statusCode: null } });

    const everything = JSON.stringify(canary.checks.all()) + canary.log.text() + JSON.stringify(canary.system.snapshot());
    expect(everything).not.toContain('hunter2-pass');
    expect(everything).not.toContain('s3cr3t-token');
    expect(canary.checks.get('canary:moved')?.data?.url).toBe(`http://%5Bredacted%5D:%5Bredacted%5D@${new URL(api.url()).host}/health?[redacted]`);
  });

  it('withdraws its checks when stopped', async () => {
    const api = await server();
    const canary = await startCanary([{ name: 'api', url: api.url(), expect: undefined }]);
    expect(canary.checks.get('canary:api')).toBeDefined();
    await canary.system.shutdown();
    expect(canary.checks.get('canary:api')).toBeUndefined();
  });
});
