import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { CheckHistory, type CheckHistorySink, type CheckTransitionRecord } from '../../src/health/check-history.js';
import { BoundedRing } from '../../src/health/check-history-ring.js';
import { HealthChecks, type CheckStatus } from '../../src/health/health-checks.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 1);

/** A history fed the way the runtime feeds it: through HealthChecks, on a manual clock. */
function setup(options: { size?: number; maxChecks?: number; absentRetentionMs?: number; sink?: CheckHistorySink } = {}) {
  const clock = new ManualClock(T0);
  const history = new CheckHistory({ size: options.size ?? 1_440, now: () => clock.now(), ...options });
  const checks = new HealthChecks({ history, now: () => clock.now() });
  const report = (name: string, status: CheckStatus, message: string = status) => checks.report(name, { status, message, at: new Date(clock.now()).toISOString() });
  return { clock, history, checks, report };
}

describe('bounded ring', () => {
  it('keeps the newest `capacity` items, oldest first, and says what it pushed out', () => {
    const ring = new BoundedRing<number>(10);
    const evicted: number[] = [];
    for (let i = 1; i <= 25; i++) {
      const out = ring.push(i);
      if (out !== undefined) evicted.push(out);
    }
    expect(ring.length).toBe(10);
    expect(ring.toArray()).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(ring.oldest()).toBe(16);
    expect(ring.newest()).toBe(25);
    expect(evicted).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(ring.firstPosition).toBe(15);
  });

  it('drops what was sent, by position, even when pushes wrapped around meanwhile', () => {
    const ring = new BoundedRing<number>(4);
    for (let i = 0; i < 6; i++) ring.push(i);
    // Positions 2..5 are kept; a writer sent 2 and 3.
    ring.dropBefore(4);
    expect(ring.toArray()).toEqual([4, 5]);
    ring.push(6);
    ring.push(7);
    ring.push(8);
    expect(ring.toArray()).toEqual([5, 6, 7, 8]);
    // Already gone: nothing more is dropped.
    ring.dropBefore(2);
    expect(ring.toArray()).toEqual([5, 6, 7, 8]);
  });
});

describe('check history', () => {
  it('keeps the newest 10 of 25 results with a size of 10', () => {
    const { clock, history, report } = setup({ size: 10 });
    for (let i = 1; i <= 25; i++) {
      report('redis', 'ok', `ping ${i} ms`);
      clock.advance(1_000);
    }
    const results = history.results('redis') ?? [];
    expect(results).toHaveLength(10);
    expect(results.map((result) => result.message)).toEqual(Array.from({ length: 10 }, (_, i) => `ping ${i + 16} ms`));
    expect(results[0]?.at).toBe(T0 + 15_000);
  });

  it('keeps transitions apart from results: a chatty check does not push its changes out', () => {
    const { history, report, clock } = setup({ size: 10 });
    report('redis', 'critical', 'down');
    clock.advance(1_000);
    report('redis', 'ok', 'back');
    for (let i = 0; i < 50; i++) {
      clock.advance(1_000);
      report('redis', 'ok', `ping ${i}`);
    }
    expect(history.results('redis')).toHaveLength(10);
    expect(history.results('redis')?.every((result) => result.status === 'ok')).toBe(true);
    expect(history.transitions('redis')).toEqual([
      { from: 'absent', to: 'critical', message: 'down', at: T0 },
      { from: 'critical', to: 'ok', message: 'back', at: T0 + 1_000 },
    ]);
  });

  it('bounds transitions by the same size: 25 changes keep the newest 10', () => {
    const { history, report, clock } = setup({ size: 10 });
    for (let i = 0; i < 25; i++) {
      report('flappy', i % 2 === 0 ? 'ok' : 'warn', `change ${i}`);
      clock.advance(1_000);
    }
    const transitions = history.transitions('flappy') ?? [];
    expect(transitions).toHaveLength(10);
    expect(transitions.at(-1)?.message).toBe('change 24');
    expect(transitions[0]?.message).toBe('change 15');
  });

  it('records a removal as a transition to absent, with the clock time', () => {
    const { history, report, checks, clock } = setup();
    report('restarts:/pipeline', 'critical', '12 restarts');
    clock.advance(5 * MIN);
    checks.remove('restarts:/pipeline');
    expect(history.transitions('restarts:/pipeline')?.at(-1)).toEqual({ from: 'critical', to: 'absent', message: 'check removed', at: T0 + 5 * MIN });
    expect(history.summary()).toEqual([{ check: 'restarts:/pipeline', status: 'absent', since: T0 + 5 * MIN, uptime: { '1h': 0, '24h': 0 }, transitions: 2 }]);
  });

  it('filters results and transitions to `at >= since`', () => {
    const { history, report, clock } = setup();
    report('queue', 'ok');
    clock.advance(MIN);
    report('queue', 'warn');
    clock.advance(MIN);
    report('queue', 'ok');
    expect(history.results('queue', T0 + MIN)?.map((result) => result.status)).toEqual(['warn', 'ok']);
    expect(history.transitions('queue', T0 + 2 * MIN)?.map((transition) => transition.to)).toEqual(['ok']);
    expect(history.results('nope')).toBeUndefined();
  });

  it('is not fed by a report with the same status twice as a transition', () => {
    const { history, report } = setup();
    report('memory', 'ok', 'rss 100 MB');
    report('memory', 'ok', 'rss 101 MB');
    expect(history.transitions('memory')).toHaveLength(1);
    expect(history.results('memory')).toHaveLength(2);
  });
});

