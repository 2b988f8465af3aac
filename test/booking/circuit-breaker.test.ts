import { describe, expect, it } from 'vitest';
import { BookingError } from '../../actors/booking/booking-errors.js';
import { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from '../../actors/booking/circuit-breaker.js';
import { ManualClock } from '../../src/clock.js';

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** 5xx and anything that is not an HTTP answer (timeouts, connection errors) are failures; 4xx are not. */
const isFailure = (error: unknown): boolean => !(error instanceof HttpError && error.status < 500);

function setup(options: Partial<CircuitBreakerOptions> = {}) {
  const clock = new ManualClock(1_000);
  const changes: [BreakerState, BreakerState][] = [];
  const breaker = new CircuitBreaker({ failures: 5, cooldownMs: 30_000, clock, onChange: (from, to) => changes.push([from, to]), ...options });
  let calls = 0;
  const ok = (): Promise<string> => {
    calls++;
    return Promise.resolve('ok');
  };
  const fail =
    (status?: number) =>
    (): Promise<string> => {
      calls++;
      return Promise.reject(status === undefined ? Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) : new HttpError(status));
    };
  const run = (call: () => Promise<string>): Promise<string | unknown> => breaker.run(call, isFailure).catch((error: unknown) => error);
  return { clock, breaker, changes, ok, fail, run, calls: () => calls };
}

/** A call that settles when told to. */
function deferred(): { call: () => Promise<string>; resolve: (v: string) => void; reject: (e: unknown) => void } {
  let resolve!: (v: string) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { call: () => promise, resolve, reject };
}

describe('CircuitBreaker', () => {
  it('opens after `failures` consecutive failures; a success in between starts the count over', async () => {
    const { breaker, changes, ok, fail, run } = setup();
    for (let i = 0; i < 4; i++) await run(fail(503));
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 4 });
    await run(ok);
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
    for (let i = 0; i < 4; i++) await run(fail());
    expect(breaker.state).toBe('closed');
    await run(fail(500));
    expect(breaker.snapshot()).toMatchObject({ state: 'open', consecutiveFailures: 5, openedAt: 1_000, halfOpenAt: 31_000, opens: 1 });
    expect(changes).toEqual([['closed', 'open']]);
  });

  it('a 4xx counts nothing and resets nothing', async () => {
    const { breaker, fail, run } = setup();
    await run(fail(502));
    await run(fail(502));
    for (let i = 0; i < 10; i++) await run(fail(422));
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
    await run(fail(404));
    await run(fail());
    await run(fail());
    await run(fail(400));
    expect(breaker.state).toBe('closed');
    await run(fail(504));
    expect(breaker.state).toBe('open');
  });

  it('open: fails fast with when it half-opens, without calling', async () => {
    const { clock, breaker, fail, ok, run, calls } = setup();
    for (let i = 0; i < 5; i++) await run(fail(500));
    const before = calls();
    clock.advance(10_000);
    const error = await run(ok);
    expect(calls()).toBe(before);
    expect(error).toBeInstanceOf(BookingError);
    expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_BREAKER_OPEN', statusCode: 503, retryAfterMs: 20_000 });
    await run(ok);
    expect(breaker.snapshot().fastFails).toBe(2);
  });

  it('half-opens after the cool-down and lets exactly one probe through; success closes', async () => {
    const { clock, breaker, changes, fail, ok, run, calls } = setup();
    for (let i = 0; i < 5; i++) await run(fail(500));
    clock.advance(29_999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half_open');
    const probe = deferred();
    const probed = breaker.run(probe.call, isFailure);
    const before = calls();
    const others = await Promise.all([run(ok), run(ok), run(ok)]);
    expect(calls()).toBe(before);
    for (const error of others) expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_BREAKER_OPEN', retryAfterMs: undefined });
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', probeInFlight: true, fastFails: 3 });
    probe.resolve('alive');
    await expect(probed).resolves.toBe('alive');
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0, probeInFlight: false });
    await expect(run(ok)).resolves.toBe('ok');
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'closed'],
    ]);
  });

  it('a failed probe re-opens for another cool-down', async () => {
    const { clock, breaker, changes, fail, ok, run } = setup();
    for (let i = 0; i < 5; i++) await run(fail(500));
    clock.advance(30_000);
    await run(fail()); // the probe: a connection error
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openedAt: 31_000, halfOpenAt: 61_000, opens: 2 });
    clock.advance(29_999);
    expect(await run(ok)).toMatchObject({ code: 'WAR_ERR_BOOKING_BREAKER_OPEN', retryAfterMs: 1 });
    clock.advance(1);
    await expect(run(ok)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(changes.map(([, to]) => to)).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
  });

  it('a probe answered with a 4xx decides nothing: still half-open, the next call probes', async () => {
    const { clock, breaker, fail, ok, run } = setup();
    for (let i = 0; i < 5; i++) await run(fail(500));
    clock.advance(30_000);
    expect(await run(fail(422))).toBeInstanceOf(HttpError);
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', probeInFlight: false, opens: 1 });
    await expect(run(ok)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('ignores the outcome of calls let through before the last transition', async () => {
    const { clock, breaker, fail, run } = setup();
    const slowOk = deferred();
    const slowFail = deferred();
    const a = breaker.run(slowOk.call, isFailure);
    const b = breaker.run(slowFail.call, isFailure).catch(() => undefined);
    const straggler = deferred();
    const c = breaker.run(straggler.call, isFailure);
    for (let i = 0; i < 5; i++) await run(fail(500));
    expect(breaker.state).toBe('open');
    // A success from before the opening does not close it, a failure does not re-open it.
    slowOk.resolve('late');
    await expect(a).resolves.toBe('late');
    slowFail.reject(new HttpError(500));
    await b;
    expect(breaker.snapshot()).toMatchObject({ state: 'open', opens: 1, halfOpenAt: 31_000 });
    // Nor does a straggler decide for the probe.
    clock.advance(30_000);
    const probe = deferred();
    const probed = breaker.run(probe.call, isFailure);
    straggler.resolve('noise');
    await c;
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', probeInFlight: true });
    probe.reject(new Error('timeout'));
    await probed.catch(() => undefined);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', opens: 2 });
  });

  it('a synchronous throw counts like a rejection', async () => {
    const { breaker } = setup({ failures: 1 });
    const boom = new Error('socket hang up');
    await expect(
      breaker.run(() => {
        throw boom;
      }, isFailure),
    ).rejects.toBe(boom);
    expect(breaker.state).toBe('open');
  });

  it('uses the fast-fail error it is given', async () => {
    const { clock, breaker, fail, run } = setup({ failures: 1, cooldownMs: 5_000, onOpen: (info) => Object.assign(new Error('open!'), { info }) });
    await run(fail(500));
    clock.advance(1_000);
    const error = await run(fail(500));
    expect(error).toMatchObject({ message: 'open!', info: { state: 'open', halfOpenAt: 6_000, now: 2_000 } });
    expect(breaker.snapshot().fastFails).toBe(1);
  });

  it('refuses options it cannot honour', () => {
    const clock = new ManualClock();
    expect(() => new CircuitBreaker({ failures: 0, cooldownMs: 1, clock })).toThrow(expect.objectContaining({ code: 'WAR_ERR_BAD_ARGUMENT' }));
    expect(() => new CircuitBreaker({ failures: 1, cooldownMs: -1, clock })).toThrow(expect.objectContaining({ code: 'WAR_ERR_BAD_ARGUMENT' }));
  });
});
