import { afterEach, describe, expect, it } from 'vitest';
import type { AlertLabels, AlertNotification, AlertSignal } from '../../actors/alerts/alert.js';
import { AlertGroups } from '../../actors/alerts/grouping.js';
import { startAlertHarness, type AlertHarness } from '../support/alert-harness.js';

/**
 * Example-based cases of grouping and of the notifier that the property test does not reach:
 * silences, event alerts, severity changes, episodes, the per-group cap, and what the notifier
 * does when it missed events.
 */
const WAIT = 30_000;
const INTERVAL = 300_000;
const REPEAT = 14_400_000;

interface Rig {
  readonly groups: AlertGroups;
  readonly sent: AlertNotification[];
  /** Fingerprint-free silence: label values that are silenced. */
  readonly silenced: Set<string>;
  /** Runs every flush that falls due up to `until`, as the notifier's timer would. */
  runUntil(until: number): void;
}

function rig(options: { maxAlertsPerGroup?: number } = {}): Rig {
  const silenced = new Set<string>();
  const groups = new AlertGroups({
    groupWaitMs: WAIT,
    groupIntervalMs: INTERVAL,
    repeatIntervalMs: REPEAT,
    isSilenced: (alert) => Object.values(alert.labels).some((value) => silenced.has(value)),
    ...options,
  });
  const sent: AlertNotification[] = [];
  return {
    groups,
    sent,
    silenced,
    runUntil(until) {
      for (;;) {
        const due = groups.nextDueAt();
        if (due === undefined || due > until) return;
        sent.push(...groups.flush(due));
      }
    },
  };
}

const fire = (labels: AlertLabels, at: number, extra: Partial<AlertSignal> = {}): AlertSignal => ({
  rule: 'rule',
  labels,
  severity: 'critical',
  summary: 'down',
  state: 'firing',
  kind: 'state',
  at,
  ...extra,
});
const resolve = (labels: AlertLabels, at: number): AlertSignal => ({ ...fire(labels, at), state: 'resolved' });
const deadLetter = (phone: string, at: number): AlertSignal => fire({ phone }, at, { rule: 'batch dead-lettered', kind: 'event', severity: 'warning' });

const sentAt = (notifications: readonly AlertNotification[]): number[] => notifications.map((n) => Date.parse(n.sentAt));

describe('grouping: silences', () => {
  it('silencing one told alert of a group does not make the group notify every group interval', () => {
    const r = rig();
    r.groups.observe(fire({ session: 'a' }, 0));
    r.groups.observe(fire({ session: 'b' }, 0));
    r.runUntil(WAIT);
    expect(r.sent).toHaveLength(1);
    r.silenced.add('b');
    // Nothing changed but a silence: only the repeat interval may bring the next message.
    r.runUntil(REPEAT - 1);
    expect(r.sent).toHaveLength(1);
    r.runUntil(WAIT + REPEAT);
    expect(r.sent).toHaveLength(2);
    expect(r.sent[1]!.alerts.map((a) => a.labels)).toEqual([{ session: 'a' }]);
  });

  it('a group whose alerts are all silenced before they are told, and then resolve, sends nothing and goes away', () => {
    const r = rig();
    r.silenced.add('a');
    r.silenced.add('b');
    r.groups.observe(fire({ session: 'a' }, 0));
    r.groups.observe(fire({ session: 'b' }, 0));
    r.runUntil(WAIT + INTERVAL);
    r.groups.observe(resolve({ session: 'a' }, WAIT + INTERVAL + 1));
    r.groups.observe(resolve({ session: 'b' }, WAIT + INTERVAL + 1));
    r.silenced.clear();
    r.runUntil(REPEAT * 2);
    expect(r.sent).toEqual([]);
    expect(r.groups.view(REPEAT * 2)).toEqual([]);
  });

  it('a told alert that is silenced and resolves is told resolved once the silence ends (not while it lasts)', () => {
    const r = rig();
    r.groups.observe(fire({ session: 'a' }, 0));
    r.runUntil(WAIT);
    r.silenced.add('a');
    r.groups.observe(resolve({ session: 'a' }, 60_000));
    r.runUntil(WAIT + 10 * INTERVAL);
    expect(r.sent.map((n) => n.status)).toEqual(['firing']);
    r.silenced.clear();
    r.runUntil(WAIT + 11 * INTERVAL);
    expect(r.sent.map((n) => n.status)).toEqual(['firing', 'resolved']);
  });

  it('an event alert that happens while silenced is dropped, not sent when the silence ends', () => {
    const r = rig();
    r.silenced.add('79160000001');
    r.groups.observe(deadLetter('79160000001', 0));
    r.runUntil(WAIT);
    expect(r.groups.view(WAIT).flatMap((g) => g.alerts)).toEqual([]);
    r.silenced.clear();
    r.runUntil(REPEAT);
    expect(r.sent).toEqual([]);
    expect(r.groups.nextDueAt()).toBeUndefined();
  });
});

