import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { FlushCounts } from './batch.js';
import type { BatchStore } from './batch-store.js';
import type { BatchHandoff } from './batcher.js';
import type { Clock } from '../../src/clock.js';
import type { FlushRules } from './flush-rule.js';

export interface ShutdownFlushDeps {
  readonly store: BatchStore;
  readonly pipeline: ActorRef<BatchHandoff, unknown>;
  readonly owner: string;
  readonly leaseMs: number;
  readonly logger: Logger;
  readonly rules: FlushRules;
  readonly clock: Clock;
  readonly flushed: FlushCounts;
}

/**
 * The memory store does not outlive the process: at shutdown every pending conversation
 * is cut into batches with reason `shutdown` and handed to the pipeline (an ask, so each is
 * queued before the pipeline is told to stop and drain). Rules are ignored; the size cap is not.
 */
export async function flushPendingForShutdown(deps: ShutdownFlushDeps): Promise<number> {
  let batches = 0;
  for await (const conversation of deps.store.pendingConversations()) {
    for (;;) {
      const now = deps.clock.now();
      let result;
      try {
        result = await deps.store.flush(conversation, { now, rules: deps.rules, force: 'shutdown', batchId: randomUUID(), owner: deps.owner, leaseUntil: now + deps.leaseMs });
      } catch (error) {
        // One conversation's trouble must not stop the others (or the shutdown).
        deps.logger.error({ err: error, conversation }, 'could not flush a pending batch for shutdown');
        break;
      }
      if (result.status !== 'flushed') break;
      batches++;
      deps.flushed.shutdown++;
      // One waiting behind its conversation's earlier batch is delivered after it (ordering.ts).
      if (result.deliverable) await deps.pipeline.ask({ type: 'batch', batch: result.batch }).catch((error: unknown) => {
        deps.logger.error({ err: error, batchId: result.batch.batchId }, 'pipeline did not take a shutdown batch');
      });
      if (!result.remaining) break;
    }
  }
  if (batches > 0) deps.logger.info({ batches }, 'flushed pending batches for shutdown');
  return batches;
}
