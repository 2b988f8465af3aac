import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import type { AdminEvent } from '../../src/events/runtime-events.js';
import { createLogger } from '../../src/logging/logger.js';
import { createLogRings } from '../../src/logging/log-ring.js';
import { Runtime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';

const TOKEN = 'admin-token-4b8e2f6a1c9d3e7f';
const auth = { authorization: `Bearer ${TOKEN}` };

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
});

async function start(env: Record<string, string> = {}) {
  const rings = createLogRings(50);
  const handled: FlushedBatch[] = [];
  const logger = createLogger({ level: 'info', rings, destination: { write: () => undefined } });
  runtime = new Runtime({
    loaded: testConfig({ PORT: '0', ADMIN_TOKEN: TOKEN, METRICS_PROCESS: 'false', LOG_BUFFER_LINES: '50', ...env }),
    logger,
    logs: rings,
    handlerRunner: () => new InlineRunner((batch) => void handled.push(batch)),
  });
  const events: AdminEvent[] = [];
  runtime.events.subscribe((event) => void events.push(event as AdminEvent), { types: ['admin'] });
  await runtime.start();
  const address = await runtime.httpAddress();
  const base = `http://127.0.0.1:${address?.port}`;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { base, call, events, handled, logger, runtime };
}

describe('admin operations over HTTP', () => {
  it('every changing operation, from the API and from the CLI, is one event and one log line naming its front end', async () => {
    const { call, events, runtime: rt } = await start();
    expect((await call('POST', '/admin/recover/batches')).status).toBe(200);
    expect((await call('POST', '/admin/recover/batches', {}, { 'x-wa-runtime-client': 'cli ops@salon-host' })).status).toBe(200);
    expect((await call('POST', '/admin/restart', { path: '/monitors/memory' }, { 'x-wa-runtime-client': 'cli ops@salon-host' })).status).toBe(200);
    expect((await call('POST', '/admin/test', {})).status).toBe(200);
    expect(events.map(({ operation, frontEnd, by, outcome }) => ({ operation, frontEnd, by, outcome }))).toEqual([
      { operation: 'recover_batches', frontEnd: 'http', by: 'http 127.0.0.1', outcome: 'ok' },
      { operation: 'recover_batches', frontEnd: 'cli', by: 'cli ops@salon-host via 127.0.0.1', outcome: 'ok' },
      { operation: 'restart', frontEnd: 'cli', by: 'cli ops@salon-host via 127.0.0.1', outcome: 'ok' },
      { operation: 'test', frontEnd: 'http', by: 'http 127.0.0.1', outcome: 'ok' },
    ]);
    const audited = rt.operations.logs({ level: 'info', limit: 50 }).lines.filter((line) => typeof line.fields.operation === 'string');
    expect(audited.map((line) => [line.msg, line.fields.operation, line.fields.frontEnd])).toEqual([
      ['admin operation via http', 'recover_batches', 'http'],
      ['admin operation via cli', 'recover_batches', 'cli'],
      ['admin operation via cli', 'restart', 'cli'],
      ['admin operation via http', 'test', 'http'],
    ]);
    // A header that is not the CLI's shape labels nothing.
    await call('POST', '/admin/recover/batches', {}, { 'x-wa-runtime-client': 'cli <script>' });
    expect(events.at(-1)).toMatchObject({ frontEnd: 'http' });
  });

  it('answers 400 with what was wrong for a bad recover request, 404 for an unknown target, 401 without the token', async () => {
    const { base, call } = await start({ WA_SESSIONS: '', COMPANIES: '' });
    expect(await call('POST', '/admin/recover/whatsapp', {})).toMatchObject({ status: 400, body: { code: 'WAR_ERR_BAD_REQUEST', message: expect.stringContaining('needs {"target": "<session id>"}') } });
    expect(await call('POST', '/admin/recover/everything', {})).toMatchObject({ status: 400, body: { code: 'WAR_ERR_BAD_REQUEST' } });
    expect(await call('POST', '/admin/recover/batches', { target: 'x' })).toMatchObject({ status: 400, body: { message: 'recover batches takes no target' } });
    expect(await call('POST', '/admin/recover/whatsapp', { target: 'bad id!' })).toMatchObject({ status: 400 });
    expect(await call('POST', '/admin/recover/whatsapp', { target: 'salon9' })).toMatchObject({ status: 404, body: { code: 'WAR_ERR_WA_UNKNOWN_SESSION' } });
    expect(await call('POST', '/admin/recover/company', { target: '962302' })).toMatchObject({ status: 404, body: { code: 'WAR_ERR_UNKNOWN_COMPANY' } });
    expect(await call('GET', '/admin/logs?level=debug')).toMatchObject({ status: 400 });
    expect((await fetch(`${base}/admin/status`)).status).toBe(401);
    expect((await fetch(`${base}/admin/recover/all`, { method: 'POST' })).status).toBe(401);
  });

  it('status, queue, logs and test answer their reports; the dry run is marked test and not forwarded', async () => {
    const { call, handled, runtime: rt } = await start();
    const status = await call('GET', '/admin/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ status: 'healthy', nodes: expect.arrayContaining([expect.objectContaining({ path: '/pipeline', status: 'running' })]) });
    const queue = await call('GET', '/admin/queue');
    expect(queue.body).toMatchObject({ pipeline: { queued: 0 }, deadLetters: { total: 0, oldest: [] } });
    const test = await call('POST', '/admin/test');
    expect(test).toMatchObject({ status: 200, body: { ok: true, pipeline: { ok: true, actions: [] }, send: { sent: false, reason: 'OPS_TEST_PHONE is not set' } } });
    expect(handled).toEqual([expect.objectContaining({ test: true, batchId: expect.stringMatching(/^test-/) })]);
    // Nothing was stored: the dry run never reaches the store or the counters.
    expect(await rt.store.counts()).toMatchObject({ inFlightBatches: 0, deadLetters: 0 });
    const logs = await call('GET', '/admin/logs?level=info&limit=3');
    expect(logs.body).toMatchObject({ level: 'info', capacity: 50 });
    expect((logs.body.lines as unknown[]).length).toBe(3);
  });

  it('the log ring keeps secrets out exactly as the logger does', async () => {
    const { call, logger } = await start();
    const secret = 'sk-live-9f8e7d6c5b4a';
    logger.warn({ token: secret, ADMIN_TOKEN: secret, nested: { password: secret } }, 'a line with secrets');
    const logs = await call('GET', '/admin/logs?limit=50');
    const line = (logs.body.lines as { msg: string; fields: Record<string, unknown> }[]).find((entry) => entry.msg === 'a line with secrets');
    expect(line?.fields).toEqual({ token: '[redacted]', ADMIN_TOKEN: '[redacted]', nested: { password: '[redacted]' } });
    expect(JSON.stringify(logs.body)).not.toContain(secret);
  });
});
