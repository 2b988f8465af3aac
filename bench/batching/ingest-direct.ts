/**
 * Ingest throughput, in process: `callers` concurrent callers each await one accept after
 * another (for ours, runtime.ingest.accept: the code the webhook route runs), until the
 * run's messages are all accepted. The run's messages are made before the clock starts,
 * four per conversation, interleaved as many clients' are on a busy number (streamMessage). The window
 * is longer than a run, and each run's batches are delivered (untimed) before the next
 * run starts, so the runs time ingest alone; every message is checked delivered once.
 */
import { throughput } from '../actors/produce.js';
import type { ThroughputFigure } from '../support/suite.js';
import { nowNs } from '../support/timing.js';
import type { BenchMessage, Contender, ContenderFactory } from './contender.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { MESSAGE_ID_PREFIX, streamMessage } from './workload.js';

export interface IngestPlan {
  readonly windowMs: number;
  readonly callers: number;
  readonly warmupMessages: number;
  readonly messages: number;
  readonly runs: number;
  readonly drainTimeoutMs: number;
}

export interface IngestTarget {
  readonly factory: ContenderFactory;
  readonly redisUrl: string;
  readonly prefix: string;
}

/**
 * Sends `messages` through `callers` closed-loop callers; returns the elapsed ns. Accepted
 * messages are entered in the ledger by count (their ids are all distinct and carry
 * MESSAGE_ID_PREFIX), so the timed loop does no bookkeeping per message.
 */
export async function closedLoop(contender: Contender, ledger: DeliveryLedger, messages: readonly BenchMessage[], callers: number): Promise<number> {
  let next = 0;
  let accepted = 0;
  let failure: unknown;
  const total = messages.length;
  const caller = async (): Promise<void> => {
    while (failure === undefined && next < total) {
      try {
        await contender.accept(messages[next++] as BenchMessage);
        accepted++;
      } catch (error) {
        failure ??= error;
      }
    }
  };
  const started = nowNs();
  await Promise.all(Array.from({ length: Math.min(callers, total) }, caller));
  const elapsed = nowNs() - started;
  ledger.expectAnonymous(accepted, MESSAGE_ID_PREFIX);
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  return elapsed;
}

export async function directIngest(target: IngestTarget, plan: IngestPlan, takeRun: () => number): Promise<ThroughputFigure> {
  const ledger = new DeliveryLedger(plan.windowMs);
  const contender = await target.factory({ windowMs: plan.windowMs, ledger, redisUrl: target.redisUrl, prefix: target.prefix });
  let closed = false;
  let deliveredDuringRuns = 0;
  const timedMs: number[] = [];
  try {
    const figure = await throughput({ warmupMessages: plan.warmupMessages, messages: plan.messages, runs: plan.runs }, async (messages) => {
      const before = ledger.deliveredOnce;
      const run = takeRun();
      const stream = Array.from({ length: messages }, (_, n) => streamMessage(run, n));
      const elapsed = await closedLoop(contender, ledger, stream, plan.callers);
      deliveredDuringRuns += ledger.deliveredOnce - before;
      timedMs.push(elapsed / 1e6);
      await ledger.waitForAll(plan.drainTimeoutMs);
      return elapsed;
    });
    ledger.verify();
    closed = true;
    await contender.close();
    ledger.verify();
    figure.extra = {
      callers: plan.callers,
      accepted: ledger.accepted,
      batches: ledger.batches,
      // Messages delivered while a run was timed (0: the runs timed ingest alone).
      deliveredDuringRuns,
      longestRunMs: Math.round(Math.max(...timedMs)),
    };
    return figure;
  } finally {
    if (!closed) await contender.close().catch(() => undefined);
  }
}
