import { randomUUID } from 'node:crypto';
import type { Feature, FeatureContext } from '../../src/feature.js';
import { ConditionLog } from '../../src/logging/condition-log.js';
import { TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import { newFlushCounts, type FlushCounts } from './batch.js';
import { BatchIngest } from './batch-ingest.js';
import type { BatchStore } from './batch-store.js';
import { batcherSpec, type BatcherDeps, type BatcherStart } from './batcher.js';
import { DeadLetters } from './dead-letters.js';
import type { FlushRules } from './flush-rule.js';
import { recovery } from './recovery.js';
import { flushPendingForShutdown } from './shutdown-flush.js';

export interface BatchingOffers {
  /** Where a message becomes accepted (the webhook, the WhatsApp sessions). */
  readonly ingest: BatchIngest;
  readonly store: BatchStore;
  readonly rules: FlushRules;
  /** Batches cut since start, by reason. */
  readonly flushed: FlushCounts;
  readonly deadLetters: DeadLetters;
  /** The memory store does not outlive the process: cut every pending conversation for the pipeline. */
  flushForShutdown(): Promise<number>;
}

/**
 * The batching feature: `/batchers` (one dynamic child per conversation with pending
 * messages) and `/recovery` (re-arms pending conversations, takes over expired in-flight
 * batches), both handing batches to the pipeline through a typed link.
 */
export function batchingFeature(ctx: FeatureContext, deps: { store: BatchStore }): Feature<BatchingOffers> {
  const { config, links } = ctx;
  const { store } = deps;
  const rules: FlushRules = { windowMs: config.batching.windowMs, maxMessages: config.batching.maxMessages, maxAgeMs: config.batching.maxAgeMs };
  const pipeline = links.to(TREE.pipeline);
  const flushed = newFlushCounts();
  const ingest = new BatchIngest({ store, clock: ctx.clock, logger: ctx.logger, batchers: () => links.target.supervisor(TREE.batchers) });
  const batcherDeps: BatcherDeps = {
    store,
    rules,
    leaseMs: config.batching.leaseMs,
    owner: ctx.owner,
    pipeline,
    newBatchId: randomUUID,
    storeRetryMs: config.store.retryMs,
    flushed,
  };
  const recoveryConditions = new ConditionLog(ctx.logger.child({ actor: TREE.recovery }), { now: () => ctx.clock.now() });
  const children: ChildSpec[] = [
    {
      kind: 'supervisor',
      id: childId(TREE.batchers),
      strategy: 'one_for_one',
      // Leaves are generous: one conversation's trouble must not take the others down.
      intensity: config.supervision.leaf,
      template: (id: string, start: unknown) => batcherSpec(id, start as BatcherStart, batcherDeps),
    },
    {
      kind: 'actor',
      id: childId(TREE.recovery),
      behaviour: local(() =>
        recovery({
          store,
          ingest,
          pipeline,
          owner: ctx.owner,
          leaseMs: config.batching.leaseMs,
          intervalMs: config.batching.sweepIntervalMs,
          conditions: recoveryConditions,
        }),
      ),
    },
  ];
  return {
    children,
    offers: {
      ingest,
      store,
      rules,
      flushed,
      deadLetters: new DeadLetters({ store, pipeline, owner: ctx.owner, leaseMs: config.batching.leaseMs, clock: ctx.clock }),
      flushForShutdown: () =>
        flushPendingForShutdown({ store, pipeline, owner: ctx.owner, leaseMs: config.batching.leaseMs, logger: ctx.logger, rules, clock: ctx.clock, flushed }),
    },
  };
}
