/**
 * Drain: a backlog of cut batches far larger than the pipeline's queue, delivered through a
 * slow handler. `batches` conversations of one message each are accepted through the
 * runtime's ingest (BATCH_MAX_MESSAGES=1: every message is a full batch, cut at once), in
 * chunks of `chunk` concurrent accepts, as test/pipeline/backpressure.test.ts does; the
 * handler (InlineRunner) awaits setTimeout(handlerMs) and records when it is done. With
 * PIPELINE_CONCURRENCY=c the ideal is batches × handlerMs / c; a pipeline that turns
 * batches away when its queue (PIPELINE_QUEUE_MAX) is full must get them back from the
 * store, and how soon it does decides how close to the ideal the drain comes.
 *
 * Reported: the time from the first accept to the last delivery, the widest gap between two
 * deliveries, deliveries/s; and, as the practical yardstick, the same handler alone: c
 * concurrent loops of `await setTimeout(handlerMs)`, batches / c iterations each (on Node a
 * 1 ms timer sleeps at least 1 ms, often ~1.1 ms).
 *
 * The drain runs in a child process (drain-child.ts) that prints its progress: a runtime
 * whose event loop starves (as one with a batcher restart loop did) cannot end its own
 * measure, so the parent kills it at the deadline and reports how many were delivered by
 * then. The child uses the Runtime, its config and InlineRunner only, so the same files run
 * against an older build of the runtime (the "before" figures).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ValueFigure } from '../support/suite.js';
import type { DrainChildConfig, DrainProgress } from './drain-child.js';
import { runNodeChild } from './node-child.js';
import type { RuntimeStore } from './runtime-contender.js';

export interface DrainPlan {
  readonly batches: number;
  /**
   * Messages per batch (BATCH_MAX_MESSAGES): each conversation gets this many, and its batch
   * is cut when the last arrives. 1: cut on the first message (what the test does).
   */
  readonly messagesPerBatch: number;
  readonly queueMax: number;
  readonly concurrency: number;
  readonly handlerMs: number;
  /** Accepts in flight at once while the backlog is built. */
  readonly chunk: number;
  /** From the first accept: a drain that has not delivered everything by then is reported as unfinished. */
  readonly timeoutMs: number;
  /** Further config variables for the runtime (e.g. BATCH_SWEEP_INTERVAL_MS). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface DrainTarget {
  readonly store: RuntimeStore;
  readonly redisUrl: string;
  readonly prefix: string;
}

/** batches × handlerMs / concurrency, seconds. */
export function idealSeconds(plan: DrainPlan): number {
  return (plan.batches * plan.handlerMs) / plan.concurrency / 1_000;
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(2)} s`;
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The handler alone: `concurrency` loops of `await setTimeout(handlerMs)`, batches / concurrency times each. */
export async function handlerAlone(plan: DrainPlan): Promise<ValueFigure> {
  const iterations = Math.ceil(plan.batches / plan.concurrency);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: plan.concurrency }, async () => {
      for (let i = 0; i < iterations; i++) await sleep(plan.handlerMs);
    }),
  );
  const ms = performance.now() - started;
  return {
    kind: 'value',
    value: ms / 1_000,
    unit: 's',
    text: `${seconds(ms)} (${(ms / iterations).toFixed(3)} ms per setTimeout(${plan.handlerMs}))`,
    extra: { loops: plan.concurrency, iterations, msPerSleep: Math.round((ms / iterations) * 1_000) / 1_000 },
  };
}

/** Time for the child to start and stop its runtime, beyond the drain's own deadline. */
const CHILD_GRACE_MS = 30_000;

export async function drain(target: DrainTarget, plan: DrainPlan, run: number): Promise<ValueFigure> {
  const config: DrainChildConfig = { target, plan, run };
  let last: DrainProgress | undefined;
  try {
    return await runNodeChild<ValueFigure>({
      base: import.meta.url,
      module: './drain-child.js',
      args: [JSON.stringify(config)],
      timeoutMs: plan.timeoutMs + CHILD_GRACE_MS,
      onLine: (line) => {
        if (line.startsWith('{"progress"')) last = (JSON.parse(line) as { progress: DrainProgress }).progress;
      },
    });
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes('did not finish within')) throw error;
    // The child could not end its own measure at its deadline: its event loop did not turn.
    const delivered = last?.delivered ?? 0;
    const lastAtS = last ? last.atMs / 1_000 : 0;
    return {
      kind: 'value',
      value: plan.timeoutMs / 1_000,
      unit: 's',
      text:
        `did not finish in ${plan.timeoutMs / 1_000} s: ${count(delivered)} of ${count(plan.batches)} delivered ` +
        `(the last report at ${lastAtS.toFixed(1)} s, then the event loop did not turn again${last && !last.accepted ? ', accepts unfinished' : ''})`,
      extra: { finished: false, starved: true, batches: plan.batches, delivered, lastProgressAtMs: last?.atMs ?? -1, accepted: last?.accepted ?? false, idealS: idealSeconds(plan) },
    };
  }
}