describe('grouping: event alerts', () => {
  it('a trickle of dead letters, one every 40 s, goes out at most once per group interval after the first message', () => {
    const r = rig();
    for (let i = 0; i < 30; i++) {
      const at = i * 40_000;
      r.runUntil(at);
      r.groups.observe(deadLetter(`7916000${String(i).padStart(4, '0')}`, at));
    }
    r.runUntil(REPEAT);
    const times = sentAt(r.sent);
    expect(times[0]).toBe(WAIT);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(INTERVAL);
    // Every dead letter was told, each once.
    expect(r.sent.flatMap((n) => n.alerts).length).toBe(30);
    expect(r.sent.every((n) => n.status === 'firing')).toBe(true);
    expect(r.groups.nextDueAt()).toBeUndefined();
  });

  it('one conversation dead-lettering 162 times is one line with its count, and a later one starts its count again', () => {
    const r = rig();
    for (let i = 0; i < 162; i++) r.groups.observe(deadLetter('79161234567', i));
    r.runUntil(WAIT + 1_000);
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0]!.alerts).toEqual([expect.objectContaining({ labels: { phone: '79161234567' }, count: 162, status: 'firing' })]);
    r.groups.observe(deadLetter('79161234567', 100_000));
    r.runUntil(REPEAT);
    expect(r.sent).toHaveLength(2);
    expect(r.sent[1]!.alerts).toEqual([expect.objectContaining({ count: 1 })]);
    expect(Date.parse(r.sent[1]!.sentAt) - Date.parse(r.sent[0]!.sentAt)).toBeGreaterThanOrEqual(INTERVAL);
  });
});

describe('grouping: episodes and severity', () => {
  it('a severity change of a told alert is told at the next group-interval flush', () => {
    const r = rig();
    r.groups.observe(fire({ check: 'queue' }, 0, { severity: 'warning' }));
    r.runUntil(WAIT);
    r.groups.observe(fire({ check: 'queue' }, 60_000, { severity: 'critical' }));
    r.runUntil(WAIT + INTERVAL - 1);
    expect(r.sent).toHaveLength(1);
    r.runUntil(WAIT + INTERVAL);
    expect(r.sent.map((n) => n.alerts[0]!.severity)).toEqual(['warning', 'critical']);
  });

  it('an alert that fires again after its resolution was told is a new episode: new start, count 1, and it waits the group wait', () => {
    const r = rig();
    r.groups.observe(fire({ session: 'a' }, 0));
    r.runUntil(WAIT);
    r.groups.observe(resolve({ session: 'a' }, 100_000));
    r.runUntil(WAIT + INTERVAL);
    expect(r.sent.map((n) => n.status)).toEqual(['firing', 'resolved']);
    const again = WAIT + INTERVAL + 1;
    r.groups.observe(fire({ session: 'a' }, again));
    r.runUntil(again + WAIT - 1);
    expect(r.sent).toHaveLength(2);
    r.runUntil(again + INTERVAL);
    expect(r.sent).toHaveLength(3);
    expect(Date.parse(r.sent[2]!.sentAt)).toBeGreaterThanOrEqual(again + WAIT);
    expect(r.sent[2]!.alerts).toEqual([expect.objectContaining({ status: 'firing', count: 1, startsAt: new Date(again).toISOString() })]);
  });

  it('an alert that resolves and fires again before the resolution was told stays one episode and sends nothing new', () => {
    const r = rig();
    r.groups.observe(fire({ session: 'a' }, 0));
    r.runUntil(WAIT);
    r.groups.observe(resolve({ session: 'a' }, 40_000));
    r.groups.observe(fire({ session: 'a' }, 50_000));
    r.runUntil(REPEAT - 1);
    expect(r.sent).toHaveLength(1);
  });
});

