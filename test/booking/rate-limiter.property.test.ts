import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimiter, type Priority } from '../../actors/booking/rate-limiter.js';
import { ManualClock } from '../../src/clock.js';

/**
 * Properties of the limiter under any sequence of schedules (either priority, with or without
 * a deadline or a signal), aborts, pauses and clock advances, on a manual clock:
 *  (a) no window of 1,000 + margin ms holds more than perSecond starts, no window of
 *      60,000 + margin ms more than perMinute, and starts are at least spacingMs apart;
 *  (b) every request ends exactly once: it starts (once), or is rejected as full, timed out
 *      or aborted, and a rejected one never starts;
 *  (c) at a start, nothing that outranks it waits: no write (writes before reads, whenever
 *      queued) and nothing of its own priority scheduled earlier (FIFO);
 *  (d) a request starts no later than its deadline, and one that times out is rejected
 *      exactly at its deadline;
 *  (e) the limiter is never idle while something waits and a start is allowed (by a model of
 *      the windows and the pause), and it refuses as full only when queueMax already wait;
 *  (f) one timer at most, none while nothing waits, and `depth` matches what waits.
 */

type Command =
  | { kind: 'schedule'; priority: Priority; deadlineIn: number | undefined; abortable: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'pause'; ms: number };

interface Scenario {
  perSecond: number;
  perMinute: number;
  queueMax: number;
  queueTimeoutMs: number;
  marginMs: number;
  spacingMs: number;
  commands: Command[];
}

type LogEvent =
  | { kind: 'schedule'; id: number; at: number }
  | { kind: 'start'; id: number; at: number }
  | { kind: 'full'; at: number; error: Error }
  | { kind: 'timeout'; at: number; error: Error }
  | { kind: 'abort'; id: number; at: number }
  | { kind: 'pause'; at: number; until: number };

interface Request {
  id: number;
  priority: Priority;
  scheduledAt: number;
  deadlineAt: number;
  controller: AbortController | undefined;
  abortReason: Error;
  outcome: { ok: true } | { ok: false; error: unknown } | undefined;
}

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('schedule' as const),
      priority: fc.constantFrom<Priority>('write', 'read', 'read'),
      deadlineIn: fc.option(fc.integer({ min: 0, max: 15_000 }), { nil: undefined, freq: 2 }),
      abortable: fc.boolean(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5_000 }), fc.constantFrom(1_000, 1_005, 60_000)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 5_000 }) }) },
);

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    perSecond: fc.integer({ min: 1, max: 6 }),
    extraPerMinute: fc.integer({ min: 0, max: 30 }),
    queueMax: fc.integer({ min: 0, max: 25 }),
    queueTimeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20_000 })),
    marginMs: fc.constantFrom(0, 5, 10),
    spacing: fc.constantFrom('none', 'even', 'odd'),
    commands: fc.array(command, { minLength: 1, maxLength: 80 }),
  })
  .map(({ extraPerMinute, spacing, ...rest }) => ({
    ...rest,
    perMinute: rest.perSecond + extraPerMinute,
    // Even pacing as the booking service sets it (1000 / perSecond), or an awkward fraction.
    spacingMs: spacing === 'none' ? 0 : spacing === 'even' ? 1_000 / rest.perSecond : 137.5,
  }));

const outranks = (y: Request, x: Request): boolean =>
  (y.priority === 'write' && x.priority === 'read') || (y.priority === x.priority && y.id < x.id);

/** The earliest time the windows and the pause allow a start, given the starts so far (a model, not the limiter's code). */
function nextAllowed(starts: readonly number[], pausedUntil: number, s: Scenario): number {
  let at = pausedUntil;
  if (s.spacingMs > 0 && starts.length > 0) at = Math.max(at, (starts[starts.length - 1] as number) + s.spacingMs);
  if (starts.length >= s.perSecond) at = Math.max(at, (starts[starts.length - s.perSecond] as number) + 1_000 + s.marginMs);
  if (starts.length >= s.perMinute) at = Math.max(at, (starts[starts.length - s.perMinute] as number) + 60_000 + s.marginMs);
  return at;
}

function maxInWindow(sorted: readonly number[], spanMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] as number) + spanMs <= (sorted[i] as number)) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

