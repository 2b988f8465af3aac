import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint, type AlertNotification } from '../../actors/alerts/alert.js';
import { AlertGroups } from '../../actors/alerts/grouping.js';

/**
 * For any sequence of fire and resolve events over time, with flushes run when the groups say
 * they are due (as the notifier's timer does), each group's notifications respect the group
 * wait, the group interval and the repeat interval; every alert that stays firing past the
 * group wait (or the group interval, when it joins a group already told) is notified; and a
 * resolved notice follows every notified alert that resolves.
 */
const GROUP_WAIT = 30;
const GROUP_INTERVAL = 300;
const REPEAT = 1_000;
const RULES = ['rule-a', 'rule-b'];

type Step = { dt: number; rule: number; alert: number; fire: boolean };

const step = fc.record({ dt: fc.integer({ min: 0, max: 400 }), rule: fc.integer({ min: 0, max: 1 }), alert: fc.integer({ min: 0, max: 3 }), fire: fc.boolean() });

interface Sent {
  at: number;
  notification: AlertNotification;
}

function simulate(steps: readonly Step[]) {
  const groups = new AlertGroups({ groupWaitMs: GROUP_WAIT, groupIntervalMs: GROUP_INTERVAL, repeatIntervalMs: REPEAT });
  const sent: Sent[] = [];
  /** Per fingerprint: [fireAt, resolveAt | undefined][] as the ground truth. */
  const intervals = new Map<string, { rule: string; spans: [number, number | undefined][] }>();
  let now = 0;
  const runUntil = (until: number): void => {
    for (;;) {
      const due = groups.nextDueAt();
      if (due === undefined || due > until) break;
      now = Math.max(now, due);
      for (const notification of groups.flush(now)) sent.push({ at: now, notification });
    }
    now = until;
  };
  for (const s of steps) {
    runUntil(now + s.dt);
    const rule = RULES[s.rule]!;
    const labels = { alert: String(s.alert) };
    const id = fingerprint(rule, labels);
    const truth = intervals.get(id) ?? { rule, spans: [] };
    intervals.set(id, truth);
    const last = truth.spans.at(-1);
    const firing = last !== undefined && last[1] === undefined;
    if (s.fire && !firing) truth.spans.push([now, undefined]);
    if (!s.fire && firing) last[1] = now;
    groups.observe({ rule, labels, severity: 'critical', summary: 's', state: s.fire ? 'firing' : 'resolved', kind: 'state', at: now });
  }
  const end = now;
  runUntil(end + REPEAT + 2 * GROUP_INTERVAL);
  return { sent, intervals, end };
}

describe('alert grouping (property)', () => {
  it('respects group wait, group interval and repeat interval, and notifies every lasting alert and its resolution', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const { sent, intervals, end } = simulate(steps);
        for (const rule of RULES) {
          const mine = sent.filter((s) => s.notification.groupKey === rule);
          // Times at which an alert of this rule fired (starts of spans).
          const fires = [...intervals.values()].filter((t) => t.rule === rule).flatMap((t) => t.spans.map((span) => span[0]));
          let previous: Sent | undefined;
          for (const s of mine) {
            if (!previous || previous.notification.status === 'resolved') {
              // A new episode: its first notice waits the group wait after the episode's first fire.
              // Flushes due at an instant run before the events of that instant, so a fire at
              // the very time of the resolved notice belongs to the new episode.
              const since = previous ? previous.at : -Infinity;
              const firstFire = Math.min(...fires.filter((at) => at >= since));
              expect(s.at - firstFire).toBeGreaterThanOrEqual(GROUP_WAIT);
            } else {
              expect(s.at - previous.at).toBeGreaterThanOrEqual(GROUP_INTERVAL);
              const said = (n: AlertNotification): string => n.alerts.map((a) => `${a.fingerprint}:${a.status}`).sort().join(',');
              if (said(s.notification) === said(previous.notification)) expect(s.at - previous.at).toBeGreaterThanOrEqual(REPEAT);
            }
            previous = s;
          }
        }
        const bound = Math.max(GROUP_WAIT, GROUP_INTERVAL);
        /** What a recipient believes of an alert at `t`: the last notification up to `t` that mentions it. */
        const viewAt = (id: string, t: number): 'firing' | 'resolved' | undefined => {
          let seen: 'firing' | 'resolved' | undefined;
          for (const s of sent) {
            if (s.at > t) break;
            const alert = s.notification.alerts.find((a) => a.fingerprint === id);
            if (alert) seen = alert.status;
          }
          return seen;
        };
        // A resolved notice only ever follows a firing one: an alert that came and went between
        // two flushes (flapping within the group wait) is never sent at all.
        const toldFiring = new Set<string>();
        for (const s of sent) {
          for (const alert of s.notification.alerts) {
            if (alert.status === 'firing') toldFiring.add(alert.fingerprint);
            else expect(toldFiring.has(alert.fingerprint), `resolved ${alert.fingerprint} at ${s.at} was never told firing`).toBe(true);
          }
        }
        for (const [id, truth] of intervals) {
          for (const [from, to] of truth.spans) {
            const lasting = (to ?? end + REPEAT) - from;
            if (lasting < bound) continue;
            expect(viewAt(id, from + bound), `alert ${id} fired at ${from} and lasted ${lasting}`).toBe('firing');
          }
          const last = truth.spans.at(-1);
          if (last && last[1] !== undefined) {
            expect(viewAt(id, Number.POSITIVE_INFINITY), `alert ${id} resolved at ${last[1]}`).not.toBe('firing');
          }
        }
      }),
    );
  });
});

describe('alert grouping of event alerts (property)', () => {
  it('every event is told exactly once, and a group speaks at most once per group interval however the events trickle in', () => {
    const event = fc.record({ dt: fc.integer({ min: 0, max: 400 }), rule: fc.integer({ min: 0, max: 1 }), alert: fc.integer({ min: 0, max: 3 }) });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 60 }), (steps) => {
        const groups = new AlertGroups({ groupWaitMs: GROUP_WAIT, groupIntervalMs: GROUP_INTERVAL, repeatIntervalMs: REPEAT });
        const sent: Sent[] = [];
        let now = 0;
        const runUntil = (until: number): void => {
          for (let due = groups.nextDueAt(); due !== undefined && due <= until; due = groups.nextDueAt()) {
            now = Math.max(now, due);
            for (const notification of groups.flush(now)) sent.push({ at: now, notification });
          }
          now = until;
        };
        const happened = new Map<string, number>();
        for (const s of steps) {
          runUntil(now + s.dt);
          const rule = RULES[s.rule]!;
          const labels = { alert: String(s.alert) };
          happened.set(fingerprint(rule, labels), (happened.get(fingerprint(rule, labels)) ?? 0) + 1);
          groups.observe({ rule, labels, severity: 'warning', summary: 's', state: 'firing', kind: 'event', at: now });
        }
        runUntil(now + REPEAT + 2 * GROUP_INTERVAL);
        const told = new Map<string, number>();
        for (const s of sent) for (const alert of s.notification.alerts) told.set(alert.fingerprint, (told.get(alert.fingerprint) ?? 0) + alert.count);
        expect(told).toEqual(happened);
        for (const rule of RULES) {
          const times = sent.filter((s) => s.notification.groupKey === rule).map((s) => s.at);
          for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(GROUP_INTERVAL);
        }
        expect(sent.every((s) => s.notification.status === 'firing')).toBe(true);
        expect(groups.nextDueAt()).toBeUndefined();
      }),
    );
  });
});
