import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { listeningYClients, type YClientsServer } from '../support/yclients-server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const DAY = '2026-12-03';
const V2 = 'application/vnd.yclients.v2+json';

/** A raw call, as a client other than ours would make it. */
async function call(server: YClientsServer, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: { body?: unknown; auth?: string; accept?: string } = {}) {
  const response = await request(`${server.url}${path}`, {
    method,
    headers: { accept: options.accept ?? V2, 'content-type': 'application/json', authorization: options.auth ?? `Bearer ${server.partnerToken}, User ${server.userToken}` },
    body: options.body === undefined ? null : JSON.stringify(options.body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as { success: boolean; data: unknown; meta: Record<string, unknown> }) };
}

const record = (datetime: string, extra: Record<string, unknown> = {}) => ({ phone: '79163779444', fullname: 'Anna', api_id: 'same', appointments: [{ id: 1, services: [331], staff_id: 6544, datetime }], ...extra });

describe('the local YClients server', () => {
  it('enforces 5 requests a second per token, answers 429 with Retry-After, and counts every violation', async () => {
    const server = await listeningYClients(cleanups);
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(server, 'GET', '/book_services/4564')));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(5);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused).toHaveLength(3);
    expect(Number(refused[0]?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(server.violations).toHaveLength(3);
    expect(server.violations.every((violation) => violation.window === 'second' && violation.token === server.partnerToken && violation.endpoint === 'book_services')).toBe(true);
    // Another token has a window of its own.
    expect((await call(server, 'GET', '/book_services/4564', { auth: 'Bearer someone-else' })).status).toBe(401);
    expect(server.violations).toHaveLength(3);
  });

  it('enforces the per-minute limit the same way', async () => {
    const server = await listeningYClients(cleanups, { perSecond: 100, perMinute: 3 });
    const statuses = [];
    for (let index = 0; index < 4; index++) statuses.push((await call(server, 'GET', '/book_staff/4564')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(server.violations).toMatchObject([{ window: 'minute' }]);
  });

  it('checks the Accept and Authorization headers, and keeps the user-level endpoints for a user token', async () => {
    const server = await listeningYClients(cleanups);
    expect((await call(server, 'GET', '/book_services/4564', { accept: 'application/json' })).status).toBe(400);
    expect((await call(server, 'GET', '/book_services/4564', { auth: 'Bearer wrong' })).body?.meta.message).toBe('Authentication needed.');
    expect((await call(server, 'GET', `/records/4564?start_date=${DAY}`, { auth: `Bearer ${server.partnerToken}` })).status).toBe(401);
    expect((await call(server, 'GET', `/records/4564?start_date=${DAY}`, { auth: `Bearer ${server.partnerToken}, User wrong` })).status).toBe(403);
    expect((await call(server, 'GET', `/records/4564?start_date=${DAY}`)).status).toBe(200);
    expect(server.requests.map((request) => request.status)).toEqual([400, 401, 401, 403, 200]);
    expect(server.requests[0]).toMatchObject({ method: 'GET', path: '/api/v1/book_services/4564', endpoint: 'book_services', accept: 'application/json' });
  });

  it('computes free times from the schedule and the records, and books "any master" (0) onto a free one', async () => {
    const server = await listeningYClients(cleanups, { perSecond: 100 });
    const before = await call(server, 'GET', `/book_times/4564/6544/${DAY}?service_ids[]=331`);
    const times = (before.body?.data as { time: string }[]).map((time) => time.time);
    expect(times[0]).toBe('10:00');
    expect(times.at(-1)).toBe('19:00');
    expect((await call(server, 'POST', '/book_record/4564', { body: record(`${DAY}T18:00:00+03:00`) })).status).toBe(201);
    const after = (await call(server, 'GET', `/book_times/4564/6544/${DAY}?service_ids[]=331`)).body?.data as { time: string }[];
    // A one-hour record at 18:00 takes 17:30 and 18:30 too (a one-hour seance there would overlap it).
    expect(times.filter((time) => !after.some((free) => free.time === time))).toEqual(['17:30', '18:00', '18:30']);
    // The same instant given in UTC is the same taken slot.
    expect((await call(server, 'POST', '/book_check/4564', { body: { appointments: [{ id: 1, services: [331], staff_id: 6544, datetime: `${DAY}T15:00:00Z` }] } })).body?.meta.errors).toMatchObject([{ code: 433 }]);
    const anyMaster = await call(server, 'POST', '/book_record/4564', { body: record(`${DAY}T18:00:00+03:00`, { appointments: [{ id: 1, services: [331], staff_id: 0, datetime: `${DAY}T18:00:00+03:00` }] }) });
    expect(anyMaster.status).toBe(201);
    expect(server.liveRecords().map((booked) => booked.staff_id)).toEqual([6544, 6545]);
    const nobody = await call(server, 'POST', '/book_check/4564', { body: { appointments: [{ id: 1, services: [331], staff_id: 0, datetime: `${DAY}T18:00:00+03:00` }] } });
    expect(nobody.body?.meta.errors).toMatchObject([{ code: 436 }]);
  });

  it('does not dedupe api_id, as YClients does not: a repeated request books again', async () => {
    const server = await listeningYClients(cleanups);
    expect((await call(server, 'POST', '/book_record/4564', { body: record(`${DAY}T12:00:00+03:00`) })).status).toBe(201);
    expect((await call(server, 'POST', '/book_record/4564', { body: record(`${DAY}T14:00:00+03:00`) })).status).toBe(201);
    expect(server.liveRecords().map((booked) => booked.api_id)).toEqual(['same', 'same']);
  });

  it('answers YClients\' codes: 431 bad phone, 435 no name, 403/434 blacklist, 422 no services, 404 for an unknown company or path', async () => {
    const server = await listeningYClients(cleanups, { perSecond: 100 });
    const codeOf = async (body: unknown) => {
      const answer = await call(server, 'POST', '/book_record/4564', { body });
      return [answer.status, (answer.body?.meta.errors as { code: number }[] | undefined)?.[0]?.code];
    };
    expect(await codeOf(record(`${DAY}T12:00:00+03:00`, { phone: '12' }))).toEqual([422, 431]);
    expect(await codeOf(record(`${DAY}T12:00:00+03:00`, { fullname: '' }))).toEqual([422, 435]);
    expect(await codeOf(record(`${DAY}T12:00:00+03:00`, { phone: '79990000000' }))).toEqual([403, 434]);
    expect(await codeOf(record(`${DAY}T12:00:00+03:00`, { appointments: [{ id: 1, services: [], staff_id: 6544, datetime: `${DAY}T12:00:00+03:00` }] }))).toEqual([422, 422]);
    expect(await codeOf(record(`${DAY}T12:15:00+03:00`))).toEqual([422, 433]);
    expect((await call(server, 'GET', '/book_services/999')).status).toBe(404);
    expect((await call(server, 'GET', '/no_such_thing/4564')).status).toBe(404);
    expect(server.records).toHaveLength(0);
  });

  it('can be slow, and carry a booking out without answering', async () => {
    const server = await listeningYClients(cleanups);
    server.setLatency(200, 'book_services');
    const started = Date.now();
    expect((await call(server, 'GET', '/book_services/4564')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    server.loseAnswerNext('book_record');
    const controller = new AbortController();
    const pending = request(`${server.url}/book_record/4564`, { method: 'POST', signal: controller.signal, headers: { accept: V2, 'content-type': 'application/json', authorization: `Bearer ${server.partnerToken}` }, body: JSON.stringify(record(`${DAY}T12:00:00+03:00`)) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.liveRecords()).toHaveLength(1);
    expect(server.requests.at(-1)?.status).toBe('hang');
    controller.abort();
    await expect(pending).rejects.toThrow();
  });
});
