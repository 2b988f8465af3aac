/**
 * Flush lag: how long after a conversation's quiet window ran out its batch reached the
 * handler (delivery time - (last message's accept time + window)), for N conversations
 * pending at once. Each conversation is four messages `gapMs` apart; their starts are
 * spread over one pending span, so at the end of the spread all N are pending together,
 * and their flushes come due one after another at a steady rate. With one conversation
 * the run is repeated `rounds` times, one conversation at a time, each after a pause.
 */
import type { LatencyFigure } from '../support/suite.js';
import { summarize } from '../support/stats.js';
import { sleep } from '../support/timing.js';
import type { ContenderFactory } from './contender.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { playOpenLoop, slipSummary } from './open-loop.js';
import { pendingSpanMs, schedule, type ConversationShape } from './workload.js';

export interface LagPlan {
  readonly windowMs: number;
  readonly shape: ConversationShape;
  readonly conversations: number;
  readonly rounds: number;
  /** After the last send, how long deliveries may take before the run counts as failed. */
  readonly drainTimeoutMs: number;
}

export interface LagTarget {
  readonly factory: ContenderFactory;
  readonly redisUrl: string;
  readonly prefix: string;
}

export async function flushLag(target: LagTarget, plan: LagPlan, run: number): Promise<LatencyFigure> {
  const ledger = new DeliveryLedger(plan.windowMs);
  const contender = await target.factory({ windowMs: plan.windowMs, ledger, redisUrl: target.redisUrl, prefix: target.prefix });
  let slipP99Ms = 0;
  let slipMaxMs = 0;
  let acceptMaxMs = 0;
  let closed = false;
  try {
    const spreadMs = plan.conversations === 1 ? 0 : pendingSpanMs(plan.shape, plan.windowMs);
    for (let round = 0; round < plan.rounds; round++) {
      // Rounds start at phases spread evenly over a second (golden-ratio steps), so a
      // baseline that polls every second is not sampled at one phase only.
      if (plan.rounds > 1) await sleep(((round * 0.618_034) % 1) * 1_000);
      const sends = schedule(plan.conversations, plan.shape, spreadMs, round * plan.conversations);
      const played = await playOpenLoop(contender, ledger, run, sends);
      await ledger.waitForAll(plan.drainTimeoutMs);
      // Only now, with every batch delivered: the sort must not pause the measured loop.
      const slips = slipSummary(played.slips);
      slipP99Ms = Math.max(slipP99Ms, slips.slipP99Ms);
      slipMaxMs = Math.max(slipMaxMs, slips.slipMaxMs);
      acceptMaxMs = Math.max(acceptMaxMs, played.acceptMaxMs);
    }
    ledger.verify();
    closed = true;
    await contender.close();
    // A repeat delivered while closing would show now.
    ledger.verify();
  } finally {
    if (!closed) await contender.close().catch(() => undefined);
  }
  const counts = ledger.counts();
  const quiet = counts.byReason.quiet ?? 0;
  if (quiet !== counts.batches) throw new Error(`invalid: ${counts.batches - quiet} of ${counts.batches} batches were not quiet flushes (${JSON.stringify(counts.byReason)})`);
  return {
    kind: 'latency',
    unit: 'ms',
    summary: summarize(ledger.lags),
    showMax: true,
    extra: {
      conversations: plan.conversations,
      rounds: plan.rounds,
      messages: counts.accepted,
      batches: counts.batches,
      splitConversations: counts.splitConversations,
      peakPendingConversations: counts.peakPending,
      sendSlipP99Ms: round1(slipP99Ms),
      sendSlipMaxMs: round1(slipMaxMs),
      acceptMaxMs: round1(acceptMaxMs),
    },
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
