import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch, HandlerAction } from '../../actors/pipeline/handler.js';
import { loadConfig } from '../../src/config/config.js';
import { testConfig } from '../support/config.js';
import { ERROR_CODES } from '../../src/errors.js';
import type { RuntimeEvent } from '../../src/events/runtime-events.js';
import { Runtime } from '../../src/runtime.js';
import { captureLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'admin-token-7f3c9a1be2d44c0e';
const auth = { authorization: `Bearer ${TOKEN}` };

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
});

/** A runtime whose handler does what `handle` says; every event it publishes is kept. */
async function start(handle: (batch: FlushedBatch) => readonly HandlerAction[] | void, env: Record<string, string> = {}) {
  const capture = captureLogger('info');
  const events: RuntimeEvent[] = [];
  runtime = new Runtime({
    loaded: testConfig({
      PORT: '0',
      ADMIN_TOKEN: TOKEN,
      BATCH_WINDOW_MS: '30',
      BATCH_MAX_AGE_MS: '30',
      PIPELINE_MAX_ATTEMPTS: '2',
      PIPELINE_RETRY_INITIAL_MS: '10',
      METRICS_PROCESS: 'false',
      ...env,
    }),
    logger: capture.logger,
    handlerRunner: () => new InlineRunner(handle),
  });
  runtime.events.subscribe((event) => void events.push(event), { types: ['dead_lettered', 'action_failed', 'admin', 'check'] });
  await runtime.start();
  const address = await runtime.httpAddress();
  return { base: `http://127.0.0.1:${address?.port}`, events, logs: capture.lines };
}