async function runScenario(s: Scenario): Promise<void> {
  const clock = new ManualClock(0);
  const log: LogEvent[] = [];
  const limiter = new RateLimiter({
    perSecond: s.perSecond,
    perMinute: s.perMinute,
    queueMax: s.queueMax,
    queueTimeoutMs: s.queueTimeoutMs,
    marginMs: s.marginMs,
    spacingMs: s.spacingMs,
    clock,
    onFull: () => {
      const error = new Error('full');
      log.push({ kind: 'full', at: clock.now(), error });
      return error;
    },
    onTimeout: () => {
      const error = new Error('timeout');
      log.push({ kind: 'timeout', at: clock.now(), error });
      return error;
    },
  });
  const requests: Request[] = [];
  const settled: Promise<void>[] = [];
  const runs = new Map<number, number>();

  const checkTimers = (): void => {
    expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
    expect(limiter.depth).toBeLessThanOrEqual(s.queueMax);
    if (limiter.depth === 0) expect(clock.pendingTimers()).toBe(0);
  };

  for (const c of s.commands) {
    switch (c.kind) {
      case 'schedule': {
        const now = clock.now();
        const id = requests.length;
        const deadlineAt = c.deadlineIn === undefined ? now + s.queueTimeoutMs : Math.min(now + c.deadlineIn, now + s.queueTimeoutMs);
        const request: Request = {
          id,
          priority: c.priority,
          scheduledAt: now,
          deadlineAt,
          controller: c.abortable ? new AbortController() : undefined,
          abortReason: new Error(`abort ${id}`),
          outcome: undefined,
        };
        requests.push(request);
        log.push({ kind: 'schedule', id, at: now });
        const promise = limiter.schedule(
          c.priority,
          () => {
            runs.set(id, (runs.get(id) ?? 0) + 1);
            log.push({ kind: 'start', id, at: clock.now() });
            return Promise.resolve(id);
          },
          {
            ...(c.deadlineIn === undefined ? {} : { deadlineMs: now + c.deadlineIn }),
            ...(request.controller ? { signal: request.controller.signal } : {}),
          },
        );
        settled.push(
          promise.then(
            () => void (request.outcome = { ok: true }),
            (error: unknown) => void (request.outcome = { ok: false, error }),
          ),
        );
        break;
      }
      case 'advance':
        clock.advance(c.ms);
        break;
      case 'abort': {
        // Mostly requests still waiting, where an abort does something; sometimes any.
        const waiting = requests.filter((r) => r.controller && !r.controller.signal.aborted && r.outcome === undefined && !runs.has(r.id));
        const abortable = waiting.length > 0 && c.pick % 4 !== 0 ? waiting : requests.filter((r) => r.controller && !r.controller.signal.aborted);
        const target = abortable[c.pick % Math.max(1, abortable.length)];
        if (target?.controller) {
          log.push({ kind: 'abort', id: target.id, at: clock.now() });
          target.controller.abort(target.abortReason);
        }
        break;
      }
      case 'pause': {
        const until = clock.now() + c.ms;
        log.push({ kind: 'pause', at: clock.now(), until });
        limiter.pause(until);
        break;
      }
    }
    checkTimers();
  }
  // Long enough for every pause and deadline to pass: everything still waiting ends.
  clock.advance(30 * 60_000);
  const endAt = clock.now();
  await Promise.all(settled);
  checkTimers();
  expect(limiter.depth).toBe(0);

  // (b) exactly one outcome each; rejected ones never ran, started ones ran once.
  const terminalOf = new Map<Error, number>(); // a rejection's error → its log index
  log.forEach((e, index) => {
    if (e.kind === 'full' || e.kind === 'timeout') terminalOf.set(e.error, index);
  });
  const endIndex = new Map<number, number>(); // request id → log index of its end
  const reasonOf = new Map<number, 'start' | 'full' | 'timeout' | 'abort'>();
  for (const r of requests) {
    expect(r.outcome).toBeDefined();
    if (r.outcome?.ok) {
      expect(runs.get(r.id)).toBe(1);
      endIndex.set(r.id, log.findIndex((e) => e.kind === 'start' && e.id === r.id));
      reasonOf.set(r.id, 'start');
    } else {
      expect(runs.get(r.id)).toBeUndefined();
      const error = r.outcome?.error;
      if (error === r.abortReason) {
        endIndex.set(r.id, log.findIndex((e) => e.kind === 'abort' && e.id === r.id));
        reasonOf.set(r.id, 'abort');
      } else {
        const index = terminalOf.get(error as Error);
        expect(index, `request ${r.id} rejected with a reason`).toBeDefined();
        terminalOf.delete(error as Error); // each rejection error belongs to one request
        endIndex.set(r.id, index as number);
        reasonOf.set(r.id, (log[index as number] as { kind: 'full' | 'timeout' }).kind);
      }
    }
  }
  expect(terminalOf.size, 'every rejection belongs to a request').toBe(0);
  expect(limiter.stats()).toMatchObject({
    started: [...reasonOf.values()].filter((k) => k === 'start').length,
    rejectedFull: [...reasonOf.values()].filter((k) => k === 'full').length,
    rejectedTimeout: [...reasonOf.values()].filter((k) => k === 'timeout').length,
    aborted: [...reasonOf.values()].filter((k) => k === 'abort').length,
  });

  // (a) the windows, counted the way a server would.
  const startTimes = log.filter((e) => e.kind === 'start').map((e) => e.at);
  expect([...startTimes].sort((a, b) => a - b)).toEqual(startTimes);
  expect(maxInWindow(startTimes, 1_000 + s.marginMs)).toBeLessThanOrEqual(s.perSecond);
  expect(maxInWindow(startTimes, 60_000 + s.marginMs)).toBeLessThanOrEqual(s.perMinute);
  // In the limiter's own form (last + spacing <= now): with fractional spacing a subtraction can round below it.
  for (let i = 1; i < startTimes.length; i++) expect(startTimes[i] as number).toBeGreaterThanOrEqual((startTimes[i - 1] as number) + s.spacingMs);

  // Replay the log against the model.
  const scheduleIndex = new Map<number, number>();
  const pending = new Set<Request>();
  const starts: number[] = [];
  let pausedUntil = 0;
  log.forEach((e, index) => {
    const endsHere = (r: Request): boolean => endIndex.get(r.id) === index;
    if (e.kind === 'schedule') {
      scheduleIndex.set(e.id, index);
      pending.add(requests[e.id] as Request);
    } else if (e.kind === 'pause') {
      pausedUntil = Math.max(pausedUntil, e.until);
    } else {
      const ended = [...pending].filter(endsHere);
      // Aborting a request that already started or ended is a no-op.
      const r = e.kind === 'abort' && ended.length === 0 ? undefined : (expect(ended).toHaveLength(1), ended[0] as Request);
      if (r === undefined) {
        // nothing ends
      } else if (e.kind === 'start') {
        // (c) nothing that outranks it is waiting.
        for (const y of pending) if (y !== r) expect(outranks(y, r), `request ${y.id} waits while ${r.id} starts`).toBe(false);
        // (d) and (a) by the model: allowed now, and within its deadline.
        expect(e.at).toBeGreaterThanOrEqual(nextAllowed(starts, pausedUntil, s));
        expect(e.at).toBeLessThanOrEqual(r.deadlineAt);
        starts.push(e.at);
      } else if (e.kind === 'timeout') {
        // (d) exactly at the deadline (the manual clock fires on time), and (e) no start was allowed.
        expect(e.at).toBe(Math.max(r.deadlineAt, r.scheduledAt));
        expect(nextAllowed(starts, pausedUntil, s)).toBeGreaterThan(e.at);
      } else if (e.kind === 'full') {
        // (e) only with queueMax already waiting (the refused one is in `pending` here).
        expect(pending.size - 1).toBeGreaterThanOrEqual(s.queueMax);
        expect(e.at).toBe(r.scheduledAt);
      }
      if (r) pending.delete(r);
    }
    // (e) never idle: while something waits, the next event is no later than the moment a
    // start is allowed, and an event at that moment is the start.
    if (pending.size > 0) {
      const allowedAt = Math.max(nextAllowed(starts, pausedUntil, s), e.at);
      const next = log[index + 1];
      const nextAt = next ? next.at : endAt;
      if (nextAt >= allowedAt) {
        expect(next, `idle at ${allowedAt} with ${pending.size} waiting`).toBeDefined();
        expect(next?.kind === 'start' && next.at === allowedAt, `idle at ${allowedAt} with ${pending.size} waiting`).toBe(true);
      }
    }
  });
  expect(pending.size).toBe(0);
}

describe('RateLimiter properties', () => {
  it('keeps both sliding windows, ends every request once, keeps priority and FIFO, never idles', async () => {
    await fc.assert(fc.asyncProperty(scenario, runScenario), { numRuns: 300 });
  });

  it('a burst that crosses any bucket edge still keeps the windows', async () => {
    // Fixed-bucket limiters let 2×perSecond through around an edge; a sliding one must not.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 999 }), async (perSecond, offset) => {
        await runScenario({
          perSecond,
          perMinute: 1_000,
          queueMax: 100,
          queueTimeoutMs: 60_000,
          marginMs: 0,
          spacingMs: 0,
          commands: [
            { kind: 'advance', ms: offset },
            ...Array.from({ length: 3 * perSecond }, (): Command => ({ kind: 'schedule', priority: 'read', deadlineIn: undefined, abortable: false })),
            { kind: 'advance', ms: 1_000 - offset },
            ...Array.from({ length: 3 * perSecond }, (): Command => ({ kind: 'schedule', priority: 'write', deadlineIn: undefined, abortable: false })),
          ],
        });
      }),
    );
  });
});
