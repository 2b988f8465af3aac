import type { ActorContext, Behaviour, ExitReason } from '../../src/actor/behaviour.js';
import { RingQueue } from '../../src/actor/ring-queue.js';
import { describe, errorCode } from '../../src/errors.js';
import { batchText, type Batch } from '../batcher/batch.js';
import type { BatchStore } from '../batcher/batch-store.js';
import type { BatchHandoff } from '../batcher/batcher.js';
import { toFlushedBatch, type HandlerAction } from './handler.js';
import type { HandlerRunner } from './handler-runner.js';
import { sessionPaths } from '../whatsapp/session-paths.js';

export type PipelineMessage =
  | BatchHandoff
  | { readonly type: 'retry'; readonly batchId: string }
  | { readonly type: 'renew' }
  | { readonly type: 'status' };

export interface PipelineStatus {
  queued: number;
  running: number;
  waitingRetry: number;
  delivered: number;
  retried: number;
  deadLettered: number;
}

export interface PipelineDeps {
  readonly store: BatchStore;
  /** Created per incarnation and closed with it (a piscina pool, or inline in tests). */
  readonly createRunner: () => HandlerRunner;
  readonly owner: string;
  readonly leaseMs: number;
  readonly concurrency: number;
  readonly handlerTimeoutMs: number;
  readonly maxAttempts: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly queueMax: number;
  /**
   * On shutdown, deliver everything queued before stopping (the memory store, which does
   * not outlive the process); otherwise give the leases back for the next runtime.
   */
  readonly drainOnStop: boolean;
}

interface Entry {
  readonly batch: Batch;
  attempt: number;
  state: 'queued' | 'running' | 'waiting' | 'acking';
}

/**
 * `/pipeline`: runs the handler for every flushed batch, at most `concurrency` at once,
 * each within `handlerTimeoutMs`. A batch leaves the store only when its handler succeeded
 * (ack) or after `maxAttempts` failures (dead letter); a handler that throws or times out
 * is retried with backoff. The queue here is a cache of the store's in-flight batches:
 * on start the pipeline claims back what it owned, so a crash loses nothing.
 *
 * `receive` never awaits; handler completions run as promise callbacks that touch the
 * state only in synchronous steps, so batches run concurrently without interleaving hazards.
 */
