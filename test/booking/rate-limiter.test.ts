import { describe, expect, it } from 'vitest';
import { BookingError } from '../../actors/booking/booking-errors.js';
import { RateLimiter, type RateLimiterOptions } from '../../actors/booking/rate-limiter.js';
import { ManualClock } from '../../src/clock.js';

/** A limiter on a manual clock, and `job(label)`: a run that logs its start time and label. */
function setup(options: Partial<RateLimiterOptions> = {}) {
  const clock = new ManualClock(0);
  const limiter = new RateLimiter({ perSecond: 5, perMinute: 200, queueMax: 1_000, queueTimeoutMs: 600_000, clock, ...options });
  const starts: { at: number; label: string }[] = [];
  const job =
    (label: string) =>
    (): Promise<string> => {
      starts.push({ at: clock.now(), label });
      return Promise.resolve(label);
    };
  return { clock, limiter, starts, job };
}

/** The most starts inside any window of `spanMs` (a window is [t, t + spanMs)). */
function maxInWindow(times: readonly number[], spanMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] as number) + spanMs <= (sorted[i] as number)) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

describe('RateLimiter', () => {
  it('500 scheduled at once with perSecond 5 start exactly 5 a second', async () => {
    const { clock, limiter, starts, job } = setup({ perMinute: 10_000, marginMs: 0 });
    const all = Array.from({ length: 500 }, (_, i) => limiter.schedule('read', job(String(i))));
    expect(starts).toHaveLength(5);
    expect(limiter.depth).toBe(495);
    for (let second = 1; second < 100; second++) {
      clock.advance(1_000);
      expect(starts).toHaveLength(5 * (second + 1));
    }
    const perSecond = new Map<number, number>();
    for (const { at } of starts) perSecond.set(Math.floor(at / 1_000), (perSecond.get(Math.floor(at / 1_000)) ?? 0) + 1);
    expect([...perSecond.values()]).toEqual(Array.from({ length: 100 }, () => 5));
    expect(maxInWindow(starts.map((s) => s.at), 1_000)).toBe(5);
    // FIFO within a priority.
    expect(starts.map((s) => s.label)).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
    await expect(Promise.all(all)).resolves.toHaveLength(500);
    expect(limiter.depth).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
    expect(limiter.stats()).toMatchObject({ started: 500, rejectedFull: 0, rejectedTimeout: 0, waiting: { write: 0, read: 0 } });
  });

  it('with the default margin, no sliding 1 s window ever holds more than perSecond starts', () => {
    const { clock, limiter, starts, job } = setup({ perMinute: 10_000 });
    for (let i = 0; i < 500; i++) void limiter.schedule('read', job(String(i)));
    clock.advance(200_000);
    expect(starts).toHaveLength(500);
    expect(maxInWindow(starts.map((s) => s.at), 1_005)).toBe(5);
    // 5 every 1,005 ms: the margin costs half a percent of the rate.
    expect(starts.at(-1)?.at).toBe(99 * 1_005);
  });

  it('departed() counts a start from when its request left: a late departure delays the window, an old ticket is ignored', async () => {
    const { clock, limiter } = setup({ perSecond: 2, perMinute: 10_000, marginMs: 0 });
    const tickets: number[] = [];
    const startedAt: number[] = [];
    const take = () => limiter.schedule('read', async (ticket) => {
      tickets.push(ticket);
      startedAt.push(clock.now());
    });
    await take();
    await take();
    // The first request left 300 ms after it was let go (a busy loop, a new connection).
    clock.advance(300);
    limiter.departed(tickets[0] as number);
    const third = take();
    clock.advance(699); // 999 ms after the first start, 699 after it left
    clock.advance(1);
    expect(startedAt).toHaveLength(2); // without departed() it would have started at 1,000
    clock.advance(299);
    expect(startedAt).toHaveLength(2);
    clock.advance(1);
    await third;
    // It moved the second start too (the ring stays in time order): 1,300 is the first one allowed.
    expect(startedAt).toEqual([0, 0, 1_300]);
    // Moving a start earlier, a ticket of the future, or one the ring has forgotten: no change.
    clock.advance(5_000);
    limiter.departed(-1);
    limiter.departed(99);
    limiter.departed(0.5);
    const before = clock.now();
    await take();
    expect(startedAt.at(-1)).toBe(before);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('spacingMs spreads the starts evenly instead of bursting', () => {
    const { clock, limiter, starts, job } = setup({ perMinute: 10_000, marginMs: 20, spacingMs: 200 });
    for (let i = 0; i < 50; i++) void limiter.schedule('read', job(String(i)));
    expect(starts).toHaveLength(1);
    clock.advance(20_000);
    expect(starts).toHaveLength(50);
    const gaps = starts.slice(1).map((s, i) => s.at - (starts[i] as { at: number }).at);
    // Every 200 ms, except where the 1,020 ms window still holds 5: the 6th waits for it.
    expect(Math.min(...gaps)).toBe(200);
    expect(maxInWindow(starts.map((s) => s.at), 1_020)).toBe(5);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('holds perMinute over any 60 s window', () => {
    const { clock, limiter, starts, job } = setup({ perSecond: 5, perMinute: 200, marginMs: 0 });
    for (let i = 0; i < 300; i++) void limiter.schedule('read', job(String(i)));
    clock.advance(59_999);
    expect(starts).toHaveLength(200); // 40 seconds of 5 a second, then the minute is spent
    expect(starts.at(-1)?.at).toBe(39_000);
    clock.advance(1);
    expect(starts).toHaveLength(205); // the first second's starts leave the window at 60 s
    clock.advance(200_000);
    expect(starts).toHaveLength(300);
    expect(maxInWindow(starts.map((s) => s.at), 60_000)).toBe(200);
    expect(maxInWindow(starts.map((s) => s.at), 1_000)).toBe(5);
  });

  it('pause: nothing starts before the Retry-After moment', () => {
    const { clock, limiter, starts, job } = setup();
    limiter.pause(2_000);
    void limiter.schedule('read', job('a'));
    void limiter.schedule('write', job('b'));
    clock.advance(1_999);
    expect(starts).toEqual([]);
    clock.advance(1);
    expect(starts).toEqual([
      { at: 2_000, label: 'b' },
      { at: 2_000, label: 'a' },
    ]);
    expect(limiter.stats().pausedUntil).toBe(2_000);
  });

  it('pause while requests wait moves the timer later; an earlier pause does not shorten it', () => {
    const { clock, limiter, starts, job } = setup({ perSecond: 1, marginMs: 0 });
    void limiter.schedule('read', job('a'));
    void limiter.schedule('read', job('b'));
    expect(clock.nextDueAt()).toBe(1_000);
    limiter.pause(3_000);
    limiter.pause(2_000);
    expect(clock.pendingTimers()).toBe(1);
    expect(clock.nextDueAt()).toBe(3_000);
    clock.advance(2_999);
    expect(starts.map((s) => s.label)).toEqual(['a']);
    clock.advance(1);
    expect(starts.map((s) => s.label)).toEqual(['a', 'b']);
  });

  it('a request whose deadline passes while waiting is rejected and never starts', async () => {
    const { clock, limiter, starts, job } = setup({ perSecond: 1, marginMs: 0, queueTimeoutMs: 1_500 });
    void limiter.schedule('read', job('a'));
    const b = limiter.schedule('read', job('b'), { deadlineMs: 500 });
    const c = limiter.schedule('read', job('c')); // deadline 1,500 from queueTimeoutMs
    const d = limiter.schedule('read', job('d'), { deadlineMs: 10_000 }); // capped by queueTimeoutMs
    const bRejected = b.then(
      (): { error: unknown; at: number } => ({ error: undefined, at: -1 }),
      (error: unknown) => ({ error, at: clock.now() }),
    );
    clock.advance(500);
    const rejection = await bRejected;
    expect(rejection.at).toBe(500);
    expect(codeOf(rejection.error)).toBe('WAR_ERR_BOOKING_QUEUE_TIMEOUT');
    expect(rejection.error).toBeInstanceOf(BookingError);
    expect(rejection.error).toMatchObject({ statusCode: 503, kind: 'unavailable', retryable: true });
    expect((rejection.error as Error).message).toContain('waited 500 ms');
    clock.advance(500);
    await expect(c).resolves.toBe('c'); // started at 1,000, before its deadline
    clock.advance(1_000);
    await expect(d).rejects.toMatchObject({ code: 'WAR_ERR_BOOKING_QUEUE_TIMEOUT' });
    expect(starts.map((s) => s.label)).toEqual(['a', 'c']);
    expect(limiter.stats()).toMatchObject({ started: 2, rejectedTimeout: 2 });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a request may start at its deadline, not after; one already past is refused at once', async () => {
    const { clock, limiter, starts, job } = setup({ perSecond: 1, marginMs: 0 });
    void limiter.schedule('read', job('a'));
    const b = limiter.schedule('read', job('b'), { deadlineMs: 1_000 });
    clock.advance(1_000);
    await expect(b).resolves.toBe('b');
    await expect(limiter.schedule('read', job('late'), { deadlineMs: 999 })).rejects.toMatchObject({ code: 'WAR_ERR_BOOKING_QUEUE_TIMEOUT' });
    // Deadline now, and no start possible now: refused without queuing.
    await expect(limiter.schedule('read', job('now'), { deadlineMs: 1_000 })).rejects.toMatchObject({ code: 'WAR_ERR_BOOKING_QUEUE_TIMEOUT' });
    expect(limiter.depth).toBe(0);
    expect(starts.map((s) => s.label)).toEqual(['a', 'b']);
  });

  it('queueTimeoutMs 0: a request starts at once or is refused', async () => {
    const { limiter, job } = setup({ perSecond: 1, queueTimeoutMs: 0 });
    await expect(limiter.schedule('read', job('a'))).resolves.toBe('a');
    await expect(limiter.schedule('read', job('b'))).rejects.toMatchObject({ code: 'WAR_ERR_BOOKING_QUEUE_TIMEOUT' });
  });

  it('a full queue rejects at once with the queue-full error', async () => {
    const { limiter, job } = setup({ perSecond: 1, queueMax: 2 });
    void limiter.schedule('read', job('running'));
    void limiter.schedule('read', job('w1'));
    void limiter.schedule('write', job('w2'));
    expect(limiter.depth).toBe(2);
    const error: unknown = await limiter.schedule('write', job('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BookingError);
    expect(error).toMatchObject({ code: 'WAR_ERR_BOOKING_QUEUE_FULL', statusCode: 429, kind: 'rate_limited' });
    expect(limiter.stats()).toMatchObject({ rejectedFull: 1, waiting: { write: 1, read: 1 } });
  });

  it('queueMax 0: nothing waits', async () => {
    const { limiter, job } = setup({ perSecond: 1, queueMax: 0 });
    await expect(limiter.schedule('read', job('a'))).resolves.toBe('a');
    await expect(limiter.schedule('read', job('b'))).rejects.toMatchObject({ code: 'WAR_ERR_BOOKING_QUEUE_FULL' });
  });

  it('writes start before reads, FIFO within each priority', () => {
    const { clock, limiter, starts, job } = setup({ perSecond: 1, marginMs: 0 });
    void limiter.schedule('read', job('r0'));
    void limiter.schedule('read', job('r1'));
    void limiter.schedule('read', job('r2'));
    void limiter.schedule('write', job('w1'));
    void limiter.schedule('read', job('r3'));
    void limiter.schedule('write', job('w2'));
    clock.advance(10_000);
    expect(starts.map((s) => s.label)).toEqual(['r0', 'w1', 'w2', 'r1', 'r2', 'r3']);
    expect(starts.map((s) => s.at)).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000]);
  });

  it('an aborted signal rejects with its reason and dequeues; an already aborted one never queues', async () => {
    const { clock, limiter, starts, job } = setup({ perSecond: 1, marginMs: 0 });
    void limiter.schedule('read', job('a'));
    const controller = new AbortController();
    const b = limiter.schedule('read', job('b'), { signal: controller.signal });
    const c = limiter.schedule('read', job('c'));
    expect(limiter.depth).toBe(2);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(b).rejects.toBe(reason);
    expect(limiter.depth).toBe(1);
    clock.advance(1_000);
    await expect(c).resolves.toBe('c');
    expect(starts.map((s) => s.label)).toEqual(['a', 'c']);

    const gone = new AbortController();
    gone.abort();
    await expect(limiter.schedule('write', job('d'), { signal: gone.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(limiter.stats()).toMatchObject({ aborted: 2 });
    expect(limiter.depth).toBe(0);
  });

  it('aborting after the start does nothing, and leaves no listener behind', async () => {
    const { limiter } = setup();
    const controller = new AbortController();
    let release!: (value: string) => void;
    const p = limiter.schedule('read', () => new Promise<string>((resolve) => (release = resolve)), { signal: controller.signal });
    controller.abort();
    release('done');
    await expect(p).resolves.toBe('done');
    expect(limiter.stats().aborted).toBe(0);
  });

  it('keeps one timer at most, and none when idle', () => {
    const { clock, limiter, job } = setup({ perSecond: 2, marginMs: 0, queueTimeoutMs: 5_000 });
    expect(clock.pendingTimers()).toBe(0);
    for (let i = 0; i < 2; i++) void limiter.schedule('read', job(String(i)));
    expect(clock.pendingTimers()).toBe(0); // both started, nothing waits
    for (let i = 0; i < 20; i++) {
      void limiter.schedule(i % 2 === 0 ? 'read' : 'write', job(String(i)), { deadlineMs: 300 + i * 700 }).catch(() => undefined);
      expect(clock.pendingTimers()).toBe(1);
    }
    expect(clock.nextDueAt()).toBe(300); // the first deadline comes before the first start
    for (let t = 0; t < 20_000; t += 50) {
      clock.advance(50);
      expect(clock.pendingTimers()).toBe(limiter.depth === 0 ? 0 : 1);
    }
    expect(limiter.depth).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("passes run's outcome through, a synchronous throw included", async () => {
    const { limiter } = setup();
    const boom = new Error('boom');
    await expect(limiter.schedule('read', () => Promise.reject(boom))).rejects.toBe(boom);
    await expect(
      limiter.schedule('read', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(limiter.stats().started).toBe(2);
  });

  it('uses the error factories it is given', async () => {
    const full: unknown[] = [];
    const timeouts: unknown[] = [];
    const { clock, limiter, job } = setup({
      perSecond: 1,
      queueMax: 1,
      queueTimeoutMs: 100,
      onFull: (info) => {
        full.push(info);
        return new Error('full!');
      },
      onTimeout: (info) => {
        timeouts.push(info);
        return new Error('late!');
      },
    });
    void limiter.schedule('read', job('a'));
    const b = limiter.schedule('write', job('b'));
    await expect(limiter.schedule('read', job('c'))).rejects.toThrow('full!');
    clock.advance(100);
    await expect(b).rejects.toThrow('late!');
    expect(full).toEqual([{ priority: 'read', depth: 1, queueMax: 1 }]);
    expect(timeouts).toEqual([{ priority: 'write', scheduledAt: 0, deadlineAt: 100, now: 100 }]);
  });

  it('a run that schedules synchronously keeps the order and the limits', () => {
    const { clock, limiter, starts, job } = setup({ perSecond: 2, marginMs: 0 });
    void limiter.schedule('read', job('r0'));
    void limiter.schedule('read', job('r1'));
    void limiter.schedule('read', job('r2'));
    void limiter.schedule('read', () => {
      starts.push({ at: clock.now(), label: 'r3' });
      void limiter.schedule('write', job('w-from-r3'));
      return Promise.resolve('r3');
    });
    void limiter.schedule('read', job('r4'));
    clock.advance(5_000);
    expect(starts.map((s) => s.label)).toEqual(['r0', 'r1', 'r2', 'r3', 'w-from-r3', 'r4']);
    expect(maxInWindow(starts.map((s) => s.at), 1_000)).toBe(2);
  });

  it('clear rejects everything waiting and drops the timer', async () => {
    const { clock, limiter, starts, job } = setup({ perSecond: 1 });
    void limiter.schedule('read', job('a'));
    const waiting = [limiter.schedule('read', job('b')), limiter.schedule('write', job('c'))];
    const stopped = new Error('stopped');
    limiter.clear(stopped);
    for (const p of waiting) await expect(p).rejects.toBe(stopped);
    expect(limiter.depth).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(10_000);
    expect(starts.map((s) => s.label)).toEqual(['a']);
  });

  it('refuses options it cannot honour', () => {
    const clock = new ManualClock();
    const base = { perSecond: 5, perMinute: 200, queueMax: 10, queueTimeoutMs: 1_000, clock };
    for (const bad of [{ perSecond: 0 }, { perMinute: 1.5 }, { queueMax: -1 }, { queueTimeoutMs: Number.NaN }, { marginMs: -1 }]) {
      expect(() => new RateLimiter({ ...base, ...bad })).toThrow(expect.objectContaining({ code: 'WAR_ERR_BAD_ARGUMENT' }));
    }
  });
});
