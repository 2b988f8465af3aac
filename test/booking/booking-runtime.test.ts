import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { RuntimeEvent } from '../../src/events/runtime-events.js';
import { Runtime } from '../../src/runtime.js';
import { walkTree, type TreeNode } from '../../supervisor/tree-node.js';
import { testConfig } from '../support/config.js';
import { captureLogger } from '../support/logger.js';
import { listeningYClients, type YClientsServer } from '../support/yclients-server.js';
import { waitFor } from '../support/wait.js';

/**
 * The /booking actor in a whole runtime, over HTTP, against the local YClients server through
 * the real undici client: one limit shared by every caller, never a second record for one
 * api_id, a bad request refused before it leaves, the breaker in the tree and in /health.
 */
const TOKEN = 'admin-token-booking-1f2e3d4c';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function start(server: YClientsServer, env: Record<string, string> = {}) {
  const capture = captureLogger('trace');
  const runtime = new Runtime({
    loaded: testConfig({
      ADMIN_TOKEN: TOKEN,
      METRICS_PROCESS: 'false',
      LOG_LEVEL: 'trace',
      YCLIENTS_BASE_URL: server.url,
      YCLIENTS_PARTNER_TOKEN: server.partnerToken,
      YCLIENTS_USER_TOKEN: server.userToken,
      YCLIENTS_COMPANY_ID: '4564',
      YCLIENTS_TIMEOUT_MS: '1000',
      ...env,
    }),
    logger: capture.logger,
    handlerRunner: () => new InlineRunner(() => undefined),
  });
  const events: RuntimeEvent[] = [];
  runtime.events.subscribe((event) => void events.push(event), { types: ['booking'] });
  cleanups.push(() => runtime.shutdown().then(() => undefined));
  await runtime.start();
  const address = await runtime.httpAddress();
  const base = `http://127.0.0.1:${address?.port}`;
  return { runtime, base, events, log: capture.text };
}

