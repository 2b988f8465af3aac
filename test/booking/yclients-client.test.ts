import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedRecordRequest } from '../../actors/booking/booking-api.js';
import { BookingError, type BookingErrorCode } from '../../actors/booking/booking-errors.js';
import { YClientsClient, type YClientsClientOptions, type YClientsOperation } from '../../actors/booking/yclients-client.js';
import { captureLogger } from '../support/logger.js';
import { freePort } from '../support/net.js';
import { listeningYClients, type YClientsAnswer, type YClientsServer, type YClientsServerOptions } from '../support/yclients-server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const DAY = '2026-12-03';
const at = (time: string) => `${DAY}T${time}:00+03:00`;

/** A server that does not rate-limit (these tests are about answers; the limit has its own file), and a client on it logging at trace. */
async function setup(options: { server?: YClientsServerOptions; client?: Partial<YClientsClientOptions> } = {}) {
  const server = await listeningYClients(cleanups, { perSecond: 100_000, perMinute: 1_000_000, ...options.server });
  const log = captureLogger('trace');
  const client = new YClientsClient({ baseUrl: server.url, partnerToken: server.partnerToken, userToken: server.userToken, companyId: 4564, timeoutMs: 2_000, logger: log.logger, ...options.client });
  cleanups.push(() => client.close());
  return { server, client, log };
}

function booking(overrides: Partial<ResolvedRecordRequest> = {}): ResolvedRecordRequest {
  return { phone: '+7 916 377-94-44', fullname: 'Anna', email: 'anna@example.com', comment: 'first visit', api_id: 'batch-1:0', appointments: [{ id: 1, services: [331], staff_id: 6544, datetime: at('18:00') }], ...overrides };
}

/** The BookingError a call rejects with. */
async function failure(call: Promise<unknown>): Promise<BookingError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a BookingError, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(BookingError);
  return outcome.error as BookingError;
}

