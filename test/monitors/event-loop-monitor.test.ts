import { afterEach, describe, expect, it } from 'vitest';
import { classifyEventLoop, EVENT_LOOP_CHECK, eventLoopMonitor, histogramSampler, type EventLoopSample, type EventLoopSampler } from '../../actors/monitors/event-loop/event-loop-monitor.js';
import type { MonitorMessage, MonitorResults } from '../../actors/monitors/periodic-check.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import type { ActorSystem } from '../../src/system/actor-system.js';
import { local } from '../../supervisor/child-spec.js';
import { nodeAt, startSystem } from '../support/system.js';

const T = { warnMs: 200, criticalMs: 1_000 };
const at = new Date('2026-11-23T12:00:00Z');
const sample = (p99Ms: number): EventLoopSample => ({ p99Ms, maxMs: p99Ms * 2, meanMs: p99Ms / 4, samples: 500 });

describe('classifyEventLoop', () => {
  it('ok below the warning, warn from it, critical from the critical line', () => {
    expect(classifyEventLoop(sample(12.34), T, at)).toMatchObject({ status: 'ok', message: 'event-loop delay p99 12.3 ms (max 24.7 ms)' });
    expect(classifyEventLoop(sample(199.9), T, at).status).toBe('ok');
    expect(classifyEventLoop(sample(200), T, at)).toMatchObject({ status: 'warn', message: 'event-loop delay p99 200 ms is at or above the warning 200 ms' });
    expect(classifyEventLoop(sample(999), T, at).status).toBe('warn');
    const critical = classifyEventLoop(sample(1_500), T, at);
    expect(critical).toMatchObject({ status: 'critical', message: 'event-loop delay p99 1500 ms is at or above the critical 1000 ms', at: at.toISOString() });
    expect(critical.data).toEqual({ p99Ms: 1_500, maxMs: 3_000, meanMs: 375, samples: 500, warnMs: 200, criticalMs: 1_000 });
  });
});

/** Hands out the samples given, one per read, and says what was asked of it. */
class ScriptedSampler implements EventLoopSampler {
  started = 0;
  stopped = 0;
  reads = 0;
  constructor(private readonly samples: EventLoopSample[]) {}
  start(): void {
    this.started++;
  }
  read(): EventLoopSample {
    this.reads++;
    return this.samples.shift() ?? sample(0);
  }
  stop(): void {
    this.stopped++;
  }
}

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.shutdown();
  system = undefined;
});

describe('event-loop monitor actor', () => {
  it('reads one interval per round, reports the check, and stops its sampler and removes the check on stop', async () => {
    const checks = new HealthChecks();
    const sampler = new ScriptedSampler([sample(0), sample(250), sample(1_200), sample(5)]);
    const started = await startSystem([{ kind: 'actor', id: 'event-loop', behaviour: local(() => eventLoopMonitor({ ...T, intervalMs: 1_000, checks, sampler: () => sampler })) }]);
    system = started.system;
    const ref = system.lookup('/event-loop') as ActorRef<MonitorMessage, MonitorResults>;
    await ref.ask({ type: 'status' });
    expect(sampler.started).toBe(1);
    expect(checks.get(EVENT_LOOP_CHECK)?.status).toBe('ok');
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) {
      await started.clock.advanceAsync(1_000);
      statuses.push((await ref.ask({ type: 'status' }))[EVENT_LOOP_CHECK]?.status ?? 'absent');
    }
    expect(statuses).toEqual(['warn', 'critical', 'ok']);
    expect(sampler.reads).toBe(4);
    expect(nodeAt(system.snapshot(), '/event-loop')?.detail).toMatchObject({ status: 'ok', p99Ms: 5 });
    await system.shutdown();
    system = undefined;
    expect(sampler.stopped).toBe(1);
    expect(checks.get(EVENT_LOOP_CHECK)).toBeUndefined();
  });
});

/** Holds the thread, as a synchronous JSON.parse of a huge body or a CPU-bound handler would. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the perf_hooks histogram, for real', () => {
  it('a 400 ms block turns the check critical with low thresholds; the next interval starts afresh', async () => {
    const checks = new HealthChecks();
    const started = await startSystem([{ kind: 'actor', id: 'event-loop', behaviour: local(() => eventLoopMonitor({ warnMs: 50, criticalMs: 150, intervalMs: 60_000, checks })) }]);
    system = started.system;
    const ref = system.lookup('/event-loop') as ActorRef<MonitorMessage, MonitorResults>;
    await ref.ask({ type: 'status' });
    await pause(50);
    block(400);
    // The histogram's timer records the delay once the loop is free again.
    await pause(50);
    const blocked = (await ref.ask({ type: 'check' }))[EVENT_LOOP_CHECK];
    expect(blocked?.status).toBe('critical');
    expect(blocked?.data?.p99Ms).toBeGreaterThanOrEqual(300);
    expect(blocked?.data?.samples).toBeGreaterThan(0);
    // Reading reset the histogram: the block is not in the next interval (generous: a loaded box delays too).
    await pause(100);
    const after = (await ref.ask({ type: 'check' }))[EVENT_LOOP_CHECK];
    expect(after?.data?.maxMs).toBeLessThan(300);
  });

  it('an idle loop reads close to zero delay: the sampling period is not counted as delay', async () => {
    const sampler = histogramSampler(10);
    sampler.start();
    try {
      await pause(300);
      const idle = sampler.read();
      expect(idle.samples).toBeGreaterThan(5);
      expect(idle.meanMs).toBeLessThan(10);
    } finally {
      sampler.stop();
    }
  });
});
