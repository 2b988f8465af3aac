import { getHeapStatistics } from 'node:v8';
import type { Behaviour } from '../../../src/actor/behaviour.js';
import type { CheckReport, CheckStatus, HealthChecks } from '../../../src/health/health-checks.js';

export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  heapLimitBytes: number;
}

export interface MemoryThresholds {
  rssWarnMb: number;
  rssCriticalMb: number;
  heapWarnRatio: number;
}

export interface MemoryMonitorOptions extends MemoryThresholds {
  intervalMs: number;
  checks: HealthChecks;
  /** Where the numbers come from; tests pass fixed samples. */
  sample?: () => MemorySample;
}

export type MemoryMonitorMessage = { readonly type: 'check' } | { readonly type: 'status' };

export const MEMORY_CHECK = 'memory';

const MB = 1024 * 1024;

export function processMemory(): MemorySample {
  return {
    rssBytes: process.memoryUsage.rss(),
    heapUsedBytes: process.memoryUsage().heapUsed,
    heapLimitBytes: getHeapStatistics().heap_size_limit,
  };
}

/** RSS past the critical line is critical; RSS past the warning line or a heap near V8's limit warns. */
export function classifyMemory(sample: MemorySample, thresholds: MemoryThresholds, at: Date): CheckReport {
  const rssMb = sample.rssBytes / MB;
  const heapRatio = sample.heapUsedBytes / sample.heapLimitBytes;
  let status: CheckStatus = 'ok';
  let message = `rss ${rssMb.toFixed(0)} MB, heap ${(heapRatio * 100).toFixed(0)}% of limit`;
  if (rssMb >= thresholds.rssCriticalMb) {
    status = 'critical';
    message = `rss ${rssMb.toFixed(0)} MB is at or above the critical ${thresholds.rssCriticalMb} MB`;
  } else if (rssMb >= thresholds.rssWarnMb) {
    status = 'warn';
    message = `rss ${rssMb.toFixed(0)} MB is at or above the warning ${thresholds.rssWarnMb} MB`;
  } else if (heapRatio >= thresholds.heapWarnRatio) {
    status = 'warn';
    message = `heap at ${(heapRatio * 100).toFixed(0)}% of V8's limit (warning at ${(thresholds.heapWarnRatio * 100).toFixed(0)}%)`;
  }
  return {
    status,
    message,
    at: at.toISOString(),
    data: {
      rssMb: Math.round(rssMb * 10) / 10,
      heapUsedMb: Math.round((sample.heapUsedBytes / MB) * 10) / 10,
      heapLimitMb: Math.round(sample.heapLimitBytes / MB),
      heapRatio: Math.round(heapRatio * 1000) / 1000,
    },
  };
}

/** `monitors/memory`: checks heap and RSS on a timer and publishes the result as the `memory` health check. */
export function memoryMonitor(options: MemoryMonitorOptions): Behaviour<MemoryMonitorMessage, CheckReport | undefined> {
  const sample = options.sample ?? processMemory;
  let last: CheckReport | undefined;
  return {
    start(ctx) {
      ctx.timers.every('check', options.intervalMs, { type: 'check' });
      ctx.self.tell({ type: 'check' });
    },
    receive(message, ctx) {
      if (message.type === 'status') return last;
      const result = classifyMemory(sample(), options, new Date(ctx.clock.now()));
      if (last?.status !== result.status && result.status !== 'ok') ctx.log.warn({ memory: result.data }, result.message);
      last = result;
      options.checks.report(MEMORY_CHECK, result);
      ctx.setDetail({ status: result.status, ...result.data });
      return result;
    },
    stop() {
      // A stopped monitor must not leave a stale "ok" behind.
      options.checks.remove(MEMORY_CHECK);
    },
  };
}