const send = (base: string, body: unknown) =>
  fetch(`${base}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Writes raw bytes to the server and reads what it answers (Node's parser refuses before fastify sees it). */
function raw(base: string, request: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

function jsonOf(answer: string): Record<string, unknown> {
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

describe('error shape', () => {
  it('Node-level 400 and 431 answers, and fastify 413, are {error, code, message} with our codes', async () => {
    const { base } = await start(() => []);
    const garbage = await raw(base, 'THIS IS NOT HTTP\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(jsonOf(garbage)).toEqual({ error: 'Bad Request', code: 'WAR_ERR_BAD_HTTP', message: expect.stringContaining('not valid HTTP') });
    const huge = await raw(base, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(jsonOf(huge)).toEqual({ error: 'Request Header Fields Too Large', code: 'WAR_ERR_HEADERS_TOO_LARGE', message: expect.any(String) });
    const tooLarge = await fetch(`${base}/admin/restart`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ path: `/${'x'.repeat(5_000)}` }) });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toEqual({ error: 'Payload Too Large', code: 'WAR_ERR_BODY_TOO_LARGE', message: expect.any(String) });
    // Still serving after all that.
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
  });

  it('every code a route answers with is in the one error table, with that status', async () => {
    const { base } = await start(() => []);
    const answers = await Promise.all([
      fetch(`${base}/nope`),
      fetch(`${base}/admin/dead-letters`),
      fetch(`${base}/admin/dead-letters/nope/retry`, { method: 'POST', headers: auth }),
      fetch(`${base}/admin/dead-letters/nope`, { method: 'DELETE', headers: auth }),
      fetch(`${base}/admin/restart`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{"path":"/"}' }),
      fetch(`${base}/webhook/whatsapp/batched/79161234567`, { method: 'DELETE', headers: auth }),
      fetch(`${base}/sessions/nope`),
    ]);
    for (const answer of answers) {
      const body = (await answer.json()) as { code: keyof typeof ERROR_CODES; error: string; message: string };
      expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message']);
      expect(ERROR_CODES[body.code], body.code).toBeDefined();
      expect(answer.status, body.code).toBe(ERROR_CODES[body.code].status);
    }
  });
});

describe('actions that cannot be carried out', () => {
  it('a reply to a session this runtime does not have is counted, logged once per session and reason, and published; the batch says so', async () => {
    const { base, events, logs } = await start((batch) => [{ type: 'reply', text: `re: ${batch.text}` }]);
    for (let i = 0; i < 3; i++) {
      expect((await send(base, { phone: `7916123456${i}`, message: `hi ${i}` })).status).toBe(202);
      // One batch at a time, so each is its own batch.
      await waitFor(() => events.filter((e) => e.type === 'action_failed').length === i + 1);
    }
    const failed = events.filter((e) => e.type === 'action_failed');
    expect(failed[0]).toMatchObject({ type: 'action_failed', action: 'reply', outcome: 'no_session', sessionId: 'default', phone: '79161234560' });
    // Delivered counts at the ack, which lands a store commit after the action's event.
    const stats = await waitFor(async () => {
      const body = (await (await fetch(`${base}/webhook/whatsapp/batched/stats`)).json()) as { stats: { pipeline: Record<string, unknown> } };
      return body.stats.pipeline.delivered === 3 && body;
    }, 10_000, 'three batches acked');
    expect(stats.stats.pipeline).toMatchObject({ delivered: 3, deliveredWithFailedActions: 3, actions: { reply: { no_session: 3 } } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^runtime_pipeline_actions_total\{action="reply",outcome="no_session"\} 3$/m);
    expect(metrics).toMatch(/^runtime_pipeline_batches_total\{outcome="delivered"\} 3$/m);
    const warnings = logs().filter((line) => line.includes("a handler's reply could not be carried out"));
    expect(warnings).toHaveLength(1);
    const delivered = logs().filter((line) => line.includes('"msg":"batch delivered"'));
    expect(delivered.every((line) => line.includes('"outcome":"delivered_with_failed_actions"'))).toBe(true);
  });

  it('a book action with no booking actor is no_booking', async () => {
    const { base, events } = await start(() => [{ type: 'book', request: { staff_id: 1 } }]);
    await send(base, { phone: '79161234567', message: 'book me' });
    await waitFor(() => events.find((e) => e.type === 'action_failed'));
    expect(events.find((e) => e.type === 'action_failed')).toMatchObject({ action: 'book', outcome: 'no_booking' });
  });
});

describe('dead letters', () => {
  it('are listed, retried (delivered again with the same batchId) and dropped through the admin API; each operation is an admin event', async () => {
    let failing = true;
    const delivered: FlushedBatch[] = [];
    const { base, events } = await start((batch) => {
      if (failing) throw new Error(`downstream refused ${batch.phone}`);
      delivered.push(batch);
      return [];
    });
    await send(base, { phone: '79161234567', message: 'first' });
    await send(base, { phone: '79169999999', message: 'second' });
    await waitFor(() => events.filter((e) => e.type === 'dead_lettered').length === 2);
    const listed = (await (await fetch(`${base}/admin/dead-letters`, { headers: auth })).json()) as { total: number; deadLetters: { batchId: string; phone: string; error: string; messages: { text: string }[] }[] };
    expect(listed.total).toBe(2);
    const alice = listed.deadLetters.find((letter) => letter.phone === '79161234567');
    const bob = listed.deadLetters.find((letter) => letter.phone === '79169999999');
    expect(alice).toMatchObject({ error: 'downstream refused 79161234567', messages: [{ text: 'first' }] });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^runtime_dead_letters 2$/m);
    expect(metrics).toMatch(/^runtime_pipeline_batches_total\{outcome="dead_lettered"\} 2$/m);
    expect(metrics).toMatch(/^runtime_batches_flushed_total\{reason="(quiet|age)"\} [12]$/m);
    expect(metrics).toMatch(/^runtime_store_up 1$/m);
    expect(metrics).toMatch(/^runtime_http_requests_total\{route="\/webhook\/whatsapp\/batched",method="POST",status="202"\} 2$/m);

    failing = false;
    const retried = await fetch(`${base}/admin/dead-letters/${alice?.batchId}/retry`, { method: 'POST', headers: auth });
    expect(retried.status).toBe(202);
    await waitFor(() => delivered.length === 1);
    expect(delivered[0]).toMatchObject({ batchId: alice?.batchId, text: 'first' });
    const dropped = await fetch(`${base}/admin/dead-letters/${bob?.batchId}`, { method: 'DELETE', headers: auth });
    expect(await dropped.json()).toEqual({ ok: true, batchId: bob?.batchId, dropped: true });
    expect((await fetch(`${base}/admin/dead-letters/${bob?.batchId}`, { method: 'DELETE', headers: auth })).status).toBe(404);
    expect(((await (await fetch(`${base}/admin/dead-letters`, { headers: auth })).json()) as { total: number }).total).toBe(0);
    const admin = events.filter((e) => e.type === 'admin');
    expect(admin.map((e) => [e.operation, e.target, e.outcome])).toEqual([
      ['dead_letter_retry', alice?.batchId, 'ok'],
      ['dead_letter_drop', bob?.batchId, 'ok'],
    ]);
    expect(admin[0]).toMatchObject({ by: expect.stringMatching(/^http (::ffff:)?127\.0\.0\.1$/) });
  });
});

describe('logs', () => {
  it('unset secrets log as null, set ones as [redacted]', async () => {
    const capture = captureLogger('info');
    runtime = new Runtime({ loaded: testConfig({ PORT: '0', METRICS_PROCESS: 'false' }), logger: capture.logger });
    capture.logger.info({ config: loadConfig({ ADMIN_TOKEN: TOKEN }).effective }, 'effective');
    capture.logger.info({ config: loadConfig({}).effective }, 'unset');
    // Other lines (a feature saying it is off) may come first: take the two written here.
    const logged = capture.lines().map((line) => JSON.parse(line) as { msg: string; config: Record<string, unknown> });
    const set = logged.find((line) => line.msg === 'effective');
    const unset = logged.find((line) => line.msg === 'unset');
    expect(set?.config).toMatchObject({ ADMIN_TOKEN: '[redacted]' });
    expect(unset?.config).toMatchObject({ ADMIN_TOKEN: null, REDIS_URL: null });
    expect(capture.text()).not.toContain(TOKEN);
  });
});
