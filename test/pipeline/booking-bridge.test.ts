import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { BookingOperations, RecordRequest, StaffTime } from '../../actors/booking/booking-api.js';
import {
  BOOKING_OPERATIONS,
  BookingCallError,
  bookingOverPort,
  openBookingBridge,
  type BookingAnswer,
} from '../../actors/pipeline/booking-bridge.js';
import { InlineRunner, PiscinaRunner, type BookingOperationsSource } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch, HandlerAction } from '../../actors/pipeline/handler.js';
import { RuntimeError } from '../../src/errors.js';

const handlerModule = fileURLToPath(new URL('../fixtures/booking-handler.ts', import.meta.url));

let batches = 0;
function batch(text: string): FlushedBatch {
  const at = new Date().toISOString();
  batches += 1;
  return { batchId: `b-${batches}`, sessionId: 'default', phone: '79161234567', text, messages: [{ id: `m-${batches}`, text, at }], reason: 'quiet', firstAt: at, lastAt: at, flushedAt: at };
}

const SLOT: StaffTime = { time: '10:00', seance_length: 3600, datetime: '2026-12-10T10:00:00+03:00', staff_id: 12 };

/** The booking side for these tests: a plain object that records every call (the real one is another issue's). */
function fakeBooking() {
  const calls: { operation: string; params: unknown }[] = [];
  const never = new Promise<never>(() => {});
  const services = [{ id: 7, title: 'Haircut' }];
  const record = (operation: string, params: unknown) => calls.push({ operation, params });
  const operations: BookingOperations = {
    async services(query) {
      record('services', query);
      return services;
    },
    async staff(query) {
      record('staff', query);
      return [{ id: 12, name: 'Olga', bookable: true }];
    },
    async dates(query) {
      record('dates', query);
      return { booking_dates: ['2026-12-10'] };
    },
    async times(query) {
      record('times', query);
      if (query.date === 'never') return never;
      return [SLOT];
    },
    async check(request) {
      record('check', request);
    },
    async book(request: RecordRequest) {
      record('book', request);
      if (request.phone === 'never') return never;
      if (request.api_id === undefined) {
        // Shaped as the booking service's errors are: a code of the runtime's table and plain fields.
        throw Object.assign(new Error('YClients 433: the time is taken'), {
          name: 'BookingError',
          code: 'WAR_ERR_BOOKING_SLOT_TAKEN',
          field: 'appointments[0].datetime',
          kind: 'rejected',
          yclientsCode: 433,
          yclientsStatus: 422,
          retryable: false,
          secret: 'never crosses',
        });
      }
      return { api_id: request.api_id, records: [{ id: 0, record_id: 9001, record_hash: 'h' }], existing: false };
    },
    async reschedule(request) {
      record('reschedule', request);
    },
    async cancel(request) {
      record('cancel', request);
    },
    async findClient(query) {
      record('findClient', query);
      return undefined;
    },
  };
  return { operations, calls, services };
}

function replyText(actions: HandlerAction[]): string {
  const [action] = actions;
  if (action?.type !== 'reply') throw new Error(`expected one reply, got ${JSON.stringify(actions)}`);
  return action.text;
}

const openPorts = () => process.getActiveResourcesInfo().filter((resource) => resource === 'MessagePort').length;

async function settledPorts(expected: number): Promise<number> {
  // A closed port leaves the active list when its close has been processed, a turn or two later.
  for (let i = 0; i < 50 && openPorts() !== expected; i++) await sleep(10);
  return openPorts();
}

const runners: PiscinaRunner[] = [];
function piscina(bookingOperations?: BookingOperationsSource): PiscinaRunner {
  const runner = new PiscinaRunner({ handlerModule, webhookUrl: undefined, concurrency: 1, bookingOperations });
  runners.push(runner);
  return runner;
}
afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.close()));
});

