import type { Behaviour } from '../../../src/actor/behaviour.js';
import type { CheckReport, CheckStatus, HealthChecks } from '../../../src/health/health-checks.js';
import type { BatchStore, StoreCounts } from '../../batcher/batch-store.js';
import type { PipelineStatus } from '../../pipeline/pipeline.js';
import { durationText } from '../duration-text.js';
import { periodicCheck, worstStatus, type CheckRound, type MonitorMessage, type MonitorResults } from '../periodic-check.js';

export const QUEUE_CHECK = 'queue';

export interface QueueThresholds {
  /** Undelivered batches that warn (QUEUE_WARN_DEPTH). */
  readonly warnDepth: number;
  /** Undelivered batches that are critical (QUEUE_CRITICAL_DEPTH). */
  readonly criticalDepth: number;
  /** Age of the oldest undelivered batch or pending message that is critical (QUEUE_MAX_AGE_MS). */
  readonly maxAgeMs: number;
}

/** What one round saw; `undefined` where the pipeline or the store did not answer. */
export interface QueueSample {
  readonly pipeline: Pick<PipelineStatus, 'queued' | 'running' | 'waitingRetry' | 'oldestSince'> | undefined;
  readonly store: StoreCounts | undefined;
}

export interface QueueMonitorOptions extends QueueThresholds {
  readonly intervalMs: number;
  readonly checks: HealthChecks;
  /** Only the cheap counters: `stats()` walks the keyspace and must never run on a timer. */
  readonly store: Pick<BatchStore, 'counts'>;
  /** Undefined while the pipeline does not answer. */
  readonly pipelineStatus: () => Promise<PipelineStatus | undefined>;
}

interface Finding {
  readonly status: CheckStatus;
  readonly text: string;
}

/**
 * The `queue` check. Depth is the undelivered batches: those the pipeline holds (queued,
 * running, waiting for a retry) or, if more, the store's in-flight batches (which include
 * those waiting in the store for room in the pipeline). Critical at the critical depth or
 * when the oldest undelivered batch (or pending message) is `maxAgeMs` old; warn at the
 * warning depth or with any dead letter. What did not answer is said, not guessed: the
 * `store` check already goes critical for a store that is away.
 */
export function classifyQueue(sample: QueueSample, thresholds: QueueThresholds, now: number): CheckReport {
  const { pipeline, store } = sample;
  const held = pipeline ? pipeline.queued + pipeline.running + pipeline.waitingRetry : null;
  const known = [held, store?.inFlightBatches ?? null].filter((n): n is number => n !== null);
  const depth = known.length > 0 ? Math.max(...known) : null;
  const oldest = [pipeline?.oldestSince ?? null, store?.oldestPendingAt ?? null].filter((at): at is number => at !== null);
  const ageMs = oldest.length > 0 ? Math.max(0, now - Math.min(...oldest)) : null;
  const deadLetters = store ? store.deadLetters : null;

  const findings: Finding[] = [];
  if (depth !== null) {
    const parts = pipeline ? `queued ${pipeline.queued}, running ${pipeline.running}, waiting for a retry ${pipeline.waitingRetry}` : 'in flight in the store';
    if (depth >= thresholds.criticalDepth) findings.push({ status: 'critical', text: `${depth} batches undelivered (${parts}) is at or above the critical depth ${thresholds.criticalDepth}` });
    else if (depth >= thresholds.warnDepth) findings.push({ status: 'warn', text: `${depth} batches undelivered (${parts}) is at or above the warning depth ${thresholds.warnDepth}` });
  }
  if (ageMs !== null && ageMs >= thresholds.maxAgeMs) {
    findings.push({ status: 'critical', text: `the oldest undelivered batch is ${durationText(ageMs)} old, at or above the limit of ${durationText(thresholds.maxAgeMs)}` });
  }
  if (deadLetters !== null && deadLetters > 0) {
    findings.push({ status: 'warn', text: `${deadLetters} dead ${deadLetters === 1 ? 'letter waits' : 'letters wait'} for an operator (GET /admin/dead-letters)` });
  }
  // The most severe reason first: that is the line an alert shows.
  findings.sort((a, b) => (a.status === b.status ? 0 : a.status === 'critical' ? -1 : 1));
  const silent = [pipeline ? undefined : 'the pipeline did not answer', store ? undefined : 'the store did not answer'].filter((s): s is string => s !== undefined);
  const status = worstStatus(findings.map((finding) => finding.status));
  const summary = findings.length > 0 ? findings.map((finding) => finding.text).join('; ') : depth === null ? 'queue depth unknown' : `${depth} batches undelivered${ageMs === null ? '' : `, the oldest ${durationText(ageMs)} old`}`;
  return {
    status,
    message: [summary, ...silent].join('; '),
    at: new Date(now).toISOString(),
    data: {
      depth,
      queued: pipeline?.queued ?? null,
      running: pipeline?.running ?? null,
      waitingRetry: pipeline?.waitingRetry ?? null,
      deadLetters,
      pendingConversations: store?.pendingConversations ?? null,
      inFlightConversations: store?.inFlightConversations ?? null,
      inFlightBatches: store?.inFlightBatches ?? null,
      oldestAgeMs: ageMs,
      pipelineAnswered: pipeline !== undefined,
      storeAnswered: store !== undefined,
    },
  };
}

/** `monitors/queue`: the pipeline's queue and the store's counters against the queue thresholds, as the `queue` check. */
export function queueMonitor(options: QueueMonitorOptions): Behaviour<MonitorMessage, MonitorResults> {
  return periodicCheck({
    intervalMs: options.intervalMs,
    checks: options.checks,
    async round(ctx): Promise<CheckRound> {
      const [pipeline, store] = await Promise.all([
        options.pipelineStatus().catch(() => undefined),
        // A store that is away is the `store` check's news (and log line); here it is what is missing.
        options.store.counts().catch(() => undefined),
      ]);
      return new Map([[QUEUE_CHECK, classifyQueue({ pipeline, store }, options, ctx.clock.now())]]);
    },
  });
}
