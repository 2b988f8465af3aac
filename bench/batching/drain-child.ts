/**
 * One drain (see drain.ts) in a process of its own. Prints a progress line every
 * PROGRESS_EVERY deliveries and once the accepts are done ({"progress": DrainProgress}),
 * then one JSON line: the ValueFigure.
 *
 *   node drain-child.js '<DrainChildConfig as JSON>'
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ValueFigure } from '../support/suite.js';
import { DeliveryLedger } from './delivery-ledger.js';
import type { DrainPlan, DrainTarget } from './drain.js';
import { startRuntime } from './runtime-contender.js';
import { MESSAGE_ID_PREFIX, phoneOf } from './workload.js';

export interface DrainChildConfig {
  target: DrainTarget;
  plan: DrainPlan;
  run: number;
}

export interface DrainProgress {
  delivered: number;
  /** ms since the first accept. */
  atMs: number;
  /** Every accept has answered. */
  accepted: boolean;
}

const PROGRESS_EVERY = 500;

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(2)} s`;
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Pipes are written synchronously on Linux: the line is out even if the loop never turns again. */
function progress(value: DrainProgress): void {
  process.stdout.write(`${JSON.stringify({ progress: value })}\n`);
}

async function measure(config: DrainChildConfig): Promise<ValueFigure> {
  const { target, plan, run } = config;
  const n = plan.batches;
  const perBatch = plan.messagesPerBatch;
  const deliveredAt = new Float64Array(n);
  const seenBatches = new Set<string>();
  const seenMessages = new Set<string>();
  let delivered = 0;
  let repeats = 0;
  let fast = false;
  let started = 0;
  let accepted = false;
  let done: (() => void) | undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const contender = await startRuntime({
    store: target.store,
    windowMs: 2_000,
    // Unused: the handler below records instead.
    ledger: new DeliveryLedger(2_000),
    redisUrl: target.redisUrl,
    prefix: target.prefix,
    env: {
      BATCH_MAX_MESSAGES: String(perBatch),
      PIPELINE_QUEUE_MAX: String(plan.queueMax),
      PIPELINE_CONCURRENCY: String(plan.concurrency),
      ...plan.env,
    },
    handler: async (batch) => {
      // Once the measure is over (done or timed out), the rest goes at once, so shutdown is quick.
      if (!fast) await sleep(plan.handlerMs);
      const at = performance.now();
      if (seenBatches.has(batch.batchId)) {
        repeats++;
        return [];
      }
      seenBatches.add(batch.batchId);
      for (const message of batch.messages) seenMessages.add(message.id);
      if (delivered < n) deliveredAt[delivered] = at;
      delivered++;
      if (delivered % PROGRESS_EVERY === 0) progress({ delivered, atMs: Math.round(at - started), accepted });
      if (delivered === n) done?.();
      return [];
    },
  });
  let closed = false;
  try {
    started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), plan.timeoutMs);
    });
    // Conversations in chunks; within a chunk, message k of every conversation before message k+1 of any.
    let inTime = true;
    for (let from = 0; from < n && inTime; from += plan.chunk) {
      const size = Math.min(plan.chunk, n - from);
      const accepts = Array.from({ length: size * perBatch }, (_, i) => {
        const c = from + (i % size);
        const k = Math.floor(i / size);
        return contender.runtime.ingest.accept({ sessionId: 'default', phone: phoneOf(run, c), text: `m${c}.${k}`, id: `${MESSAGE_ID_PREFIX}${run}-d${c}-${k}` });
      });
      const results = await Promise.race([Promise.all(accepts), deadline]);
      if (results === false) {
        inTime = false;
        break;
      }
      const refused = results.filter((result) => result.status !== 'accepted');
      if (refused.length > 0) throw new Error(`invalid: ${refused.length} of a chunk of ${size * perBatch} accepts were not accepted (${refused[0]?.status})`);
    }
    const acceptedMs = performance.now() - started;
    accepted = inTime;
    progress({ delivered, atMs: Math.round(acceptedMs), accepted });
    const finished = inTime && (await Promise.race([all.then(() => true), deadline]));
    clearTimeout(timer);
    const endedAt = performance.now();
    fast = true;
    const got = Math.min(delivered, n);
    let widest = 0;
    let widestAt = 0;
    let over100 = 0;
    for (let i = 1; i < got; i++) {
      const gap = (deliveredAt[i] as number) - (deliveredAt[i - 1] as number);
      if (gap > 100) over100++;
      if (gap > widest) {
        widest = gap;
        widestAt = (deliveredAt[i - 1] as number) - started;
      }
    }
    // Unfinished: the silence from the last delivery to the end of the wait is a gap too.
    if (!finished) {
      const tail = endedAt - (got > 0 ? (deliveredAt[got - 1] as number) : started);
      if (tail > widest) {
        widest = tail;
        widestAt = got > 0 ? (deliveredAt[got - 1] as number) - started : 0;
      }
    }
    const totalMs = finished ? (deliveredAt[n - 1] as number) - started : endedAt - started;
    const firstMs = got > 0 ? (deliveredAt[0] as number) - started : Number.NaN;
    // Once every batch was accepted (the backlog in place): how many were left, and how fast they went.
    let duringAccepts = 0;
    while (duringAccepts < got && (deliveredAt[duringAccepts] as number) - started <= acceptedMs) duringAccepts++;
    const afterMs = totalMs - acceptedMs;
    const afterPerSec = ((got - duringAccepts) / afterMs) * 1_000;
    closed = true;
    await contender.close();
    if (repeats > 0) throw new Error(`invalid: ${repeats} batches were delivered more than once`);
    if (finished && seenMessages.size !== n * perBatch) throw new Error(`invalid: ${seenMessages.size} distinct messages delivered for ${n * perBatch} accepted`);
    const perSec = (got / totalMs) * 1_000;
    const text = finished
      ? `${seconds(totalMs)} (accepts ${seconds(acceptedMs)}, then ${seconds(afterMs)} for the ${count(n - duringAccepts)} left, ${count(afterPerSec)}/s); ` +
        `widest gap ${widest.toFixed(0)} ms; ${count(perSec)} deliveries/s`
      : `did not finish in ${Math.round(totalMs / 1_000)} s: ${count(got)} of ${count(n)} delivered${inTime ? '' : ' (accepts unfinished)'}; widest gap ${seconds(widest)}`;
    return {
      kind: 'value',
      value: totalMs / 1_000,
      unit: 's',
      text,
      extra: {
        finished,
        batches: n,
        messagesPerBatch: perBatch,
        delivered: got,
        acceptsFinished: inTime,
        acceptMs: Math.round(acceptedMs),
        deliveredDuringAccepts: duringAccepts,
        afterAcceptsMs: Math.round(afterMs),
        afterAcceptsPerSec: Math.round(afterPerSec),
        firstDeliveryMs: Math.round(firstMs),
        totalMs: Math.round(totalMs),
        deliveriesPerSec: Math.round(perSec),
        widestGapMs: Math.round(widest * 10) / 10,
        widestGapAtMs: Math.round(widestAt),
        gapsOver100Ms: over100,
        idealS: (n * plan.handlerMs) / plan.concurrency / 1_000,
      },
    };
  } finally {
    fast = true;
    if (!closed) await contender.close().catch(() => undefined);
  }
}

const config = JSON.parse(process.argv[2] ?? '') as DrainChildConfig;
const figure = await measure(config);
// exit at once: a runtime's leftover timers must not hold the process.
process.stdout.write(`${JSON.stringify(figure)}\n`, () => process.exit(0));