export function pipeline(deps: PipelineDeps): Behaviour<PipelineMessage, PipelineStatus | undefined> {
  const entries = new Map<string, Entry>();
  const queue = new RingQueue<Entry>();
  const tasks = new Set<Promise<void>>();
  const status: PipelineStatus = { queued: 0, running: 0, waitingRetry: 0, delivered: 0, retried: 0, deadLettered: 0 };
  let runner: HandlerRunner;
  let stopping = false;
  /** The start could not reach the store to take back its own batches: try again on the next tick. */
  let claimPending = true;

  const publish = (ctx: ActorContext<PipelineMessage>): void => {
    ctx.setDetail({ ...status });
  };

  /** `queued` and `waitingRetry` are kept as entries change state, not counted by a scan per batch. */
  const tally = (state: Entry['state'], by: number): void => {
    if (state === 'queued') status.queued += by;
    else if (state === 'waiting') status.waitingRetry += by;
  };

  const move = (entry: Entry, state: Entry['state']): void => {
    tally(entry.state, -1);
    entry.state = state;
    tally(state, 1);
  };

  const forget = (entry: Entry): void => {
    if (entries.get(entry.batch.batchId) !== entry) return;
    entries.delete(entry.batch.batchId);
    tally(entry.state, -1);
  };

  const offer = (batch: Batch, ctx: ActorContext<PipelineMessage>): void => {
    if (entries.has(batch.batchId)) return;
    if (entries.size >= deps.queueMax) {
      ctx.log.warn({ batchId: batch.batchId, queueMax: deps.queueMax }, 'pipeline full; the batch stays in flight for the recovery sweep');
      return;
    }
    const entry: Entry = { batch, attempt: 0, state: 'queued' };
    entries.set(batch.batchId, entry);
    tally('queued', 1);
    queue.push(entry);
  };

  const pump = (ctx: ActorContext<PipelineMessage>): void => {
    while (status.running < deps.concurrency && queue.length > 0 && !(stopping && !deps.drainOnStop)) {
      const entry = queue.shift() as Entry;
      if (entry.state !== 'queued' || entries.get(entry.batch.batchId) !== entry) continue;
      run(entry, ctx);
    }
    publish(ctx);
  };

  const run = (entry: Entry, ctx: ActorContext<PipelineMessage>): void => {
    move(entry, 'running');
    entry.attempt++;
    status.running++;
    const task = runner
      .run(toFlushedBatch(entry.batch), entry.attempt, deps.handlerTimeoutMs)
      .then(
        (actions) => delivered(entry, actions, ctx),
        (error: unknown) => failed(entry, error, ctx),
      )
      .catch((error: unknown) => ctx.log.error({ err: error, batchId: entry.batch.batchId }, 'pipeline bookkeeping failed'));
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  };

  const delivered = async (entry: Entry, actions: HandlerAction[], ctx: ActorContext<PipelineMessage>): Promise<void> => {
    const { batch } = entry;
    for (const action of actions) apply(batch, action, ctx);
    move(entry, 'acking');
    status.running--;
    // The fields (the merged text) are built only when the line is written.
    if (ctx.log.isLevelEnabled('info')) {
      ctx.log.info(
        { batchId: batch.batchId, sessionId: batch.sessionId, phone: batch.phone, messages: batch.messages.length, reason: batch.reason, text: batchText(batch.messages), actions: actions.length },
        'batch delivered',
      );
    }
    // The handler's slot is free now: the next batch need not wait for this one's ack (a
    // store round trip). The entry stays (state 'acking') until the ack lands.
    pump(ctx);
    await acknowledge(entry, ctx);
    publish(ctx);
  };

  /** Until the ack lands the batch stays in flight; the renew tick tries again. */
  const acknowledge = async (entry: Entry, ctx: ActorContext<PipelineMessage>): Promise<void> => {
    try {
      await deps.store.ack(entry.batch.batchId);
      if (entries.get(entry.batch.batchId) === entry) status.delivered++;
      forget(entry);
    } catch (error) {
      ctx.log.warn({ err: error, batchId: entry.batch.batchId }, 'ack failed; will try again');
    }
  };

  const failed = async (entry: Entry, error: unknown, ctx: ActorContext<PipelineMessage>): Promise<void> => {
    status.running--;
    const { batchId } = entry.batch;
    if (entry.attempt < deps.maxAttempts && stopping) {
      status.retried++;
      // Draining for shutdown: try again at once while the shutdown budget lasts; otherwise
      // leave it in flight (its lease is given back in stop) for the next runtime.
      move(entry, deps.drainOnStop ? 'queued' : 'waiting');
      if (deps.drainOnStop) queue.push(entry);
      ctx.log.warn({ batchId, attempt: entry.attempt, err: error }, 'handler failed during shutdown');
      publish(ctx);
      return;
    }
    if (entry.attempt < deps.maxAttempts) {
      const delayMs = Math.min(deps.retryInitialMs * 2 ** (entry.attempt - 1), deps.retryMaxMs);
      move(entry, 'waiting');
      status.retried++;
      ctx.log.warn({ batchId, attempt: entry.attempt, delayMs, err: error }, 'handler failed; retrying the batch');
      ctx.timers.once(`retry:${batchId}`, delayMs, { type: 'retry', batchId });
      publish(ctx);
      return;
    }
    try {
      await deps.store.deadLetter(batchId, describe(error), ctx.clock.now());
      forget(entry);
      status.deadLettered++;
      ctx.log.error({ batchId, attempts: entry.attempt, err: error }, 'batch dead-lettered after repeated failures');
    } catch (storeError) {
      move(entry, 'waiting');
      ctx.log.warn({ err: storeError, batchId }, 'could not dead-letter; the batch stays in flight');
    }
    pump(ctx);
  };

  const apply = (batch: Batch, action: HandlerAction, ctx: ActorContext<PipelineMessage>): void => {
    const target = action.type === 'reply' ? sessionPaths(batch.sessionId).gateway : '/booking';
    const ref = ctx.lookup(target);
    const message = action.type === 'reply' ? { type: 'send', to: batch.phone, text: action.text, source: `batch ${batch.batchId}` } : { type: 'book', request: action.request, batchId: batch.batchId };
    if (!ref?.tell(message)) ctx.log.warn({ batchId: batch.batchId, action: action.type, target }, 'no actor to carry out the handler action');
  };

  const claimOwn = async (ctx: ActorContext<PipelineMessage>): Promise<void> => {
    const now = ctx.clock.now();
    try {
      const mine = await deps.store.claim({ owner: deps.owner, now, leaseUntil: now + deps.leaseMs, includeOwn: true, limit: deps.queueMax });
      claimPending = false;
      for (const batch of mine) offer(batch, ctx);
      if (mine.length > 0) ctx.log.info({ batches: mine.length }, 'claimed in-flight batches to deliver');
      pump(ctx);
    } catch (error) {
      if (errorCode(error) !== 'WAR_ERR_STORE_UNAVAILABLE') throw error;
      ctx.log.warn('store unavailable; will claim in-flight batches once it is back');
    }
  };

  const renewLeases = async (ctx: ActorContext<PipelineMessage>): Promise<void> => {
    if (claimPending) await claimOwn(ctx);
    const leaseUntil = ctx.clock.now() + deps.leaseMs;
    for (const entry of [...entries.values()]) {
      if (entry.state === 'acking') {
        await acknowledge(entry, ctx);
        continue;
      }
      const held = await deps.store.renew(entry.batch.batchId, deps.owner, leaseUntil).catch(() => true);
      // Another runtime took it over after our lease ran out: it delivers, we let go.
      if (!held && entry.state !== 'running') forget(entry);
    }
    publish(ctx);
  };

  return {
    async start(ctx) {
      runner = deps.createRunner();
      ctx.timers.every('renew', Math.max(50, Math.floor(deps.leaseMs / 3)), { type: 'renew' });
      try {
        await claimOwn(ctx);
      } catch (error) {
        await runner.close();
        throw error;
      }
    },
    receive(message, ctx) {
      switch (message.type) {
        case 'batch':
          offer(message.batch, ctx);
          pump(ctx);
          return undefined;
        case 'retry': {
          const entry = entries.get(message.batchId);
          if (entry?.state === 'waiting') {
            move(entry, 'queued');
            queue.push(entry);
            pump(ctx);
          }
          return undefined;
        }
        case 'renew':
          void renewLeases(ctx).catch((error: unknown) => ctx.log.warn({ err: error }, 'lease renewal failed'));
          return undefined;
        case 'status':
          publish(ctx);
          return { ...status };
      }
    },
    async stop(ctx, reason: ExitReason) {
      stopping = true;
      if (deps.drainOnStop && reason.kind === 'shutdown') {
        // Retries still waiting get their last chance now: the process is going away.
        for (const entry of entries.values()) {
          if (entry.state === 'waiting') {
            move(entry, 'queued');
            queue.push(entry);
          }
        }
        while (queue.length > 0 || tasks.size > 0) {
          pump(ctx);
          await Promise.race(tasks);
        }
      } else {
        await Promise.all(tasks);
      }
      await runner.close();
      // What is left stays in flight; giving the lease back lets the next runtime (or this
      // one, restarted) deliver it at once instead of after the lease runs out.
      const left: string[] = [];
      for (const entry of entries.values()) {
        if (entry.state === 'acking') continue;
        left.push(entry.batch.batchId);
        await deps.store.renew(entry.batch.batchId, deps.owner, 0).catch(() => false);
      }
      if (left.length > 0) ctx.log.warn({ batches: left }, 'batches still in flight at stop; handed back for the next start');
    },
  };
}
