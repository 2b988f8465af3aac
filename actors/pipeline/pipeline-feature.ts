import type { Feature, FeatureContext } from '../../src/feature.js';
import { ConditionLog } from '../../src/logging/condition-log.js';
import { TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import type { BatchStore } from '../batcher/batch-store.js';
import type { BookingOperations } from '../booking/booking-api.js';
import { checkHandlerModule } from './handler-check.js';
import { PiscinaRunner, type HandlerRunner } from './handler-runner.js';
import { PipelineCounters } from './pipeline-counters.js';
import { pipeline, type BookingTarget, type DryRunResult, type PipelineStatus, type ReplyTarget } from './pipeline.js';
import type { FlushedBatch } from './handler.js';
import { RuntimeError } from '../../src/errors.js';

/** How much longer than HANDLER_TIMEOUT_MS a dry run may wait for the pipeline's answer. */
const DRY_RUN_SLACK_MS = 5_000;

export interface PipelineOffers {
  readonly counters: PipelineCounters;
  /** The pipeline's queue and totals, or undefined while it does not answer. */
  status(): Promise<PipelineStatus | undefined>;
  /** Runs the handler once on a synthetic batch (the `test` operation); rejects when the pipeline is not running. */
  dryRun(batch: FlushedBatch): Promise<DryRunResult>;
}

export interface PipelineFeatureDeps {
  readonly store: BatchStore;
  /** A session's gateway, for `reply` actions (the WhatsApp feature offers it). */
  readonly replyTo: (sessionId: string) => ReplyTarget | undefined;
  /** The booking actor, for `book` actions; undefined until the booking feature exists. */
  readonly booking?: BookingTarget;
  /**
   * What a handler's `context.booking` calls: the booking actor's operations, asked on every
   * call, so an actor that starts, restarts or is absent (YClients not configured: undefined,
   * every call refused with WAR_ERR_BOOKING_DISABLED) needs no new pool.
   */
  readonly bookingOperations?: () => BookingOperations | undefined;
  /** How handlers run; by default a piscina pool for HANDLER_MODULE (checked before start). Tests pass an inline one. */
  readonly createRunner?: () => HandlerRunner;
}

/** How long a reply may wait for its session's gateway to queue it. */
const ACTION_TIMEOUT_MS = 5_000;

/**
 * The pipeline feature: `/pipeline`, which runs the handler for every flushed batch, retries
 * it with backoff, dead-letters what keeps failing, and carries the handler's actions out
 * through typed links. Its preflight loads HANDLER_MODULE once, so a bad handler stops
 * start-up instead of dead-lettering every batch.
 */
export function pipelineFeature(ctx: FeatureContext, deps: PipelineFeatureDeps): Feature<PipelineOffers> {
  const { config } = ctx;
  const p = config.pipeline;
  const counters = new PipelineCounters();
  const conditions = new ConditionLog(ctx.logger.child({ actor: TREE.pipeline }), { now: () => ctx.clock.now() });
  const createRunner =
    deps.createRunner ??
    (() => new PiscinaRunner({ handlerModule: p.handlerModule, webhookUrl: p.webhookUrl, concurrency: p.concurrency, bookingOperations: deps.bookingOperations }));
  const child: ChildSpec = {
    kind: 'actor',
    id: childId(TREE.pipeline),
    // Its own drain ends at the shutdown's deadline (ShutdownDeadline); this is only the
    // supervisor's backstop, for a restart as well (handlers in flight may finish first).
    shutdownTimeoutMs: Math.max(config.shutdownTimeoutMs, p.handlerTimeoutMs + ACTION_TIMEOUT_MS + 5_000),
    behaviour: local(() =>
      pipeline({
        store: deps.store,
        createRunner,
        owner: ctx.owner,
        leaseMs: config.batching.leaseMs,
        concurrency: p.concurrency,
        handlerTimeoutMs: p.handlerTimeoutMs,
        maxAttempts: p.maxAttempts,
        retryInitialMs: p.retryInitialMs,
        retryMaxMs: p.retryMaxMs,
        queueMax: p.queueMax,
        drainOnStop: deps.store.kind === 'memory',
        drainRemainingMs: () => ctx.shutdown.drainRemainingMs(ctx.clock.now()),
        replyTo: deps.replyTo,
        booking: deps.booking,
        actionTimeoutMs: ACTION_TIMEOUT_MS,
        counters,
        conditions,
        events: ctx.events,
      }),
    ),
  };
  const link = ctx.links.to(TREE.pipeline);
  return {
    children: [child],
    offers: {
      counters,
      status: () => link.ask({ type: 'status' }).catch(() => undefined),
      dryRun: (batch) =>
        new Promise<DryRunResult>((resolve, reject) => {
          // The handler has its own time limit; this one covers a pipeline that restarts (or drops the mail) before it answers.
          const limitMs = p.handlerTimeoutMs + DRY_RUN_SLACK_MS;
          const timer = setTimeout(() => reject(new RuntimeError('WAR_ERR_ASK_TIMEOUT', `the pipeline did not answer the dry run within ${limitMs} ms`)), limitMs);
          const reply = (result: DryRunResult): void => {
            clearTimeout(timer);
            resolve(result);
          };
          if (!link.tell({ type: 'dry_run', batch, reply })) {
            clearTimeout(timer);
            reject(new RuntimeError('WAR_ERR_ACTOR_STOPPED', 'the pipeline is not running (see /pipeline in the tree)'));
          }
        }),
    },
    ...(deps.createRunner ? {} : { preflight: () => checkHandlerModule(p.handlerModule) }),
  };
}
