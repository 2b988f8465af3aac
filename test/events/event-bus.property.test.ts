import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventBus, type CutOffReason } from '../../src/events/event-bus.js';
import type { RuntimeEvent } from '../../src/events/runtime-events.js';
import { HealthChecks, type CheckStatus } from '../../src/health/health-checks.js';
import { silentLogger } from '../support/logger.js';

/**
 * For any sequence of lifecycle transitions and check reports, and any mix of subscribers:
 *  - every subscriber that keeps up (synchronous, or asynchronous within its capacity) sees
 *    every event it takes exactly once, in publish order, including events published from
 *    inside a subscriber (they come after the one being delivered);
 *  - a subscriber that throws is cut off at that event; one that stalls (a promise that never
 *    settles) is cut off when its queue overflows; both are counted, and neither changes what
 *    the others see or blocks the publisher;
 *  - check events are exactly the status changes of the reports (with previous and new).
 */

type Step =
  | { kind: 'lifecycle'; type: 'started' | 'failed' | 'restarting' | 'gave_up' | 'escalated'; path: number }
  | { kind: 'check'; name: number; status: CheckStatus }
  | { kind: 'remove'; name: number };

type SubscriberKind =
  | { kind: 'sync' }
  | { kind: 'async'; ticks: number }
  | { kind: 'throws'; at: number }
  | { kind: 'stalls' }
  | { kind: 'filtered'; types: ('check' | 'failed')[] }
  /** Publishes a derived admin event from inside its delivery of every `failed`. */
  | { kind: 'reentrant' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('lifecycle' as const), type: fc.constantFrom('started', 'failed', 'restarting', 'gave_up', 'escalated'), path: fc.nat(3) }),
  fc.record({ kind: fc.constant('check' as const), name: fc.nat(2), status: fc.constantFrom<CheckStatus>('ok', 'warn', 'critical') }),
  fc.record({ kind: fc.constant('remove' as const), name: fc.nat(2) }),
);

const subscriberKind: fc.Arbitrary<SubscriberKind> = fc.oneof(
  fc.constant({ kind: 'sync' as const }),
  fc.record({ kind: fc.constant('async' as const), ticks: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('throws' as const), at: fc.nat(20) }),
  fc.constant({ kind: 'stalls' as const }),
  fc.record({ kind: fc.constant('filtered' as const), types: fc.subarray(['check', 'failed'] as ('check' | 'failed')[], { minLength: 1 }) }),
  fc.constant({ kind: 'reentrant' as const }),
);

const CAPACITY = 5;