describe('YClientsClient against the local YClients server', () => {
  it('reads services, staff, dates and free times, unpacking the envelope', async () => {
    const { client } = await setup();
    const services = await client.bookServices({});
    expect(services.map((service) => service.id)).toEqual([331, 332, 333]);
    expect(services[0]).toEqual({ id: 331, title: 'Haircut', price_min: 1500, price_max: 2500 });
    // With a master, YClients adds each service's length.
    expect(await client.bookServices({ staff_id: 6545 })).toEqual([
      { id: 331, title: 'Haircut', price_min: 1500, price_max: 2500, seance_length: 3600 },
      { id: 333, title: 'Manicure', price_min: 1200, price_max: 1200, seance_length: 1800 },
    ]);

    // book_staff sends ids as strings; they come out as numbers.
    const staff = await client.bookStaff({ service_ids: [331] });
    expect(staff).toEqual([
      { id: 6544, name: 'Irina', specialization: 'stylist', bookable: true },
      { id: 6545, name: 'Olga', specialization: 'stylist, manicure', bookable: true },
      { id: 6546, name: 'Pavel', specialization: 'trainee', bookable: false },
    ]);
    expect((await client.bookStaff({ service_ids: [333], datetime: at('10:00') })).map((master) => master.id)).toEqual([6545]);

    const dates = await client.bookDates({ service_ids: [331], staff_id: 6544 });
    expect(dates.booking_dates).toContain(DAY);
    expect(dates.working_dates).toHaveLength(7);
    expect((await client.bookDates({ staff_id: 'any' })).booking_dates).toHaveLength(7);

    const times = await client.bookTimes({ staff_id: 6544, date: DAY, service_ids: [331] });
    expect(times[0]).toEqual({ time: '10:00', seance_length: 3600, datetime: at('10:00') });
    expect(times.map((time) => time.time)).toContain('18:00');
  });

  it('sends the documented headers to the base URL\'s path, with service_ids[] and the datetime\'s offset intact', async () => {
    const { server, client } = await setup();
    await client.bookStaff({ service_ids: [331, 332], datetime: at('18:00') });
    const [call] = server.requests;
    expect(call).toMatchObject({ method: 'GET', path: '/api/v1/book_staff/4564', accept: 'application/vnd.yclients.v2+json', contentType: 'application/json', token: server.partnerToken, userToken: server.userToken, status: 200 });
    const query = new URLSearchParams(call?.query);
    expect(query.getAll('service_ids[]')).toEqual(['331', '332']);
    expect(query.get('datetime')).toBe(at('18:00'));

    // Without a user token the partner token goes alone (the online-booking calls need no more).
    const partnerOnly = new YClientsClient({ baseUrl: server.url, partnerToken: server.partnerToken, companyId: 4564, timeoutMs: 2_000 });
    cleanups.push(() => partnerOnly.close());
    await partnerOnly.bookTimes({ staff_id: 6544, date: DAY });
    expect(server.requests.at(-1)).toMatchObject({ path: `/api/v1/book_times/4564/6544/${DAY}`, token: server.partnerToken, userToken: undefined, status: 200 });
    // ... and the calls that need a user are refused as a credentials problem.
    const refused = await failure(partnerOnly.findRecords({ date: DAY }));
    expect(refused).toMatchObject({ code: 'WAR_ERR_BOOKING_CREDENTIALS', statusCode: 502, kind: 'credentials', yclientsStatus: 401 });
  });

  it('checks, books (201, api_id kept), finds the record by api_id or by client, staff and time, moves it and cancels it', async () => {
    const { server, client } = await setup();
    await expect(client.bookCheck({ appointments: booking().appointments })).resolves.toBeUndefined();
    expect(server.records).toHaveLength(0);

    const created = await client.bookRecord(booking());
    expect(created).toEqual([{ id: 1, record_id: expect.any(Number), record_hash: expect.stringMatching(/^[0-9a-f]{32}$/) }]);
    expect(server.requests.at(-1)?.status).toBe(201);
    expect(server.requests.at(-1)?.body).toEqual({ phone: '79163779444', fullname: 'Anna', email: 'anna@example.com', comment: 'first visit', api_id: 'batch-1:0', appointments: [{ id: 1, services: [331], staff_id: 6544, datetime: at('18:00') }] });
    expect(server.liveRecords()).toMatchObject([{ id: created[0]?.record_id, staff_id: 6544, datetime: at('18:00'), api_id: 'batch-1:0' }]);
    expect((await client.bookTimes({ staff_id: 6544, date: DAY, service_ids: [331] })).map((time) => time.time)).not.toContain('18:00');

    const found = await client.findRecordsByApiId({ api_id: 'batch-1:0', datetime: at('18:00') });
    expect(found).toEqual([
      {
        record_id: created[0]?.record_id,
        staff_id: 6544,
        services: [331],
        datetime: at('18:00'),
        seance_length: 3600,
        api_id: 'batch-1:0',
        client: { id: expect.any(Number), name: 'Anna', phone: '+79163779444' },
        comment: 'first visit',
        deleted: false,
      },
    ]);
    expect(await client.findRecordsByApiId({ api_id: 'batch-2:0', date: DAY })).toEqual([]);
    // Without an api_id: the same client with the same master at the same instant (given in another offset).
    expect(await client.findRecords({ date: DAY, staff_id: 6544, phone: '79163779444', datetime: `${DAY}T15:00:00Z` })).toHaveLength(1);
    expect(await client.findRecords({ date: DAY, staff_id: 6545, phone: '79163779444' })).toEqual([]);

    const moved = await client.reschedule({ record_id: created[0]?.record_id as number, datetime: at('12:00'), comment: 'moved' });
    expect(moved).toEqual({ record_id: created[0]?.record_id, datetime: at('12:00') });
    expect(server.liveRecords()[0]).toMatchObject({ datetime: at('12:00'), comment: 'moved' });

    await expect(client.cancel({ record_id: created[0]?.record_id as number })).resolves.toBeUndefined();
    expect(server.requests.at(-1)?.status).toBe(204);
    expect(server.liveRecords()).toEqual([]);
    const again = await failure(client.cancel({ record_id: created[0]?.record_id as number }));
    expect(again).toMatchObject({ code: 'WAR_ERR_BOOKING_NOT_FOUND', statusCode: 404, kind: 'not_found', yclientsStatus: 404 });
  });

  it('finds a client by phone however the phone is written, and only that phone', async () => {
    const { server, client } = await setup();
    expect(await client.findClient({ phone: '79163779444' })).toBeUndefined();
    await client.bookRecord(booking());
    await client.bookRecord(booking({ phone: '79163779400', fullname: 'Boris', api_id: 'batch-2:0', appointments: [{ id: 1, services: [331], staff_id: 6545, datetime: at('18:00') }] }));
    expect(await client.findClient({ phone: '+7 (916) 377-94-44' })).toEqual({ id: expect.any(Number), name: 'Anna', phone: '79163779444' });
    expect(server.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/company/4564/clients/search' });
    expect(await client.findClient({ phone: '79163779' + '999' })).toBeUndefined();
  });

  it('pages through a day\'s records, each page one request past the beforeRequest hook', async () => {
    const seen: YClientsOperation[] = [];
    const { server, client } = await setup({ client: { beforeRequest: async (operation) => void seen.push(operation) } });
    await client.bookRecord(booking());
    // 250 more records of other masters that day, straight into the salon.
    const template = server.records[0];
    if (!template) throw new Error('no record');
    for (let index = 0; index < 250; index++) server.records.push({ ...template, id: 9_000_000 + index, staff_id: 6545, datetime: at('10:00'), api_id: `other-${index}` });
    const found = await client.findRecordsByApiId({ api_id: 'other-249', date: DAY });
    expect(found.map((record) => record.record_id)).toEqual([9_000_249]);
    expect(seen).toEqual(['book_record', 'records', 'records']);
    expect(server.requests.filter((call) => call.endpoint === 'records').map((call) => new URLSearchParams(call.query).get('page'))).toEqual(['1', '2']);
  });

  it('tells the hook\'s departure function once per request, as undici writes it and before the server has it', async () => {
    const events: string[] = [];
    let server: YClientsServer | undefined;
    const { server: started, client } = await setup({
      client: {
        beforeRequest: async (operation) => {
          events.push(`let go ${operation}`);
          return () => events.push(`left ${operation}, server had ${server?.requests.length ?? -1}`);
        },
      },
    });
    server = started;
    await client.bookRecord(booking());
    await client.findRecordsByApiId({ api_id: 'batch-1:0', date: DAY });
    expect(events).toEqual(['let go book_record', 'left book_record, server had 0', 'let go records', 'left records, server had 1']);
  });

  describe('refusals become typed errors with stable codes', () => {
    it('433 slot taken, 437 overlapping, 438 service unavailable, 434 blacklisted, 432 wrong SMS code, from the salon itself', async () => {
      const { client } = await setup();
      await client.bookRecord(booking());

      const taken = await failure(client.bookRecord(booking({ phone: '79160000001', api_id: 'batch-2:0' })));
      expect(taken).toMatchObject({ code: 'WAR_ERR_BOOKING_SLOT_TAKEN', statusCode: 409, kind: 'rejected', yclientsCode: 433, yclientsStatus: 422, appointmentId: 1, ambiguous: false, retryable: false, operation: 'book_record' });
      expect(taken.message).toMatch(/^YClients answered book_record with 422 \(code 433\): .*taken/);
      expect((await failure(client.bookCheck({ appointments: booking().appointments }))).code).toBe('WAR_ERR_BOOKING_SLOT_TAKEN');

      const overlapping = await failure(
        client.bookCheck({
          appointments: [
            { id: 1, services: [331], staff_id: 6544, datetime: at('12:00') },
            { id: 2, services: [332], staff_id: 6544, datetime: at('12:30') },
          ],
        }),
      );
      expect(overlapping).toMatchObject({ code: 'WAR_ERR_BOOKING_OVERLAP', statusCode: 409, yclientsCode: 437, appointmentId: 2 });

      const unavailable = await failure(client.bookCheck({ appointments: [{ id: 1, services: [333], staff_id: 6544, datetime: at('12:00') }] }));
      expect(unavailable).toMatchObject({ code: 'WAR_ERR_BOOKING_SERVICE_UNAVAILABLE', statusCode: 422, yclientsCode: 438 });

      // YClients answers a blacklisted phone with HTTP 403: the code says it is not our credentials.
      const blacklisted = await failure(client.bookRecord(booking({ phone: '79990000000', appointments: [{ id: 1, services: [331], staff_id: 6545, datetime: at('12:00') }] })));
      expect(blacklisted).toMatchObject({ code: 'WAR_ERR_BOOKING_BLACKLISTED', statusCode: 422, kind: 'rejected', yclientsCode: 434, yclientsStatus: 403 });

      const sms = await failure(client.bookRecord(booking({ company_id: 4565, code: '11111', appointments: [{ id: 1, services: [441], staff_id: 7001, datetime: at('12:00') }] })));
      expect(sms).toMatchObject({ code: 'WAR_ERR_BOOKING_SMS_CODE', statusCode: 422, yclientsCode: 432 });
      await expect(client.bookRecord(booking({ company_id: 4565, code: '38829', appointments: [{ id: 1, services: [441], staff_id: 7001, datetime: at('12:00') }] }))).resolves.toHaveLength(1);
    });

    it.each<[string, YClientsAnswer, BookingErrorCode, number]>([
      ['436 no master', { kind: 'error', status: 422, code: 436, message: 'No masters available' }, 'WAR_ERR_BOOKING_NO_MASTER', 409],
      ['431 bad phone', { kind: 'error', status: 422, code: 431, message: 'Wrong phone format' }, 'WAR_ERR_BOOKING_BAD_PHONE', 422],
      ['435 name missing', { kind: 'error', status: 422, code: 435, message: 'Name missing' }, 'WAR_ERR_BOOKING_NAME_MISSING', 422],
      ['403 without a code', { kind: 'error', status: 403, message: 'Access denied.' }, 'WAR_ERR_BOOKING_CREDENTIALS', 502],
      ['402 license', { kind: 'error', status: 402, message: 'The licence of company 4564 must be renewed' }, 'WAR_ERR_BOOKING_REJECTED', 502],
      ['422 other code', { kind: 'error', status: 422, code: 422, message: 'No services or promotions set' }, 'WAR_ERR_BOOKING_REJECTED', 502],
    ])('%s', async (_label, answer, code, statusCode) => {
      const { server, client } = await setup();
      server.answerNext('book_record', 1, answer);
      const error = await failure(client.bookRecord(booking()));
      expect(error).toMatchObject({ code, statusCode, yclientsStatus: answer.kind === 'error' ? answer.status : undefined, ambiguous: false, retryable: false });
      if (answer.kind === 'error') expect(error.message).toContain(answer.message);
      if (answer.kind === 'error' && answer.code !== undefined) expect(error.yclientsCode).toBe(answer.code);
    });

    it('401 on a wrong partner token, 404 for an unknown company', async () => {
      const { server, client } = await setup({ client: { partnerToken: 'revoked-partner-token' } });
      const credentials = await failure(client.bookServices({}));
      expect(credentials).toMatchObject({ code: 'WAR_ERR_BOOKING_CREDENTIALS', statusCode: 502, kind: 'credentials', yclientsStatus: 401 });
      expect(server.requests[0]?.status).toBe(401);

      const { client: right } = await setup();
      const missing = await failure(right.bookServices({ company_id: 999 }));
      expect(missing).toMatchObject({ code: 'WAR_ERR_BOOKING_NOT_FOUND', statusCode: 404, kind: 'not_found', yclientsStatus: 404 });
      expect(missing.message).toContain('Branch not found');
    });

    it('5xx: retryable; ambiguous on a write (it may have been done), not on a read; Retry-After kept', async () => {
      const { server, client } = await setup();
      server.failNext('book_times', 1, 500);
      const read = await failure(client.bookTimes({ staff_id: 6544, date: DAY }));
      expect(read).toMatchObject({ code: 'WAR_ERR_BOOKING_UPSTREAM_ERROR', statusCode: 502, kind: 'unavailable', retryable: true, ambiguous: false, yclientsStatus: 500 });

      server.answerNext('book_record', 1, { kind: 'error', status: 503, message: 'Service Unavailable', retryAfterS: 7 });
      const write = await failure(client.bookRecord(booking()));
      expect(write).toMatchObject({ code: 'WAR_ERR_BOOKING_UPSTREAM_ERROR', retryable: true, ambiguous: true, yclientsStatus: 503, retryAfterMs: 7_000 });

      // A proxy's HTML page in front of YClients: the status still says what happened.
      server.answerNext('book_services', 1, { kind: 'raw', status: 502, body: '<html><body>502 Bad Gateway</body></html>', contentType: 'text/html' });
      const page = await failure(client.bookServices({}));
      expect(page).toMatchObject({ code: 'WAR_ERR_BOOKING_UPSTREAM_ERROR', yclientsStatus: 502 });
      expect(page.message).toMatch(/not JSON/);
    });

    it('429 with Retry-After: 2 is rate_limited, retryable, and says to wait 2 s', async () => {
      const { server, client } = await setup();
      server.rateLimitNext(2, 1, 'book_times');
      const error = await failure(client.bookTimes({ staff_id: 6544, date: DAY }));
      expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_RATE_LIMITED', statusCode: 503, kind: 'rate_limited', retryable: true, retryAfterMs: 2_000, yclientsStatus: 429 });
    });
  });

  describe('no answer', () => {
    it('a hang times out after timeoutMs as unavailable and retryable; on a read it is not ambiguous', async () => {
      const { server, client } = await setup({ client: { timeoutMs: 300 } });
      server.hangNext('book_times');
      const started = Date.now();
      const error = await failure(client.bookTimes({ staff_id: 6544, date: DAY }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_UNAVAILABLE', statusCode: 503, kind: 'unavailable', retryable: true, ambiguous: false, transportCode: 'UND_ERR_HEADERS_TIMEOUT' });
      expect(error.message).toBe('YClients did not answer to book_times within 300 ms (UND_ERR_HEADERS_TIMEOUT)');
      // The pool is fine afterwards.
      await expect(client.bookTimes({ staff_id: 6544, date: DAY })).resolves.not.toHaveLength(0);
    });

    it('a booking carried out but never answered is ambiguous, and the lookup finds exactly the one record', async () => {
      const { server, client } = await setup({ client: { timeoutMs: 300 } });
      server.loseAnswerNext('book_record');
      const error = await failure(client.bookRecord(booking()));
      expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_UNAVAILABLE', ambiguous: true, retryable: true, operation: 'book_record' });
      expect(server.liveRecords()).toHaveLength(1);
      const found = await client.findRecordsByApiId({ api_id: 'batch-1:0', datetime: at('18:00') });
      expect(found.map((record) => record.record_id)).toEqual([server.liveRecords()[0]?.id]);
    });

    it('a refused connection is unavailable but not ambiguous, even for a write: nothing was sent', async () => {
      const port = await freePort();
      const client = new YClientsClient({ baseUrl: `http://127.0.0.1:${port}/api/v1`, partnerToken: 'p'.repeat(24), companyId: 4564, timeoutMs: 1_000 });
      cleanups.push(() => client.close());
      const error = await failure(client.bookRecord(booking()));
      expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_UNAVAILABLE', retryable: true, ambiguous: false, transportCode: 'ECONNREFUSED' });
      expect(error.message).toMatch(/^YClients could not be reached for book_record/);
    });

    it('the caller\'s AbortSignal ends a request (ambiguous for a write); an aborted one is never sent', async () => {
      const { server, client } = await setup();
      server.hangNext('book_record');
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const aborted = await failure(client.bookRecord(booking(), controller.signal));
      expect(aborted).toMatchObject({ code: 'WAR_ERR_BOOKING_ABORTED', kind: 'aborted', ambiguous: true, retryable: false });

      const before = server.requests.length;
      const early = await failure(client.bookTimes({ staff_id: 6544, date: DAY }, AbortSignal.abort()));
      expect(early).toMatchObject({ code: 'WAR_ERR_BOOKING_ABORTED', ambiguous: false });
      expect(server.requests).toHaveLength(before);
    });

    it('a closed client sends nothing', async () => {
      const { server, client } = await setup();
      await client.close();
      const error = await failure(client.bookServices({}));
      expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_UNAVAILABLE', retryable: false, ambiguous: false });
      expect(server.requests).toHaveLength(0);
    });
  });

  describe('a malformed answer is WAR_ERR_BOOKING_BAD_ANSWER, never a crash or an undefined', () => {
    const cases: [string, YClientsOperation, string, number, RegExp][] = [
      ['not JSON', 'book_times', 'Internal error, try later', 200, /is not JSON/],
      ['JSON null', 'book_times', 'null', 200, /envelope/],
      ['no envelope', 'book_times', '[{"time":"10:00"}]', 200, /envelope/],
      ['data not a list', 'book_times', '{"success":true,"data":{"time":"10:00"},"meta":[]}', 200, /data of type object, not a list/],
      ['a time without its datetime', 'book_times', '{"success":true,"data":[{"time":"10:00","seance_length":3600}],"meta":[]}', 200, /data\[0\]\.datetime missing/],
      ['a datetime without its offset', 'book_times', '{"success":true,"data":[{"time":"10:00","seance_length":3600,"datetime":"2026-12-03T10:00:00"}],"meta":[]}', 200, /data\[0\]\.datetime/],
      ['a master id that is not a number', 'book_staff', '{"success":true,"data":[{"id":"sixteen","name":"Irina","bookable":true}],"meta":[]}', 200, /data\[0\]\.id/],
      ['a service without its title', 'book_services', '{"success":true,"data":{"services":[{"id":331}]},"meta":[]}', 200, /data\.services\[0\]\.title missing/],
      ['no booking_dates', 'book_dates', '{"success":true,"data":{},"meta":[]}', 200, /data\.booking_dates missing/],
    ];

    it.each(cases)('%s', async (_label, endpoint, body, status, problem) => {
      const { server, client } = await setup();
      server.answerNext(endpoint, 1, { kind: 'raw', status, body });
      const calls: Record<string, () => Promise<unknown>> = {
        book_times: () => client.bookTimes({ staff_id: 6544, date: DAY }),
        book_staff: () => client.bookStaff({}),
        book_services: () => client.bookServices({}),
        book_dates: () => client.bookDates({}),
      };
      const error = await failure((calls[endpoint] as () => Promise<unknown>)());
      expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_BAD_ANSWER', statusCode: 502, kind: 'bad_answer', ambiguous: false, operation: endpoint });
      expect(error.message).toMatch(problem);
    });

    it('a book_record answer without a record per appointment: bad, and ambiguous (the 201 says it was probably done)', async () => {
      const { server, client } = await setup();
      server.answerNext('book_record', 1, { kind: 'raw', status: 201, body: '{"success":true,"data":[],"meta":[]}' });
      const error = await failure(client.bookRecord(booking()));
      expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_BAD_ANSWER', ambiguous: true });
      expect(error.message).toMatch(/0 record\(s\) for 1 appointment\(s\) \(none for appointment 1\)/);
    });
  });

  it('refuses staff_id "last", 0, -1, "12a" or missing, naming the field, before any request', async () => {
    const { server, client } = await setup();
    const bad: unknown[] = ['last', 0, -1, '12a', undefined];
    for (const staffId of bad) {
      const appointment: Record<string, unknown> = { id: 0, services: [331], datetime: at('18:00') };
      if (staffId !== undefined) appointment.staff_id = staffId;
      const second = { id: 1, services: [331], staff_id: 6545, datetime: at('18:00') };
      const request = { ...booking(), appointments: [second, appointment] } as unknown as ResolvedRecordRequest;
      for (const call of [client.bookRecord(request), client.bookCheck(request)]) {
        const error = await failure(call);
        expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_INVALID', statusCode: 400, kind: 'validation', field: 'appointments[1].staff_id' });
        expect(error.message).toMatch(staffId === undefined ? /^appointments\[1\]\.staff_id is missing/ : /^appointments\[1\]\.staff_id must be a positive integer or "any", got /);
      }
      const times = await failure(client.bookTimes({ staff_id: staffId, date: DAY } as unknown as Parameters<YClientsClient['bookTimes']>[0]));
      expect(times.field).toBe('staff_id');
    }
    const moved = await failure(client.reschedule({ record_id: 1, datetime: at('12:00'), staff_id: 6545 }));
    expect(moved.field).toBe('staff_id');
    expect(server.requests).toHaveLength(0);
  });

  it('a positional call does not compile, and is refused at run time as well', async () => {
    const { server, client } = await setup();
    // @ts-expect-error -- the old getAvailableSlots(staff, date, serviceId, company) mix-up cannot be written: one parameter object
    const call = client.bookTimes(1, 2, '2026-12-03');
    const error = await failure(call);
    expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_INVALID', field: 'request' });
    expect(server.requests).toHaveLength(0);
  });

  it('never puts a token in an error or a log line, even when YClients echoes them', async () => {
    const { server, client, log } = await setup({ client: { timeoutMs: 300 } });
    const tokens = [server.partnerToken, server.userToken];
    const echo = `Authorization: Bearer ${server.partnerToken}, User ${server.userToken} is not allowed here`;
    server.answerNext('book_record', 1, { kind: 'error', status: 422, code: 433, message: echo });
    server.answerNext('book_times', 1, { kind: 'error', status: 500, message: echo });
    server.answerNext('book_staff', 1, { kind: 'raw', status: 400, body: JSON.stringify({ success: false, data: null, meta: { message: echo, errors: { staff: [server.userToken] } } }) });
    server.hangNext('book_services');
    server.answerNext('book_dates', 1, { kind: 'raw', status: 200, body: echo });
    const errors = [
      await failure(client.bookRecord(booking())),
      await failure(client.bookTimes({ staff_id: 6544, date: DAY })),
      await failure(client.bookStaff({})),
      await failure(client.bookServices({})),
      await failure(client.bookDates({})),
      await failure(client.bookTimes({ staff_id: 'last' } as unknown as Parameters<YClientsClient['bookTimes']>[0])),
    ];
    await client.bookTimes({ staff_id: 6544, date: DAY });
    expect(errors[0]?.message).toContain('<redacted>');
    const texts = [...errors.flatMap((error) => [error.message, String(error.stack), JSON.stringify(error), JSON.stringify(error.toJSON())]), log.text()];
    expect(log.lines().some((line) => line.includes('"yclients request"'))).toBe(true);
    expect(log.lines().some((line) => line.includes('"yclients request failed"'))).toBe(true);
    for (const text of texts) for (const token of tokens) expect(text).not.toContain(token);
  });
});