describe('grouping: the per-group cap', () => {
  it('alerts beyond maxAlertsPerGroup are counted in the notification and in the view, not dropped silently', () => {
    const r = rig({ maxAlertsPerGroup: 2 });
    for (const session of ['a', 'b', 'c', 'd']) r.groups.observe(fire({ session }, 0));
    expect(r.groups.view(0)[0]).toMatchObject({ firing: 2, omitted: 2 });
    r.runUntil(WAIT);
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0]).toMatchObject({ omitted: 2 });
    expect(r.sent[0]!.alerts).toHaveLength(2);
  });
});

describe('the notifier', () => {
  let h: AlertHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('an event with a time that is not a number neither crashes the notifier nor loses the alert', async () => {
    h = await startAlertHarness();
    h.events.publish({ type: 'check', name: 'probe', previous: 'absent', status: 'critical', message: 'failing', at: Number.NaN });
    await h.advance(31_000);
    expect(h.notifications).toHaveLength(1);
    expect(h.notifications[0]!.alerts[0]!.startsAt).toEqual(expect.any(String));
    const view = h.offers.access.view();
    expect(view.groups).toHaveLength(1);
  });

  it('a restart of the notifier neither tells again what was told nor forgets what fires', async () => {
    h = await startAlertHarness();
    h.report('whatsapp:salon1', 'critical', 'session salon1 was logged out');
    await h.advance(31_000);
    expect(h.notifications).toHaveLength(1);
    await h.system.restart('/alerts/notifier');
    await h.advance(60 * 60_000, 10_000);
    expect(h.notifications).toHaveLength(1);
    h.report('whatsapp:salon1', 'ok', 'session salon1 is open');
    await h.advance(6 * 60_000, 10_000);
    expect(h.notifications.map((n) => n.status)).toEqual(['firing', 'resolved']);
  });

  it('after being cut off from the events it catches up from the checks: a resolution it missed is told, a failure it missed fires', async () => {
    h = await startAlertHarness();
    h.report('store', 'critical', 'store unreachable');
    await h.advance(31_000);
    expect(h.notifications.map((n) => n.status)).toEqual(['firing']);
    // A burst the notifier cannot take in one turn overflows its mailbox: the bus cuts it off.
    for (let i = 0; i < 20_001; i++) {
      h.events.publish({ type: 'dead_lettered', at: h.clock.now(), batchId: `b-${i}`, sessionId: 's1', phone: '79161234567', attempts: 5, error: 'webhook answered 500' });
    }
    expect(h.events.stats.cutOff.overflow).toBe(1);
    // Told while it is deaf.
    h.report('store', 'ok', 'store reachable');
    h.report('whatsapp:salon1', 'critical', 'session salon1 was logged out');
    await h.advance(10 * 60_000);
    const told = h.notifications.map((n) => `${n.groupKey}:${n.status}`);
    expect(told).toContain('health check failing:resolved');
    expect(told).toContain('whatsapp session down:firing');
    expect(h.logText()).toContain('cut off');
  });
});