describe('context.booking across the thread boundary (PiscinaRunner)', () => {
  const fake = fakeBooking();
  const runner = piscina(() => fake.operations);

  it('a handler looks up free times and books within one batch, and replies with the result', async () => {
    const b = batch('book');
    const text = replyText(await runner.run(b, 1, 10_000));
    expect(text).toBe(`booked record 9001 with master 12 at ${SLOT.datetime} (api_id ${b.batchId}:0)`);
    const mine = fake.calls.slice(-2);
    expect(mine).toEqual([
      { operation: 'times', params: { staff_id: 'any', date: '2026-12-10', service_ids: [7] } },
      { operation: 'book', params: { phone: b.phone, fullname: 'Anna', api_id: `${b.batchId}:0`, appointments: [{ id: 0, services: [7], staff_id: 12, datetime: SLOT.datetime }] } },
    ]);
  });

  it('an error thrown on the main side reaches the handler as an Error with its code and fields, and nothing else', async () => {
    const fields = JSON.parse(replyText(await runner.run(batch('refused'), 1, 10_000))) as Record<string, unknown>;
    expect(fields).toEqual({
      isError: true,
      name: 'BookingError',
      code: 'WAR_ERR_BOOKING_SLOT_TAKEN',
      message: 'YClients 433: the time is taken',
      field: 'appointments[0].datetime',
      kind: 'rejected',
      yclientsCode: 433,
      yclientsStatus: 422,
      retryable: false,
    });
    expect(JSON.stringify(fields)).not.toContain('never crosses');
  });

  it('a call that is never answered rejects within the handler time, early enough for the handler to answer', async () => {
    const started = Date.now();
    const fields = JSON.parse(replyText(await runner.run(batch('hang'), 1, 1_500))) as { code: string; kind: string; retryable: boolean; ambiguous: boolean; elapsedMs: number };
    const tookMs = Date.now() - started;
    expect(fields).toMatchObject({ code: 'WAR_ERR_BOOKING_UNAVAILABLE', kind: 'unavailable', retryable: true, ambiguous: false });
    // 1,500 ms less the reserve (a tenth of it): the handler had the last 150 ms to answer.
    expect(fields.elapsedMs).toBeGreaterThanOrEqual(1_200);
    expect(tookMs).toBeLessThan(1_500);
  });

  it('an unanswered record the handler does not catch fails the batch with the booking code, not a handler timeout', async () => {
    const started = Date.now();
    const failure = await runner.run(batch('hang-book'), 1, 1_000).then(
      () => undefined,
      (error: unknown) => error as Error & { code?: string },
    );
    expect(failure?.code).toBe('WAR_ERR_BOOKING_UNAVAILABLE');
    expect(failure?.message).toMatch(/^booking\.book: no answer within \d+ ms/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('no port stays open after 200 tasks, on the main thread or in the worker', async () => {
    expect(replyText(await runner.run(batch('ports'), 1, 10_000))).toMatch(/^\d+$/);
    const mainBefore = await settledPorts(openPorts());
    const workerBefore = replyText(await runner.run(batch('ports'), 1, 10_000));
    const texts = await Promise.all(Array.from({ length: 200 }, () => runner.run(batch('book'), 1, 30_000).then(replyText)));
    expect(texts.every((text) => text.startsWith('booked record 9001'))).toBe(true);
    expect(await settledPorts(mainBefore)).toBe(mainBefore);
    expect(replyText(await runner.run(batch('ports'), 1, 10_000))).toBe(workerBefore);
  });
});

describe('without a booking actor, context.booking is present and refuses clearly', () => {
  it('a runner whose source answers undefined: WAR_ERR_BOOKING_DISABLED', async () => {
    const fields = JSON.parse(replyText(await piscina(() => undefined).run(batch('services'), 1, 10_000))) as Record<string, unknown>;
    expect(fields).toMatchObject({ isError: true, code: 'WAR_ERR_BOOKING_DISABLED' });
    expect(fields.message).toMatch(/no booking actor runs \(YClients is not configured/);
  });

  it('a runner given no source at all (no channel is opened): the same refusal', async () => {
    const fields = JSON.parse(replyText(await piscina().run(batch('services'), 1, 10_000))) as Record<string, unknown>;
    expect(fields).toMatchObject({ isError: true, code: 'WAR_ERR_BOOKING_DISABLED' });
  });

  it('the InlineRunner without a source: the same refusal', async () => {
    const runner = new InlineRunner(async (_batch, context) => {
      const error = await context.booking?.services({}).catch((e: unknown) => e);
      return [{ type: 'reply', text: `${error instanceof RuntimeError ? error.code : 'not a RuntimeError'}` }];
    });
    expect(replyText(await runner.run(batch('x'), 1, 1_000))).toBe('WAR_ERR_BOOKING_DISABLED');
  });
});

describe('the InlineRunner books with direct calls, the same errors and the same timeout', () => {
  it('times then book; a refusal is a RuntimeError with its code and field; results are copies', async () => {
    const fake = fakeBooking();
    const seen: unknown[] = [];
    const runner = new InlineRunner(
      async (b, context) => {
        const booking = context.booking;
        if (!booking) throw new Error('no booking');
        const services = await booking.services({});
        (services as unknown as { title: string }[])[0]!.title = 'mutated by the handler';
        const [slot] = await booking.times({ staff_id: 'any', date: '2026-12-10' });
        const booked = await booking.book({ phone: b.phone, fullname: 'Anna', api_id: 'a-1', appointments: [{ id: 0, services: [7], staff_id: slot!.staff_id, datetime: slot!.datetime }] });
        seen.push(await booking.book({ phone: b.phone, fullname: 'Anna', appointments: [] }).catch((e: unknown) => e));
        return [{ type: 'reply', text: `booked ${booked.records[0]?.record_id}` }];
      },
      undefined,
      { bookingOperations: () => fake.operations },
    );
    expect(replyText(await runner.run(batch('x'), 1, 5_000))).toBe('booked 9001');
    expect(fake.services[0]?.title).toBe('Haircut');
    const [error] = seen;
    expect(error).toBeInstanceOf(BookingCallError);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_SLOT_TAKEN', field: 'appointments[0].datetime', yclientsCode: 433, bookingOperation: 'book' });
    expect(fake.calls.map((call) => call.operation)).toEqual(['services', 'times', 'book', 'book']);
  });

  it('a call that is never answered rejects before the handler time is up', async () => {
    const fake = fakeBooking();
    const runner = new InlineRunner(
      async (_batch, context) => {
        const error = await context.booking?.book({ phone: 'never', fullname: 'Anna', appointments: [] }).catch((e: unknown) => e);
        return [{ type: 'reply', text: JSON.stringify(error) + ' ' + String((error as RuntimeError).code) }];
      },
      undefined,
      { bookingOperations: () => fake.operations },
    );
    const started = Date.now();
    const text = replyText(await runner.run(batch('x'), 1, 600));
    expect(text).toContain('WAR_ERR_BOOKING_UNAVAILABLE');
    expect(text).toContain('"ambiguous":true');
    expect(Date.now() - started).toBeLessThan(600);
  });
});

describe('the main side of the channel', () => {
  function raw(operations: () => BookingOperations | undefined) {
    const bridge = openBookingBridge(operations);
    const answers = new Map<number, BookingAnswer>();
    bridge.port.on('message', (answer: BookingAnswer) => answers.set(answer.id, answer));
    const answer = async (id: number): Promise<BookingAnswer> => {
      for (let i = 0; i < 200 && !answers.has(id); i++) await sleep(5);
      const found = answers.get(id);
      if (!found) throw new Error(`no answer to ${id}`);
      return found;
    };
    return { bridge, answer };
  }

  it('an unknown operation, or anything but one parameter object, is an error answer; garbage is ignored; the booking object is never touched', async () => {
    const fake = fakeBooking();
    const { bridge, answer } = raw(() => fake.operations);
    try {
      const bad: [string | number | undefined, unknown][] = [
        ['drop', {}],
        ['constructor', {}],
        ['__proto__', {}],
        ['toString', {}],
        [42, {}],
        [undefined, {}],
        ['times', [12, '2026-12-10', 7]],
        ['times', null],
        ['times', 'staff=12'],
        ['times', undefined],
      ];
      bridge.port.postMessage('garbage');
      bridge.port.postMessage({ operation: 'times', params: {} });
      bridge.port.postMessage(null);
      bad.forEach(([operation, params], index) => bridge.port.postMessage({ id: index + 1, operation, params }));
      for (let id = 1; id <= bad.length; id++) {
        const got = await answer(id);
        expect(got.ok, JSON.stringify(bad[id - 1])).toBe(false);
        if (!got.ok) expect(got.error.code).toBe('WAR_ERR_BAD_ARGUMENT');
      }
      const first = await answer(1);
      if (!first.ok) expect(first.error.message).toBe(`no booking operation "drop" (one of ${BOOKING_OPERATIONS.join(', ')})`);
      const positional = await answer(7);
      if (!positional.ok) expect(positional.error.message).toBe('booking.times takes one parameter object, got an array');
      expect(fake.calls).toEqual([]);
      // Still serving after all that.
      bridge.port.postMessage({ id: 100, operation: 'findClient', params: { phone: '79161234567' } });
      expect(await answer(100)).toEqual({ id: 100, ok: true, value: undefined });
    } finally {
      bridge.close();
    }
  });

  it('a foreign error is WAR_ERR_INTERNAL with its message; a result that cannot be cloned is an error answer, not a hang', async () => {
    const fake = fakeBooking();
    const operations: BookingOperations = {
      ...fake.operations,
      async staff() {
        throw new TypeError('cannot read properties of undefined');
      },
      async services() {
        return [{ id: 1, title: 'x', price: () => 1 }] as unknown as Awaited<ReturnType<BookingOperations['services']>>;
      },
    };
    const { bridge, answer } = raw(() => operations);
    try {
      bridge.port.postMessage({ id: 1, operation: 'staff', params: {} });
      bridge.port.postMessage({ id: 2, operation: 'services', params: {} });
      expect(await answer(1)).toEqual({ id: 1, ok: false, error: { code: 'WAR_ERR_INTERNAL', message: 'cannot read properties of undefined', name: 'TypeError' } });
      const uncloneable = await answer(2);
      expect(uncloneable.ok).toBe(false);
      if (!uncloneable.ok) expect(uncloneable.error).toMatchObject({ code: 'WAR_ERR_INTERNAL', message: expect.stringMatching(/^booking\.services answered with a value that cannot cross/) });
    } finally {
      bridge.close();
    }
  });

  it("closing the channel rejects the handler's pending calls; parameters that cannot be sent are refused at once", async () => {
    const fake = fakeBooking();
    const bridge = openBookingBridge(() => fake.operations);
    const client = bookingOverPort(bridge.port, { answerBy: Date.now() + 10_000 });
    const pending = client.booking.times({ staff_id: 12, date: 'never' }).catch((e: unknown) => e);
    const unsendable = await client.booking.staff({ service_ids: [1], extra: () => 1 } as unknown as Parameters<BookingOperations['staff']>[0]).catch((e: unknown) => e);
    expect(unsendable).toMatchObject({ code: 'WAR_ERR_BAD_ARGUMENT' });
    await sleep(20);
    bridge.close();
    expect(await pending).toMatchObject({ code: 'WAR_ERR_BOOKING_UNAVAILABLE', message: 'booking.times: its channel closed before an answer' });
    expect(await client.booking.services({}).catch((e: unknown) => e)).toMatchObject({ code: 'WAR_ERR_BOOKING_UNAVAILABLE' });
    client.close();
  });

  it('10,000 channels opened, used and closed leave no port open', async () => {
    const fake = fakeBooking();
    const before = await settledPorts(openPorts());
    for (let round = 0; round < 100; round++) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const bridge = openBookingBridge(() => fake.operations);
          const client = bookingOverPort(bridge.port);
          try {
            await client.booking.findClient({ phone: '79161234567' });
          } finally {
            client.close();
            bridge.close();
          }
        }),
      );
    }
    expect(fake.calls).toHaveLength(10_000);
    expect(await settledPorts(before)).toBe(before);
  });

  it('a port of another channel is not confused with ours (sanity of the open-port count)', async () => {
    const before = openPorts();
    const { port1, port2 } = new MessageChannel();
    port1.on('message', () => {});
    expect(openPorts()).toBe(before + 1);
    port1.close();
    port2.close();
    expect(await settledPorts(before)).toBe(before);
  });
});
