import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { silentLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
});

async function startRuntime(): Promise<{ runtime: Runtime; base: string }> {
  const started = new Runtime({ loaded: testConfig({ PORT: '0', METRICS_PROCESS: 'false' }), logger: silentLogger() });
  runtime = started;
  await started.start();
  const address = await started.httpAddress();
  if (!address) throw new Error('http did not bind');
  return { runtime: started, base: `http://127.0.0.1:${address.port}` };
}

const getJson = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const iso = (at: number) => new Date(at).toISOString();

describe('GET /health/history', () => {
  it('answers one check’s results, transitions and uptime, filtered by `since`', async () => {
    const { runtime, base } = await startRuntime();
    // Stamped by the monitor ten minutes ago: the runtime's own clock is the system's.
    const H = Date.now() - 10 * 60_000;
    const report = (status: 'ok' | 'warn' | 'critical', message: string, at: number) => runtime.checks.report('canary:billing', { status, message, at: iso(at) });
    report('ok', 'HTTP 200 in 12 ms', H);
    report('critical', 'HTTP 503', H + 60_000);
    report('critical', 'HTTP 503', H + 120_000);
    report('ok', 'HTTP 200 in 15 ms', H + 180_000);

    const all = await getJson(`${base}/health/history?check=canary:billing`);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({
      check: 'canary:billing',
      results: [
        { status: 'ok', message: 'HTTP 200 in 12 ms', at: iso(H) },
        { status: 'critical', message: 'HTTP 503', at: iso(H + 60_000) },
        { status: 'critical', message: 'HTTP 503', at: iso(H + 120_000) },
        { status: 'ok', message: 'HTTP 200 in 15 ms', at: iso(H + 180_000) },
      ],
      transitions: [
        { from: 'absent', to: 'ok', message: 'HTTP 200 in 12 ms', at: iso(H) },
        { from: 'ok', to: 'critical', message: 'HTTP 503', at: iso(H + 60_000) },
        { from: 'critical', to: 'ok', message: 'HTTP 200 in 15 ms', at: iso(H + 180_000) },
      ],
    });
    const uptime = all.body.uptime as Record<string, number>;
    expect(Object.keys(uptime).sort()).toEqual(['1h', '24h']);
    // Two critical minutes of a life of ten (and however long the request took, well under one more).
    expect(uptime['1h']).toBeGreaterThanOrEqual(0.8);
    expect(uptime['1h']).toBeLessThanOrEqual(0.82);
    expect(uptime['24h']).toBe(uptime['1h']);

    const since = await getJson(`${base}/health/history?check=canary:billing&since=${encodeURIComponent(iso(H + 120_000))}`);
    expect(since.status).toBe(200);
    expect((since.body.results as { at: string }[]).map((result) => result.at)).toEqual([iso(H + 120_000), iso(H + 180_000)]);
    expect((since.body.transitions as { to: string }[]).map((transition) => transition.to)).toEqual(['ok']);
    // A date alone is midnight UTC; a time without a zone is UTC too.
    const day = await getJson(`${base}/health/history?check=canary:billing&since=2999-01-01`);
    expect(day).toMatchObject({ status: 200, body: { results: [], transitions: [] } });
    const noZone = await getJson(`${base}/health/history?check=canary:billing&since=${iso(H + 150_000).replace('Z', '')}`);
    expect((noZone.body.results as unknown[]).length).toBe(1);
  });

  it('without `check`, summarises every check: status, since, uptime, transitions', async () => {
    const { runtime, base } = await startRuntime();
    // The memory monitor reports as soon as it starts.
    await waitFor(() => runtime.history.has('memory'), 20_000, 'the memory check');
    runtime.checks.report('test:queue', { status: 'warn', message: 'depth 120', at: iso(Date.now()) });
    const { status, body } = await getJson(`${base}/health/history`);
    expect(status).toBe(200);
    const lines = body.checks as { check: string; status: string; since: string; uptime: Record<string, number>; transitions: number }[];
    expect(lines.map((line) => line.check)).toEqual([...lines.map((line) => line.check)].sort());
    expect(lines.find((line) => line.check === 'test:queue')).toEqual({ check: 'test:queue', status: 'warn', since: expect.any(String), uptime: { '1h': 1, '24h': 1 }, transitions: 1 });
    expect(lines.find((line) => line.check === 'memory')).toMatchObject({ status: 'ok', uptime: { '1h': 1, '24h': 1 }, transitions: 1 });
    for (const line of lines) expect(new Date(line.since).toISOString()).toBe(line.since);
  });

  it('answers 400 saying what was wrong with `since`, and for an unknown parameter', async () => {
    const { runtime, base } = await startRuntime();
    runtime.checks.report('test:queue', { status: 'ok', message: 'empty', at: iso(Date.now()) });
    for (const since of ['yesterday', '2026-13-01', '1714564800000', '2026-05-01T25:00Z']) {
      const { status, body } = await getJson(`${base}/health/history?check=test:queue&since=${encodeURIComponent(since)}`);
      expect(status, since).toBe(400);
      expect(body).toMatchObject({ code: 'WAR_ERR_BAD_REQUEST', message: expect.stringContaining(`since: "${since}" is not an ISO-8601`) });
    }
    const summary = await getJson(`${base}/health/history?since=soon`);
    expect(summary).toMatchObject({ status: 400, body: { code: 'WAR_ERR_BAD_REQUEST' } });
    const unknown = await getJson(`${base}/health/history?chek=test:queue`);
    expect(unknown).toMatchObject({ status: 400, body: { code: 'WAR_ERR_BAD_REQUEST' } });
  });

  it('answers 404 for a check it has no history of', async () => {
    const { base } = await startRuntime();
    const { status, body } = await getJson(`${base}/health/history?check=${encodeURIComponent('restarts:/nowhere')}`);
    expect(status).toBe(404);
    expect(body).toEqual({ error: 'Not Found', code: 'WAR_ERR_CHECK_NOT_FOUND', message: 'no check "restarts:/nowhere" in the history' });
  });
});
