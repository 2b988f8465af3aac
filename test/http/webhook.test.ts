import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import { testConfig } from '../support/config.js';
import { Runtime } from '../../src/runtime.js';
import { silentLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'admin-token-7f3c9a1be2d44c0e';
const auth = { authorization: `Bearer ${TOKEN}` };

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
});

async function start(env: Record<string, string> = {}) {
  const delivered: FlushedBatch[] = [];
  runtime = new Runtime({
    loaded: testConfig({ PORT: '0', BATCH_WINDOW_MS: '300', METRICS_PROCESS: 'false', ...env }),
    logger: silentLogger(),
    handlerRunner: () => new InlineRunner((batch) => void delivered.push(batch)),
  });
  await runtime.start();
  const address = await runtime.httpAddress();
  return { base: `http://127.0.0.1:${address?.port}`, delivered };
}

const post = async (base: string, body: string, contentType = 'application/json') => {
  const response = await fetch(`${base}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('POST /webhook/whatsapp/batched', () => {
  it('answers 202 once stored, normalises the phone, and reports a duplicate id as such', async () => {
    const { base } = await start();
    const first = await post(base, JSON.stringify({ phone: '79163779444@s.whatsapp.net', message: 'Привет', id: 'wa-1' }));
    expect(first).toEqual({ status: 202, body: { success: true, status: 'accepted', id: 'wa-1', sessionId: 'default', phone: '79163779444', pending: 1 } });
    const again = await post(base, JSON.stringify({ phone: '+7 (916) 377-94-44', message: 'Привет', id: 'wa-1' }));
    expect(again.body).toMatchObject({ status: 'duplicate', pending: 1 });
    const other = await post(base, JSON.stringify({ phone: '79163779444', message: 'ещё', sessionId: 'salon-2', timestamp: '2026-12-01T18:00:00+03:00' }));
    expect(other.body).toMatchObject({ status: 'accepted', sessionId: 'salon-2', pending: 1 });
    const stats = (await (await fetch(`${base}/webhook/whatsapp/batched/stats`)).json()) as { stats: { accepted: number; duplicates: number } };
    expect(stats.stats).toMatchObject({ accepted: 2, duplicates: 1 });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^runtime_batch_messages_total\{result="duplicate"\} 1$/m);
  });

  const bad: [string, string, RegExp, string][] = [
    ['malformed JSON', '{"phone": "79161234567", "message": ', /not valid JSON/, 'WAR_ERR_BAD_JSON'],
    ['a missing phone', '{"message": "hi"}', /must have required property 'phone'/, 'WAR_ERR_BAD_REQUEST'],
    ['a phone that is a JSON number', '{"phone": 79161234567, "message": "hi"}', /phone must be string/, 'WAR_ERR_BAD_REQUEST'],
    ['a phone that is not a phone', '{"phone": "call me", "message": "hi"}', /is not a phone number/, 'WAR_ERR_BAD_PHONE'],
    ['a phone too short', '{"phone": "12345", "message": "hi"}', /8 to 15 digits/, 'WAR_ERR_BAD_PHONE'],
    ['a group id', '{"phone": "120363025246125486@g.us", "message": "hi"}', /not a person's number/, 'WAR_ERR_BAD_PHONE'],
    ['a missing message', '{"phone": "79161234567"}', /must have required property 'message'/, 'WAR_ERR_BAD_REQUEST'],
    ['a message that is not a string', '{"phone": "79161234567", "message": 42}', /message must be string/, 'WAR_ERR_BAD_REQUEST'],
    ['an empty message', '{"phone": "79161234567", "message": ""}', /must NOT have fewer than 1 characters/, 'WAR_ERR_BAD_REQUEST'],
    ['a message of spaces', '{"phone": "79161234567", "message": "   "}', /visible character/, 'WAR_ERR_EMPTY_MESSAGE'],
    ['a message of zero-width spaces', JSON.stringify({ phone: '79161234567', message: '\u200b\u200c\u200d\u2060\ufeff' }), /visible character/, 'WAR_ERR_EMPTY_MESSAGE'],
    ['a message of no-break spaces', JSON.stringify({ phone: '79161234567', message: '\u00a0\u202f\u2007 \u3000' }), /visible character/, 'WAR_ERR_EMPTY_MESSAGE'],
    ['a timestamp that is not a date', '{"phone": "79161234567", "message": "hi", "timestamp": "tomorrow"}', /neither ISO-8601/, 'WAR_ERR_BAD_TIMESTAMP'],
    ['a timestamp without a time zone', '{"phone": "79161234567", "message": "hi", "timestamp": "2026-12-01T18:00:00"}', /neither ISO-8601/, 'WAR_ERR_BAD_TIMESTAMP'],
    ['a timestamp in seconds', '{"phone": "79161234567", "message": "hi", "timestamp": 1764612000}', /looks like seconds/, 'WAR_ERR_BAD_TIMESTAMP'],
    ['a fractional timestamp', '{"phone": "79161234567", "message": "hi", "timestamp": 1764612000000.5}', /whole number/, 'WAR_ERR_BAD_TIMESTAMP'],
    ['a bad sessionId', '{"phone": "79161234567", "message": "hi", "sessionId": "a/b"}', /sessionId must match pattern/, 'WAR_ERR_BAD_REQUEST'],
    ['a body over 64 KiB', JSON.stringify({ phone: '79161234567', message: 'x'.repeat(70_000) }), /exceeds 64 KiB/, 'WAR_ERR_BODY_TOO_LARGE'],
    ['a JSON array', '[1, 2]', /body must be object/, 'WAR_ERR_BAD_REQUEST'],
  ];
  for (const [what, body, message, code] of bad) {
    it(`answers 400 for ${what}, saying what was wrong, and stays healthy`, async () => {
      const { base } = await start();
      const response = await post(base, body);
      expect(response.status).toBe(400);
      expect(response.body.message).toMatch(message);
      expect(response.body).toEqual({ error: 'Bad Request', code, message: expect.any(String) });
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await (await fetch(`${base}/webhook/whatsapp/batched/stats`)).json()) as unknown).toMatchObject({ stats: { pendingBatches: 0 } });
    });
  }

  it('keeps a valid timestamp as the message\'s sentAt (ISO-8601 or epoch milliseconds), apart from the time it was accepted', async () => {
    const { base, delivered } = await start({ BATCH_WINDOW_MS: '50', BATCH_MAX_AGE_MS: '50' });
    expect((await post(base, JSON.stringify({ phone: '79161234567', message: 'one', timestamp: '2026-12-01T18:00:00+03:00' }))).status).toBe(202);
    expect((await post(base, JSON.stringify({ phone: '79161234567', message: 'two', timestamp: 1796137200000 }))).status).toBe(202);
    expect((await post(base, JSON.stringify({ phone: '79161234567', message: 'three', timestamp: '1796137200000' }))).status).toBe(202);
    await waitFor(() => delivered.reduce((n, batch) => n + batch.messages.length, 0) === 3);
    const messages = delivered.flatMap((batch) => batch.messages);
    expect(messages.map((m) => m.sentAt)).toEqual(['2026-12-01T15:00:00.000Z', '2026-12-01T15:00:00.000Z', '2026-12-01T15:00:00.000Z']);
    for (const m of messages) expect(Date.parse(m.at)).toBeGreaterThan(Date.parse('2026-12-01T15:00:00Z'));
  });

  it('answers 415 for a body that is not JSON, in the error shape', async () => {
    const { base } = await start();
    const response = await post(base, 'phone=1&message=hi', 'application/x-www-form-urlencoded');
    expect(response).toEqual({ status: 415, body: { error: 'Unsupported Media Type', code: 'WAR_ERR_UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) } });
  });

  it('answers 503 while the store cannot take a write', async () => {
    // A Redis that is not there: the store actor backs off, ingress must say so, not hang or 500.
    const { base } = await start({ REDIS_URL: 'redis://127.0.0.1:1', BACKOFF_INITIAL_MS: '60000' });
    const response = await post(base, JSON.stringify({ phone: '79161234567', message: 'hi', id: 'x' }));
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ code: 'WAR_ERR_STORE_UNAVAILABLE' });
    expect((await fetch(`${base}/health/ready`)).status).toBe(503);
  });
});

describe('GET /webhook/whatsapp/batched/stats and DELETE', () => {
  it('lists pending batches with their due time, and drops one on request', async () => {
    const { base, delivered } = await start({ BATCH_STORE: 'memory', BATCH_WINDOW_MS: '60000', BATCH_MAX_AGE_MS: '120000', ADMIN_TOKEN: TOKEN });
    await post(base, JSON.stringify({ phone: '79161234567', message: 'one' }));
    await post(base, JSON.stringify({ phone: '79161234567', message: 'two' }));
    await post(base, JSON.stringify({ phone: '79169999999', message: 'keep' }));
    const stats = (await (await fetch(`${base}/webhook/whatsapp/batched/stats`)).json()) as {
      success: boolean;
      stats: { pendingBatches: number; pendingMessages: number; batches: { phone: string; messages: number; dueAt: string; lastAt: string }[]; pipeline: unknown };
    };
    expect(stats.success).toBe(true);
    expect(stats.stats).toMatchObject({ store: 'memory', pendingBatches: 2, pendingMessages: 3, inFlight: 0, deadLetters: 0, pipeline: { delivered: 0 } });
    const alice = stats.stats.batches.find((b) => b.phone === '79161234567');
    expect(alice?.messages).toBe(2);
    expect(Date.parse(alice?.dueAt ?? '') - Date.parse(alice?.lastAt ?? '')).toBe(60_000);

    const dropped = await fetch(`${base}/webhook/whatsapp/batched/%2B7%20916%20123-45-67`, { method: 'DELETE', headers: auth });
    expect(dropped.status).toBe(200);
    expect(await dropped.json()).toMatchObject({ success: true, phone: '79161234567', deleted: 2 });
    expect((await fetch(`${base}/webhook/whatsapp/batched/79161234567`, { method: 'DELETE', headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/webhook/whatsapp/batched/not-a-phone`, { method: 'DELETE', headers: auth })).status).toBe(400);
    await runtime?.shutdown();
    runtime = undefined;
    // The memory store's shutdown flush delivers what was left, not what was dropped.
    await waitFor(() => delivered.length === 1);
    expect(delivered[0]).toMatchObject({ phone: '79169999999', reason: 'shutdown', text: 'keep' });
  });
});