function lifecycleEvent(type: Extract<Step, { kind: 'lifecycle' }>['type'], path: string, at: number): RuntimeEvent {
  switch (type) {
    case 'started':
      return { type, path, at, restarts: 0 };
    case 'failed':
      return { type, path, at, error: { message: 'boom', code: null, at: new Date(at).toISOString() }, outage: false };
    case 'restarting':
      return { type, path, at, attempt: 1, delayMs: 10, members: [path], manual: false, outage: false };
    case 'gave_up':
      return { type, path, at, attempts: 3 };
    case 'escalated':
      return { type, path, at, reason: 'too many' };
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

async function run(steps: Step[], kinds: SubscriberKind[]) {
  const bus = new EventBus<RuntimeEvent>(silentLogger());
  let now = 1_000;
  const checks = new HealthChecks({ onTransition: (change) => bus.publish({ type: 'check', ...change }), now: () => now });
  const published: RuntimeEvent[] = [];
  // The ground truth: a subscriber that records everything, first in line.
  bus.subscribe((event) => void published.push(event), { name: 'truth', capacity: Number.MAX_SAFE_INTEGER });
  const seen: RuntimeEvent[][] = kinds.map(() => []);
  const cut: (CutOffReason | undefined)[] = kinds.map(() => undefined);
  kinds.forEach((kind, index) => {
    const log = seen[index] as RuntimeEvent[];
    const onCutOff = (reason: CutOffReason) => (cut[index] = reason);
    switch (kind.kind) {
      case 'sync':
        bus.subscribe((event) => void log.push(event), { onCutOff, capacity: CAPACITY });
        break;
      case 'async':
        bus.subscribe(
          async (event) => {
            log.push(event);
            for (let i = 0; i < kind.ticks; i++) await Promise.resolve();
          },
          // Asynchronous but keeping up: every step settles before the next.
          { onCutOff, capacity: 1_000 },
        );
        break;
      case 'throws':
        bus.subscribe(
          (event) => {
            if (log.length === kind.at) throw new Error('subscriber bug');
            log.push(event);
          },
          { onCutOff, capacity: CAPACITY },
        );
        break;
      case 'stalls':
        bus.subscribe(
          (event) => {
            log.push(event);
            return new Promise<void>(() => undefined);
          },
          { onCutOff, capacity: CAPACITY },
        );
        break;
      case 'filtered':
        bus.subscribe((event) => void log.push(event), { types: kind.types, onCutOff, capacity: CAPACITY });
        break;
      case 'reentrant':
        bus.subscribe(
          (event) => {
            log.push(event);
            if (event.type === 'failed') bus.publish({ type: 'admin', at: event.at, operation: 'restart', target: event.path, frontEnd: 'http', by: 'test', outcome: 'ok', message: null });
          },
          { onCutOff, capacity: CAPACITY },
        );
        break;
    }
  });

  const statuses = new Map<string, CheckStatus>();
  const expectedChecks: { name: string; previous: string; status: string }[] = [];
  for (const s of steps) {
    now += 1;
    if (s.kind === 'lifecycle') bus.publish(lifecycleEvent(s.type, `/a${s.path}`, now));
    else if (s.kind === 'check') {
      const name = `c${s.name}`;
      const previous = statuses.get(name);
      if (previous !== s.status) expectedChecks.push({ name, previous: previous ?? 'absent', status: s.status });
      statuses.set(name, s.status);
      checks.report(name, { status: s.status, message: s.status, at: new Date(now).toISOString() });
    } else {
      const name = `c${s.name}`;
      const previous = statuses.get(name);
      if (previous) expectedChecks.push({ name, previous, status: 'absent' });
      statuses.delete(name);
      checks.remove(name);
    }
    await settle();
  }
  await settle();
  return { bus, published, seen, cut, expectedChecks };
}

describe('the runtime event stream', () => {
  it('delivers every event once and in order to each subscriber that keeps up; throwing and stalled subscribers are cut off, counted, and change nothing for the others', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60, size: 'max' }), fc.array(subscriberKind, { minLength: 1, maxLength: 6 }), async (steps, kinds) => {
        const { bus, published, seen, cut, expectedChecks } = await run(steps, kinds);
        const checkEvents = published.filter((e) => e.type === 'check').map((e) => (e.type === 'check' ? { name: e.name, previous: e.previous, status: e.status } : undefined));
        expect(checkEvents).toEqual(expectedChecks);
        // What reentrant subscribers published sits right after the `failed` it answered.
        const reentrants = kinds.filter((kind) => kind.kind === 'reentrant').length;
        const failures = published.filter((e) => e.type === 'failed').length;
        expect(published.filter((e) => e.type === 'admin').length).toBe(reentrants * failures);
        let threw = 0;
        let overflow = 0;
        kinds.forEach((kind, index) => {
          const log = seen[index] as RuntimeEvent[];
          switch (kind.kind) {
            case 'sync':
            case 'async':
            case 'reentrant':
              expect(log).toEqual(published);
              expect(cut[index]).toBeUndefined();
              break;
            case 'filtered':
              expect(log).toEqual(published.filter((e) => (kind.types as string[]).includes(e.type)));
              break;
            case 'throws':
              expect(log).toEqual(published.slice(0, Math.min(kind.at, published.length)));
              if (published.length > kind.at) {
                expect(cut[index]).toBe('threw');
                threw++;
              } else expect(cut[index]).toBeUndefined();
              break;
            case 'stalls':
              // It got the first event, then a queue of CAPACITY; one more cuts it off.
              expect(log).toEqual(published.slice(0, 1));
              if (published.length > CAPACITY + 1) {
                expect(cut[index]).toBe('overflow');
                overflow++;
              } else expect(cut[index]).toBeUndefined();
              break;
          }
        });
        expect(bus.stats.cutOff).toEqual({ threw, overflow });
      }),
    );
  });

  it('an actor subscriber whose mailbox refuses an event is cut off as overflowing', () => {
    const bus = new EventBus<RuntimeEvent>(silentLogger());
    let accepted = 0;
    const full = { path: '/slow', tell: () => ++accepted <= 2, ask: () => Promise.reject(new Error('no')) };
    bus.subscribe(full);
    for (let at = 0; at < 5; at++) bus.publish({ type: 'started', path: '/x', at, restarts: 0 });
    expect(accepted).toBe(3);
    expect(bus.stats).toMatchObject({ subscribers: 0, published: 5, cutOff: { overflow: 1, threw: 0 } });
  });
});