describe('uptime', () => {
  it('is 0.9 over the last hour for a check critical 6 minutes of it', () => {
    const { history, report, clock } = setup();
    report('redis', 'ok');
    clock.advance(90 * MIN);
    report('redis', 'critical', 'connection refused');
    clock.advance(6 * MIN);
    report('redis', 'ok');
    clock.advance(24 * MIN);
    // Two hours old: 6 critical minutes are a tenth of the hour and a twentieth of its life.
    expect(history.uptime('redis', HOUR)).toBeCloseTo(0.9, 10);
    expect(history.uptimes('redis')).toEqual({ '1h': expect.closeTo(0.9, 10), '24h': expect.closeTo(0.95, 10) });
  });

  it('counts the status before the window opened for the window’s first part', () => {
    const { history, report, clock } = setup();
    report('whatsapp:salon', 'critical', 'closed');
    clock.advance(150 * MIN);
    report('whatsapp:salon', 'ok', 'open');
    clock.advance(30 * MIN);
    // Critical since 3 h ago, ok for the last 30 min: half of the last hour.
    expect(history.uptime('whatsapp:salon', HOUR)).toBeCloseTo(0.5, 10);
    expect(history.uptime('whatsapp:salon', 24 * HOUR)).toBeCloseTo(30 / 180, 10);
  });

  it('does not count time before a young check’s first report', () => {
    const { history, report, clock } = setup();
    clock.advance(5 * HOUR);
    report('canary:billing', 'ok');
    clock.advance(9 * MIN);
    report('canary:billing', 'critical', 'HTTP 503');
    clock.advance(MIN);
    // Ten minutes old, one of them critical: not 1/60.
    expect(history.uptime('canary:billing', HOUR)).toBeCloseTo(0.9, 10);
    expect(history.uptime('canary:billing', 24 * HOUR)).toBeCloseTo(0.9, 10);
  });

  it('counts warn and absent as up, and a check seen this instant by its status', () => {
    const { history, report, checks, clock } = setup();
    report('queue', 'critical');
    expect(history.uptime('queue', HOUR)).toBe(0);
    report('other', 'warn');
    expect(history.uptime('other', HOUR)).toBe(1);
    clock.advance(10 * MIN);
    report('queue', 'warn');
    clock.advance(10 * MIN);
    checks.remove('queue');
    clock.advance(20 * MIN);
    // 10 critical minutes, then 10 warn and 20 absent: 30 of 40 minutes up.
    expect(history.uptime('queue', HOUR)).toBeCloseTo(0.75, 10);
  });

  it('counts from the oldest transition kept once older ones were dropped', () => {
    const { history, report, clock } = setup({ size: 10 });
    // 30 one-minute swings between ok and critical: 10 kept, the oldest at minute 20.
    for (let i = 0; i < 30; i++) {
      report('flappy', i % 2 === 0 ? 'ok' : 'critical');
      clock.advance(MIN);
    }
    // Kept: minutes 20..29 (ok at even minutes); known time 10 minutes, critical 5 of them.
    expect(history.transitions('flappy')?.[0]?.at).toBe(T0 + 20 * MIN);
    expect(history.uptime('flappy', HOUR)).toBeCloseTo(0.5, 10);
  });
});

