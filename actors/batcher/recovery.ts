import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { Behaviour } from '../../src/actor/behaviour.js';
import { describe, errorCode } from '../../src/errors.js';
import type { ConditionLog } from '../../src/logging/condition-log.js';
import type { BatchIngest } from './batch-ingest.js';
import type { BatchStore } from './batch-store.js';
import type { BatchHandoff } from './batcher.js';

export type RecoveryMessage = {
  readonly type: 'sweep';
  /**
   * An operator's `recover company`: re-arm only these sessions' conversations, and take over
   * no in-flight batch (a lease names no company; the periodic sweep takes those over for all).
   */
  readonly sessions?: readonly string[];
};

export interface RecoveryDeps {
  readonly store: BatchStore;
  readonly ingest: BatchIngest;
  readonly pipeline: ActorRef<BatchHandoff, unknown>;
  readonly conditions: ConditionLog;
  readonly owner: string;
  readonly leaseMs: number;
  readonly intervalMs: number;
}

export interface SweepResult {
  rearmed: number;
  reclaimed: number;
  /** Set when the sweep could not reach the store (why); what it had done until then is counted. */
  waitingForStore?: string;
}

/** In-flight batches taken over per sweep; the rest wait for the next one. */
const CLAIM_LIMIT = 1_000;

/**
 * `/recovery`: at start and then every BATCH_SWEEP_INTERVAL_MS, finds (with SCAN on Redis)
 * conversations with pending messages but no batcher and starts one, and takes over
 * in-flight batches whose lease ran out (their runtime died) for this runtime's pipeline.
 * After a restart this is what re-arms and re-delivers what the last run left.
 */
export function recovery(deps: RecoveryDeps): Behaviour<RecoveryMessage, SweepResult | undefined> {
  let sweeps = 0;
  return {
    start(ctx) {
      ctx.self.tell({ type: 'sweep' });
      ctx.timers.every('sweep', deps.intervalMs, { type: 'sweep' });
    },
    async receive(message, ctx) {
      const result: SweepResult = { rearmed: 0, reclaimed: 0 };
      const only = message.sessions;
      try {
        for await (const conversation of deps.store.pendingConversations()) {
          if (only && !only.includes(conversation.sessionId)) continue;
          if (deps.ingest.hasBatcher(conversation)) continue;
          if (await deps.ingest.wake(conversation, { type: 'due' })) result.rearmed++;
        }
        if (only) return result;
        const now = ctx.clock.now();
        const claimed = await deps.store.claim({ owner: deps.owner, now, leaseUntil: now + deps.leaseMs, includeOwn: false, limit: CLAIM_LIMIT });
        for (const batch of claimed) {
          if (deps.pipeline.tell({ type: 'batch', batch })) result.reclaimed++;
          else await deps.store.release(batch.batchId, deps.owner);
        }
      } catch (error) {
        if (errorCode(error) !== 'WAR_ERR_STORE_UNAVAILABLE') throw error;
        deps.conditions.on('sweep_waits_for_store', 'warn', { cause: describe(error) }, 'recovery sweep waits for the store');
        ctx.setDetail({ sweeps, waitingForStore: true });
        return { ...result, waitingForStore: describe(error) };
      }
      deps.conditions.off('sweep_waits_for_store', 'recovery sweeps again');
      sweeps++;
      if (result.rearmed > 0 || result.reclaimed > 0) ctx.log.info(result, 'recovered pending conversations and in-flight batches');
      ctx.setDetail({ sweeps, lastSweepAt: new Date(ctx.clock.now()).toISOString(), ...result });
      return result;
    },
  };
}
