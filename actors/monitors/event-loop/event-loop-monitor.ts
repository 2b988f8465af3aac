import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Behaviour } from '../../../src/actor/behaviour.js';
import type { CheckReport, CheckStatus, HealthChecks } from '../../../src/health/health-checks.js';
import { periodicCheck, type MonitorMessage, type MonitorResults } from '../periodic-check.js';

export const EVENT_LOOP_CHECK = 'event-loop';

/** The event loop's delay over one interval, in ms beyond the sampling timer's own period. */
export interface EventLoopSample {
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Delays measured in the interval; 0 when the loop was never free to measure one. */
  readonly samples: number;
}

/** Where the delay comes from: a perf_hooks histogram, or fixed samples in tests. */
export interface EventLoopSampler {
  start(): void;
  /** The interval since the last read (or the start), then a new interval begins. */
  read(): EventLoopSample;
  stop(): void;
}

export interface EventLoopThresholds {
  /** EVENT_LOOP_WARN_MS. */
  readonly warnMs: number;
  /** EVENT_LOOP_CRITICAL_MS. */
  readonly criticalMs: number;
}

export interface EventLoopMonitorOptions extends EventLoopThresholds {
  readonly intervalMs: number;
  readonly checks: HealthChecks;
  /** A sampler per incarnation; by default `histogramSampler()`. */
  readonly sampler?: () => EventLoopSampler;
}

const NS_PER_MS = 1e6;
const DEFAULT_RESOLUTION_MS = 10;

/**
 * perf_hooks' event-loop delay histogram. It records the time between ticks of a timer set
 * every `resolutionMs`, so an idle loop reads `resolutionMs`: that period is taken off to
 * leave the delay alone. Reading resets it: each check sees its own interval only.
 */
export function histogramSampler(resolutionMs = DEFAULT_RESOLUTION_MS): EventLoopSampler {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  const delay = (ns: number): number => Math.max(0, ns / NS_PER_MS - resolutionMs);
  return {
    start: () => histogram.enable(),
    read() {
      const samples = histogram.count;
      const sample: EventLoopSample =
        samples === 0 ? { p99Ms: 0, maxMs: 0, meanMs: 0, samples } : { p99Ms: delay(histogram.percentile(99)), maxMs: delay(histogram.max), meanMs: delay(histogram.mean), samples };
      histogram.reset();
      return sample;
    },
    stop: () => void histogram.disable(),
  };
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

/** Critical at `criticalMs` of p99 delay, warn at `warnMs`. */
export function classifyEventLoop(sample: EventLoopSample, thresholds: EventLoopThresholds, at: Date): CheckReport {
  const p99 = round1(sample.p99Ms);
  let status: CheckStatus = 'ok';
  let message = `event-loop delay p99 ${p99} ms (max ${round1(sample.maxMs)} ms)`;
  if (sample.p99Ms >= thresholds.criticalMs) {
    status = 'critical';
    message = `event-loop delay p99 ${p99} ms is at or above the critical ${thresholds.criticalMs} ms`;
  } else if (sample.p99Ms >= thresholds.warnMs) {
    status = 'warn';
    message = `event-loop delay p99 ${p99} ms is at or above the warning ${thresholds.warnMs} ms`;
  }
  return {
    status,
    message,
    at: at.toISOString(),
    data: { p99Ms: p99, maxMs: round1(sample.maxMs), meanMs: round1(sample.meanMs), samples: sample.samples, warnMs: thresholds.warnMs, criticalMs: thresholds.criticalMs },
  };
}

/** `monitors/event-loop`: the event loop's delay p99 over each interval, as the `event-loop` check. */
export function eventLoopMonitor(options: EventLoopMonitorOptions): Behaviour<MonitorMessage, MonitorResults> {
  const sampler = (options.sampler ?? (() => histogramSampler()))();
  return periodicCheck({
    intervalMs: options.intervalMs,
    checks: options.checks,
    start: () => sampler.start(),
    round: (ctx) => new Map([[EVENT_LOOP_CHECK, classifyEventLoop(sampler.read(), options, new Date(ctx.clock.now()))]]),
    stop: () => sampler.stop(),
  });
}