describe('bounded number of checks', () => {
  it('drops the longest-absent check first when the cap is reached, and tells the sink', () => {
    const forgotten: string[] = [];
    const sink: CheckHistorySink = { transition: () => undefined, forgotten: (name) => forgotten.push(name) };
    const { history, report, checks, clock } = setup({ maxChecks: 3, sink });
    report('memory', 'ok');
    report('restarts:/a', 'critical');
    report('restarts:/b', 'critical');
    clock.advance(MIN);
    checks.remove('restarts:/b');
    clock.advance(MIN);
    checks.remove('restarts:/a');
    report('restarts:/c', 'critical');
    // /b went absent first: it goes; /a, absent more recently, is kept.
    expect(history.names()).toEqual(['memory', 'restarts:/a', 'restarts:/c']);
    expect(forgotten).toEqual(['restarts:/b']);
    report('restarts:/d', 'critical');
    expect(history.names()).toEqual(['memory', 'restarts:/c', 'restarts:/d']);
    // Nothing absent: the live check quiet the longest goes.
    clock.advance(MIN);
    report('restarts:/c', 'critical');
    report('restarts:/d', 'critical');
    report('restarts:/e', 'critical');
    expect(history.names()).toEqual(['restarts:/c', 'restarts:/d', 'restarts:/e']);
  });

  it('forgets a removed check after its retention, and keeps it (and its uptime) until then', () => {
    const { history, report, checks, clock } = setup({ absentRetentionMs: HOUR });
    report('restarts:/a', 'critical');
    clock.advance(MIN);
    checks.remove('restarts:/a');
    clock.advance(59 * MIN);
    expect(history.has('restarts:/a')).toBe(true);
    expect(history.uptime('restarts:/a', HOUR)).toBeCloseTo(59 / 60, 10);
    clock.advance(MIN);
    expect(history.has('restarts:/a')).toBe(false);
    expect(history.summary()).toEqual([]);
  });

  it('a check that comes back is live again and no longer first to go', () => {
    const { history, report, checks, clock } = setup({ maxChecks: 2 });
    report('a', 'ok');
    checks.remove('a');
    report('a', 'ok');
    clock.advance(MIN);
    report('b', 'ok');
    report('c', 'ok');
    // `a` was absent but came back, so it is a live check: the quietest (a, reported first) goes.
    expect(history.names()).toEqual(['b', 'c']);
  });
});

describe('restore', () => {
  const t = (from: CheckTransitionRecord['from'], to: CheckTransitionRecord['to'], at: number): CheckTransitionRecord => ({ from, to, message: `${from}->${to}`, at });

  it('places transitions from a previous run before this run’s, without telling the sink', () => {
    const told: string[] = [];
    const sink: CheckHistorySink = { transition: (name) => told.push(name), forgotten: () => undefined };
    const { history, report, clock } = setup({ sink });
    clock.advance(HOUR);
    history.restore([['redis', [t('absent', 'ok', T0), t('ok', 'critical', T0 + 30 * MIN)]]]);
    expect(told).toEqual([]);
    report('redis', 'ok');
    expect(history.transitions('redis')?.map((transition) => transition.at)).toEqual([T0, T0 + 30 * MIN, T0 + HOUR]);
    expect(told).toEqual(['redis']);
    // Critical from minute 30 to minute 60 of its life.
    expect(history.uptime('redis', HOUR)).toBeCloseTo(0.5, 10);
  });

  it('keeps the most recently changed checks when restoring more than the cap', () => {
    const { history } = setup({ maxChecks: 2 });
    history.restore([
      ['new', [t('absent', 'ok', T0 - MIN)]],
      ['old', [t('absent', 'ok', T0 - HOUR)]],
      ['mid', [t('absent', 'ok', T0 - 30 * MIN)]],
    ]);
    expect(history.names()).toEqual(['mid', 'new']);
  });
});
