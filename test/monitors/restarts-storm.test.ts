import { afterEach, describe, expect, it } from 'vitest';
import type { MonitorMessage, MonitorResults } from '../../actors/monitors/periodic-check.js';
import { RESTARTS_CHECK, restartsMonitor, restartStormCheck } from '../../actors/monitors/restarts/restarts-monitor.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { ManualClock } from '../../src/clock.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { CheckEvent, RuntimeEvent } from '../../src/events/runtime-events.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { ActorSystem } from '../../src/system/actor-system.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import { captureLogger, silentLogger } from '../support/logger.js';
import { seededRandom } from '../support/random.js';
import { nodeAt } from '../support/system.js';

const WINDOW_MS = 300_000;
const INTERVAL_MS = 10_000;
const RESTART_EVERY_MS = 1_000;

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.shutdown();
  system = undefined;
});

/**
 * A system wired as the runtime is: one event bus for lifecycle events and check transitions,
 * the restarts monitor beside an actor that fails its start `failures` times, restarted every
 * second (no backoff growth, no giving up).
 */
async function stormSystem(failures: number, logger = silentLogger()) {
  const clock = new ManualClock(1_700_000_000_000);
  const events = new EventBus<RuntimeEvent>(logger);
  const checks = new HealthChecks({ onTransition: (change) => events.publish({ type: 'check', ...change }), now: () => clock.now() });
  const transitions: CheckEvent[] = [];
  events.subscribe((event) => void transitions.push(event), { types: ['check'] });
  let restarting = 0;
  events.subscribe(() => void restarting++, { types: ['restarting'] });
  let starts = 0;
  const flaky: ChildSpec = {
    kind: 'actor',
    id: 'api',
    behaviour: local(() => ({
      start() {
        if (++starts <= failures) throw new Error(`start ${starts} failed`);
      },
      receive() {},
    })),
  };
  const monitor: ChildSpec = {
    kind: 'actor',
    id: 'restarts',
    behaviour: local(() => restartsMonitor({ count: 10, windowMs: WINDOW_MS, intervalMs: INTERVAL_MS, checks, events })),
  };
  system = new ActorSystem(
    { strategy: 'one_for_one', intensity: { maxRestarts: 100_000, withinMs: 60_000 }, children: [monitor, flaky] },
    {
      logger,
      clock,
      events,
      random: seededRandom(7),
      defaults: { backoff: { initialMs: RESTART_EVERY_MS, maxMs: RESTART_EVERY_MS, multiplier: 1, jitter: 0, maxAttempts: 100_000, resetAfterMs: 3_600_000 } },
    },
  );
  await system.start();
  const s = system;
  const ref = s.lookup('/restarts') as ActorRef<MonitorMessage, MonitorResults>;
  return { clock, events, checks, transitions, system: s, ref, starts: () => starts, restarting: () => restarting };
}

describe('restarts monitor', () => {
  it('283 restarts of one actor give ONE storming check for it, critical while it storms, its count growing, removed once it calms', async () => {
    const log = captureLogger('info');
    const { clock, checks, transitions, system: s, ref, starts, restarting } = await stormSystem(283, log.logger);
    while (starts() <= 283) await clock.advanceAsync(RESTART_EVERY_MS);
    expect(restarting()).toBe(283);
    expect(nodeAt(s.snapshot(), '/api')).toMatchObject({ status: 'running', restarts: 283 });

    // The round on the timer refreshes the count; it is still the same critical check.
    await clock.advanceAsync(INTERVAL_MS);
    await ref.ask({ type: 'status' });
    const storm = checks.get(restartStormCheck('/api'));
    expect(storm).toMatchObject({ status: 'critical', message: '/api restarted 283 times in the last 5 min', data: { actor: '/api', count: 283, windowMs: WINDOW_MS } });
    expect(checks.get(RESTARTS_CHECK)).toMatchObject({ status: 'critical', message: expect.stringContaining('1 actor is in a restart storm') });
    expect(nodeAt(s.snapshot(), '/restarts')?.detail).toMatchObject({ status: 'critical', checks: 2, critical: 2 });

    const forApi = () => transitions.filter((event) => event.name === restartStormCheck('/api')).map((event) => `${event.previous}->${event.status}`);
    expect(forApi()).toEqual(['absent->critical']);
    // One log line for the storm, not one per restart.
    expect(log.lines().filter((line) => line.includes('/api restarted'))).toHaveLength(1);

    // It runs now; once the window has slid past its restarts the timer removes the check,
    // though the actor never restarts again.
    for (let elapsed = 0; elapsed < WINDOW_MS + INTERVAL_MS; elapsed += INTERVAL_MS) await clock.advanceAsync(INTERVAL_MS);
    await ref.ask({ type: 'status' });
    expect(checks.get(restartStormCheck('/api'))).toBeUndefined();
    expect(forApi()).toEqual(['absent->critical', 'critical->absent']);
    expect(transitions.filter((event) => event.name === RESTARTS_CHECK).map((event) => event.status)).toEqual(['ok', 'critical', 'ok']);
  });

  it('a storm is reported at the restart that makes it, not at the next round', async () => {
    const { clock, checks, ref, restarting } = await stormSystem(1_000);
    await ref.ask({ type: 'check' });
    // The first failure was at start; nine restarts in eight seconds: under the count.
    for (let i = 0; i < 8; i++) await clock.advanceAsync(RESTART_EVERY_MS);
    expect(restarting()).toBe(9);
    expect(checks.get(restartStormCheck('/api'))).toBeUndefined();
    await clock.advanceAsync(RESTART_EVERY_MS);
    // Ten within the window, and the round on the timer is still a second away.
    await ref.ask({ type: 'status' });
    expect(clock.now() % INTERVAL_MS).not.toBe(0);
    expect(checks.get(restartStormCheck('/api'))).toMatchObject({ status: 'critical', data: { count: 10 } });
  });

  it('restarts an operator asks for are no storm; a restarted monitor subscribes once, and its checks go with it when it stops', async () => {
    const { system: s, checks, events } = await stormSystem(0);
    const subscribers = events.stats.subscribers;
    for (let i = 0; i < 12; i++) await s.restart('/api');
    expect(checks.get(restartStormCheck('/api'))).toBeUndefined();
    for (let i = 0; i < 3; i++) await s.restart('/restarts');
    expect(events.stats.subscribers).toBe(subscribers);
    const ref = s.lookup('/restarts') as ActorRef<MonitorMessage, MonitorResults>;
    expect((await ref.ask({ type: 'check' }))[RESTARTS_CHECK]).toMatchObject({ status: 'ok' });
    await s.shutdown();
    system = undefined;
    expect(checks.get(RESTARTS_CHECK)).toBeUndefined();
    expect(events.stats.subscribers).toBe(subscribers - 1);
  });

  it('tracks at most 1,000 actors when 10,000 batchers restart once each', async () => {
    const { events, ref, clock } = await stormSystem(0);
    for (let i = 0; i < 10_000; i++) {
      events.publish({ type: 'restarting', path: `/batchers/s:${i}`, at: clock.now(), attempt: 1, delayMs: 0, members: [`/batchers/s:${i}`], manual: false, outage: false });
    }
    const results = await ref.ask({ type: 'check' });
    expect(results[RESTARTS_CHECK]).toMatchObject({ status: 'ok', data: { tracked: 1_000, forgotten: 9_000, storming: 0 } });
    expect(Object.keys(results)).toEqual([RESTARTS_CHECK]);
  });
});