const get = async (url: string) => {
  const response = await fetch(url, { headers: { authorization: auth.authorization } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const post = async (url: string, body: unknown) => {
  const response = await fetch(url, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const booking = (staff: unknown, datetime = '2026-12-03T18:00:00+03:00', apiId?: string) => ({
  phone: '+7 (916) 123-45-67',
  fullname: 'Мария Иванова',
  ...(apiId ? { api_id: apiId } : {}),
  appointments: [{ id: 0, services: [331], staff_id: staff, datetime }],
});

describe('/booking in a runtime', () => {
  it('looks up a slot and books it over HTTP; a repeated request with the same api_id answers the first record', async () => {
    const server = await listeningYClients(cleanups);
    const { base } = await start(server);
    const slots = await get(`${base}/booking/slots?staff_id=6544&date=2026-12-03&service_ids=331`);
    expect(slots.status).toBe(200);
    const times = slots.body.data as { datetime: string; staff_id: number }[];
    expect(times.length).toBeGreaterThan(0);
    expect(times[0]).toMatchObject({ staff_id: 6544 });

    const first = await post(`${base}/booking/records`, booking(6544, times[0]!.datetime, 'flow-42'));
    expect(first.status).toBe(201);
    expect(first.body.meta).toEqual({ api_id: 'flow-42', existing: false });
    const again = await post(`${base}/booking/records`, booking(6544, times[0]!.datetime, 'flow-42'));
    expect(again.status).toBe(200);
    expect(again.body.meta).toEqual({ api_id: 'flow-42', existing: true });
    expect((again.body.data as { record_id: number }[])[0]?.record_id).toBe((first.body.data as { record_id: number }[])[0]?.record_id);
    expect(server.records.filter((record) => record.api_id === 'flow-42')).toHaveLength(1);
  });

  it('refuses staff_id "last", 0, -1, "12a" and a missing one with the field named, and no request reaches YClients', async () => {
    const server = await listeningYClients(cleanups);
    const { base } = await start(server);
    const before = server.requests.length;
    for (const staff of ['last', 0, -1, '12a', undefined]) {
      const answer = await post(`${base}/booking/records`, booking(staff));
      expect(answer.status, JSON.stringify(staff)).toBe(400);
      expect(answer.body).toMatchObject({ code: 'WAR_ERR_BOOKING_INVALID', field: 'appointments[0].staff_id' });
      expect(String(answer.body.message)).toContain('appointments[0].staff_id');
    }
    expect((await get(`${base}/booking/slots?staff_id=last&date=2026-12-03`)).status).toBe(400);
    expect(server.requests.length).toBe(before);
  });

  it('books with staff_id "any": a master free at that time is chosen first', async () => {
    const server = await listeningYClients(cleanups);
    const { base } = await start(server);
    const answer = await post(`${base}/booking/records`, booking('any', '2026-12-04T12:00:00+03:00', 'any-1'));
    expect(answer.status).toBe(201);
    const record = server.records.find((each) => each.api_id === 'any-1');
    expect([6544, 6545]).toContain(record?.staff_id);
  });

  it('a book_record whose answer is lost (the booking was made) is looked up, not made again: exactly one record', async () => {
    const server = await listeningYClients(cleanups);
    const { base } = await start(server, { YCLIENTS_TIMEOUT_MS: '400' });
    server.loseAnswerNext('book_record');
    const answer = await post(`${base}/booking/records`, booking(6545, '2026-12-05T15:00:00+03:00', 'lost-1'));
    expect(answer.status).toBe(200);
    expect(answer.body.meta).toEqual({ api_id: 'lost-1', existing: true });
    expect(server.records.filter((record) => record.api_id === 'lost-1')).toHaveLength(1);
  });

  it('a slot already taken answers 409 with the YClients code; a handler book action whose slot is taken is an event, not silence', async () => {
    const server = await listeningYClients(cleanups);
    const { base, runtime, events } = await start(server);
    expect((await post(`${base}/booking/records`, booking(6544, '2026-12-06T11:00:00+03:00', 'taken-1'))).status).toBe(201);
    const taken = await post(`${base}/booking/records`, booking(6544, '2026-12-06T11:00:00+03:00', 'taken-2'));
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ code: 'WAR_ERR_BOOKING_SLOT_TAKEN', yclients_code: 433 });
    runtime.system.lookup(actorPathOf('/booking'))?.tell({ type: 'book', batchId: 'batch-7', index: 0, request: booking(6544, '2026-12-06T11:00:00+03:00') });
    const event = await waitFor(() => events.find((each) => each.type === 'booking' && each.batchId === 'batch-7'), 10_000, 'the booking event');
    expect(event).toMatchObject({ outcome: 'failed', code: 'WAR_ERR_BOOKING_SLOT_TAKEN', apiId: 'batch-batch-7-0' });
  });

  it('500 concurrent slot lookups share one limit: all answered, zero violations counted by the server', async () => {
    // Ten times the documented limit on both sides, so 500 requests take ~10 s, not 100; no cache, so each is a request.
    const server = await listeningYClients(cleanups, { perSecond: 50, perMinute: 3_000 });
    const { base } = await start(server, { YCLIENTS_RATE_PER_SECOND: '50', YCLIENTS_RATE_PER_MINUTE: '3000', YCLIENTS_CACHE_TTL_MS: '0', YCLIENTS_QUEUE_TIMEOUT_MS: '60000' });
    const days = ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05'];
    const lookups = Array.from({ length: 500 }, (_, i) => `${base}/booking/slots?staff_id=${i % 2 === 0 ? 6544 : 6545}&date=${days[i % 5]}&service_ids=331`);
    const started = Date.now();
    const answers = await Promise.all(lookups.map((url) => get(url)));
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(server.violations).toEqual([]);
    expect(server.requests.filter((call) => call.endpoint === 'book_times')).toHaveLength(500);
    // At 50 a second, 500 cannot have gone faster than ~9 s: the limit, not luck, kept them under.
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
  }, 60_000);

  it('a 429 with Retry-After: 2 holds the next request at least 2 s', async () => {
    const server = await listeningYClients(cleanups);
    const { base } = await start(server);
    server.rateLimitNext(2, 1, 'book_services');
    const started = Date.now();
    const answer = await get(`${base}/booking/services`);
    expect(answer.status).toBe(200);
    const calls = server.requests.filter((call) => call.endpoint === 'book_services');
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
  });

  it('the breaker opens after YCLIENTS_BREAKER_FAILURES failures, fails fast (503), shows in /health/tree and /health, and closes after a good probe', async () => {
    const server = await listeningYClients(cleanups);
    const { base, log } = await start(server, { YCLIENTS_BREAKER_FAILURES: '5', YCLIENTS_BREAKER_COOLDOWN_MS: '5000' });
    // Five 5xx in a row (each call tries 3 times, 0.5 s then 1 s apart): the fifth opens the breaker.
    server.failNext('book_services', 5, 500);
    // 3 attempts per call: two calls are 6 failures in a row.
    expect((await get(`${base}/booking/services?staff_id=1`)).status).toBe(502);
    const fast = await get(`${base}/booking/services?staff_id=2`);
    // Its third attempt was never sent: the breaker answered for YClients.
    expect(server.requests.filter((call) => call.endpoint === 'book_services')).toHaveLength(5);
    expect(fast.status).toBe(503);
    expect(fast.body.code).toBe('WAR_ERR_BOOKING_BREAKER_OPEN');
    const tree = (await (await fetch(`${base}/health/tree`)).json()) as { tree: TreeNode };
    const node = [...walkTree(tree.tree)].find((each) => each.path === '/booking');
    await waitFor(async () => {
      const health = (await (await fetch(`${base}/health`)).json()) as { checks: Record<string, { status: string }> };
      return health.checks.booking?.status === 'critical';
    }, 10_000, 'the booking check critical');
    expect(node).toBeDefined();
    expect((await get(`${base}/booking/services?staff_id=3`)).status).toBe(503);
    expect(server.requests.filter((call) => call.endpoint === 'book_services')).toHaveLength(5);
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    // The cool-down is over: one probe goes through, succeeds, and the breaker closes.
    const probe = await waitFor(async () => {
      const answer = await get(`${base}/booking/services?staff_id=3`);
      return answer.status === 200 ? answer : undefined;
    }, 10_000, 'a successful probe');
    expect(probe.status).toBe(200);
    const detail = [...walkTree(((await (await fetch(`${base}/health/tree`)).json()) as { tree: TreeNode }).tree)].find((each) => each.path === '/booking')?.detail;
    expect(detail).toMatchObject({ breaker: 'closed' });
    // After failures, a fast fail and a probe: no token in the trace log, the health output, the config shown, the alerts or the metrics.
    const outputs = [log()];
    for (const path of ['/health', '/health/tree', '/health/extended', '/health/history', '/metrics', '/alerts']) {
      const answer = await fetch(`${base}${path}`, { headers: { authorization: auth.authorization } });
      expect(answer.status, path).toBe(200);
      outputs.push(await answer.text());
    }
    expect(outputs.join('\n')).toContain('WAR_ERR_BOOKING'); // the failures are in there
    for (const output of outputs) {
      expect(output).not.toContain(server.partnerToken);
      expect(output).not.toContain(server.userToken);
    }
  });
  it('a HANDLER_MODULE on a piscina thread looks up free times and books through context.booking, once, within one batch', async () => {
    const server = await listeningYClients(cleanups);
    const capture = captureLogger('info');
    const runtime = new Runtime({
      loaded: testConfig({
        METRICS_PROCESS: 'false',
        HANDLER_MODULE: new URL('../fixtures/yclients-booking-handler.ts', import.meta.url).pathname,
        BATCH_WINDOW_MS: '50',
        BATCH_MAX_AGE_MS: '50',
        YCLIENTS_BASE_URL: server.url,
        YCLIENTS_PARTNER_TOKEN: server.partnerToken,
        YCLIENTS_USER_TOKEN: server.userToken,
        YCLIENTS_COMPANY_ID: '4564',
      }),
      logger: capture.logger,
    });
    const failures: RuntimeEvent[] = [];
    runtime.events.subscribe((event) => void failures.push(event), { types: ['action_failed', 'dead_lettered'] });
    cleanups.push(() => runtime.shutdown().then(() => undefined));
    await runtime.start();
    const accepted = await runtime.ingest.accept({ sessionId: 'salon1', phone: '79161234567', text: 'Запишите на стрижку 3 декабря', id: 'm-1' });
    expect(accepted.status).toBe('accepted');
    const record = await waitFor(() => server.records.find((each) => each.api_id.endsWith(':0')), 30_000, 'the record made by the handler');
    expect(record.staff_id).toBeGreaterThan(0);
    // The reply had no WhatsApp session to go to (none configured): reported, not lost; and no dead letter.
    const replyFailed = await waitFor(() => failures.find((event) => event.type === 'action_failed'), 10_000, 'the reply outcome');
    expect(replyFailed).toMatchObject({ action: 'reply', outcome: 'no_session' });
    expect(failures.filter((event) => event.type === 'dead_lettered')).toEqual([]);
    expect(server.records).toHaveLength(1);
    expect(capture.text()).not.toContain(server.partnerToken);
  }, 60_000);
});

function actorPathOf(path: string) {
  return path as unknown as import('../../src/actor/actor-path.js').ActorPath<{ type: 'book'; batchId: string; index: number; request: Record<string, unknown> }, unknown>;
}
