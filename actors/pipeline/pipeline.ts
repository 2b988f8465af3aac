import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ActorContext, Behaviour, ExitReason } from '../../src/actor/behaviour.js';
import { RingQueue } from '../../src/actor/ring-queue.js';
import { describe, errorCode } from '../../src/errors.js';
import type { ActionFailedEvent, DeadLetterEvent } from '../../src/events/runtime-events.js';
import type { ConditionLog } from '../../src/logging/condition-log.js';
import type { Outcome, SendAccepted, SendRequest } from '../whatsapp/session-protocol.js';
import { batchText, type Batch } from '../batcher/batch.js';
import type { BatchStore } from '../batcher/batch-store.js';
import type { BatchHandoff } from '../batcher/batcher.js';
import type { ActionName, ActionOutcome } from './action-outcome.js';
import { toFlushedBatch, type FlushedBatch, type HandlerAction } from './handler.js';
import type { HandlerRunner } from './handler-runner.js';
import type { PipelineCounters } from './pipeline-counters.js';
import { failureSignal, retryRule } from './retry-rule.js';

export type PipelineMessage =
  | BatchHandoff
  | { readonly type: 'retry'; readonly batchId: string }
  | { readonly type: 'renew' }
  | { readonly type: 'status' }
  /** An operator's `test`: the handler runs once on a synthetic batch marked `test`; nothing is stored, acked or carried out. */
  | { readonly type: 'dry_run'; readonly batch: FlushedBatch; readonly reply: (result: DryRunResult) => void };

/** What a dry run came to: the actions the handler asked for are named, never carried out. */
export type DryRunResult =
  | { readonly ok: true; readonly durationMs: number; readonly actions: readonly HandlerAction['type'][] }
  | { readonly ok: false; readonly durationMs: number; readonly error: string };

export interface PipelineStatus {
  queued: number;
  running: number;
  waitingRetry: number;
  delivered: number;
  /** Of the delivered, the batches with at least one action that could not be carried out. */
  deliveredWithFailedActions: number;
  retried: number;
  deadLettered: number;
  /**
   * Epoch ms the oldest batch still queued, running or waiting for a retry was cut; null when
   * there is none. The queue monitor's age of the oldest undelivered batch.
   */
  oldestSince: number | null;
  /** Per action, per outcome, since the runtime started. */
  actions: Record<ActionName, Partial<Record<ActionOutcome, number>>>;
}

/** Where a reply goes: a session's gateway (its send queue). */
/** A session's send queue, as a reply reaches it: its gateway, or (runtimes sharing sessions) the stored queue of a session another node runs. */
export type ReplyTarget = Pick<ActorRef<{ readonly type: 'send' } & SendRequest, unknown>, 'ask'>;

/** Where a `book` action goes, once the booking actor exists. */
export type BookingTarget = ActorRef<{ readonly type: 'book'; readonly request: Readonly<Record<string, unknown>>; readonly batchId: string; readonly index: number }, unknown>;

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
  /** The gateway of a session, or undefined when the runtime has no such session. */
  readonly replyTo: (sessionId: string) => ReplyTarget | undefined;
  /** The booking actor; undefined while the runtime has none. */
  readonly booking: BookingTarget | undefined;
  /** How long a target may take to take an action. */
  readonly actionTimeoutMs: number;
  /** Outlive the actor's incarnations: what /metrics and stats count, and one log line per condition. */
  readonly counters: PipelineCounters;
  readonly conditions: ConditionLog;
  readonly events: { publish(event: ActionFailedEvent | DeadLetterEvent): void };
  /**
   * On shutdown, deliver everything queued before stopping (the memory store, which does
   * not outlive the process); otherwise give the leases back for the next runtime.
   */
  readonly drainOnStop: boolean;
  /** How long a stop may still wait for deliveries (the shutdown's deadline, less its reserve). */
  readonly drainRemainingMs: () => number;
}

const NO_OUTCOMES: readonly ActionOutcome[] = Object.freeze([]);

interface Entry {
  readonly batch: Batch;
  attempt: number;
  /** While `waiting`: when the retry is due (clock ms), so a drain at shutdown keeps the backoff. */
  retryAt: number;
  /** Delivered, and some of its actions could not be carried out (kept for an ack retried later). */
  failedActions: boolean;
  /** `applying`: the handler succeeded and its actions are being carried out; `acking`: waiting for the store's ack. */
  state: 'queued' | 'running' | 'applying' | 'waiting' | 'acking';
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
  const { counters } = deps;
  /** The in-memory queue's state; the totals live in `counters`. */
  const queueState = { queued: 0, running: 0, waitingRetry: 0 };
  /** A walk over the entries, but only when someone asks for the status (a monitor's round, /stats), never per batch. */
  const oldestSince = (): number | null => {
    let oldest: number | null = null;
    for (const entry of entries.values()) {
      if (entry.state !== 'queued' && entry.state !== 'running' && entry.state !== 'waiting') continue;
      if (oldest === null || entry.batch.flushedAt < oldest) oldest = entry.batch.flushedAt;
    }
    return oldest;
  };
  const status = (): PipelineStatus => ({ ...queueState, ...counters.snapshot(), oldestSince: oldestSince() });
  let runner: HandlerRunner;
  let stopping = false;
  /** The start could not reach the store to take back its own batches: try again on the next tick. */
  let claimPending = true;
  /**
   * Batches were turned away because the queue was full: they wait in the store, released,
   * and are pulled back as soon as there is room (not after a lease runs out).
   */
  let backlogged = false;
  let pulling = false;
  /** Batches released while a pull's claim was out: that claim may not have seen them. */
  let releasedDuringPull = 0;

  const publish = (ctx: ActorContext<PipelineMessage>): void => {
    ctx.setDetail({ ...queueState, delivered: counters.deliveredCount, retried: counters.retried, deadLettered: counters.deadLettered });
  };

  /** `queued` and `waitingRetry` are kept as entries change state, not counted by a scan per batch. */
  const tally = (state: Entry['state'], by: number): void => {
    if (state === 'queued') queueState.queued += by;
    else if (state === 'waiting') queueState.waitingRetry += by;
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
    if (entries.size >= deps.queueMax || (stopping && !deps.drainOnStop)) {
      // Backpressure: the batch waits in the store, claimable at once by this pipeline (once
      // it has room) or any other runtime's.
      backlogged = true;
      if (pulling) releasedDuringPull++;
      deps.conditions.on('backlogged', 'warn', { queueMax: deps.queueMax }, 'pipeline full (PIPELINE_QUEUE_MAX); batches wait in the store and are taken as room frees');
      void deps.store.release(batch.batchId, deps.owner).catch(() => undefined);
      return;
    }
    const entry: Entry = { batch, attempt: 0, retryAt: 0, failedActions: false, state: 'queued' };
    entries.set(batch.batchId, entry);
    tally('queued', 1);
    queue.push(entry);
  };

  const pump = (ctx: ActorContext<PipelineMessage>): void => {
    while (queueState.running < deps.concurrency && queue.length > 0 && !(stopping && !deps.drainOnStop)) {
      const entry = queue.shift() as Entry;
      if (entry.state !== 'queued' || entries.get(entry.batch.batchId) !== entry) continue;
      run(entry, ctx);
    }
    if (backlogged) pull(ctx);
    publish(ctx);
  };

  /**
   * Takes back batches that wait in the store for room, in bulk: once half the queue is free,
   * or sooner if the handlers would otherwise run dry, so the drain keeps the handler's pace.
   */
  const pull = (ctx: ActorContext<PipelineMessage>): void => {
    const room = deps.queueMax - entries.size;
    if (pulling || (stopping && !deps.drainOnStop) || room <= 0 || (room < Math.ceil(deps.queueMax / 2) && queueState.queued >= deps.concurrency)) return;
    pulling = true;
    releasedDuringPull = 0;
    const now = ctx.clock.now();
    void deps.store
      .claim({ owner: deps.owner, now, leaseUntil: now + deps.leaseMs, includeOwn: false, limit: room })
      .then(
        (batches) => {
          pulling = false;
          // Fewer than asked: nothing more waits, unless a batch was released meanwhile.
          if (batches.length < room && releasedDuringPull === 0) {
            backlogged = false;
            deps.conditions.off('backlogged', 'the batches that waited for room are taken');
          }
          for (const batch of batches) offer(batch, ctx);
          pump(ctx);
        },
        (error: unknown) => {
          // The store is away: the renew tick pulls again.
          pulling = false;
          ctx.log.debug({ err: error }, 'could not pull waiting batches');
        },
      );
  };

  /** The conversation's next batch, leased to this pipeline when the one before it is settled. */
  const nextLease = (ctx: ActorContext<PipelineMessage>): { owner: string; leaseUntil: number } => ({ owner: deps.owner, leaseUntil: ctx.clock.now() + deps.leaseMs });

  const run = (entry: Entry, ctx: ActorContext<PipelineMessage>): void => {
    move(entry, 'running');
    entry.attempt++;
    queueState.running++;
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
    move(entry, 'applying');
    queueState.running--;
    // The handler's slot is free now: the next batch need not wait for this one's actions
    // and ack (a store round trip). The entry stays (state 'acking') until the ack lands.
    pump(ctx);
    // Most batches ask for nothing (a webhook handler): no promise, no tick before the ack then.
    const outcomes = actions.length === 0 ? NO_OUTCOMES : await Promise.all(actions.map((action, index) => apply(batch, action, index, ctx)));
    const failedActions = outcomes.filter((outcome) => outcome !== 'done').length;
    move(entry, 'acking');
    // The fields (the merged text) are built only when the line is written.
    if (ctx.log.isLevelEnabled('info')) {
      ctx.log.info(
        {
          batchId: batch.batchId,
          sessionId: batch.sessionId,
          phone: batch.phone,
          messages: batch.messages.length,
          reason: batch.reason,
          text: batchText(batch.messages),
          actions: actions.length,
          outcome: failedActions > 0 ? 'delivered_with_failed_actions' : 'delivered',
          ...(failedActions > 0 ? { actionOutcomes: outcomes } : {}),
        },
        'batch delivered',
      );
    }
    await acknowledge(entry, failedActions > 0, ctx);
    publish(ctx);
  };

  /** Until the ack lands the batch stays in flight; the renew tick tries again. */
  const acknowledge = async (entry: Entry, withFailedActions: boolean, ctx: ActorContext<PipelineMessage>): Promise<void> => {
    try {
      const settled = await deps.store.ack(entry.batch, nextLease(ctx));
      if (entries.get(entry.batch.batchId) === entry) counters.delivered(withFailedActions);
      forget(entry);
      if (settled.next) offer(settled.next, ctx);
      // Its slot is free only now: the next batch, and a pull of those waiting for room.
      pump(ctx);
      deps.conditions.off('ack_failed', 'acks go through again');
    } catch (error) {
      entry.failedActions = withFailedActions;
      deps.conditions.on('ack_failed', 'warn', { err: error, batchId: entry.batch.batchId }, 'ack failed; the renew tick tries again');
    }
  };

  const failed = async (entry: Entry, error: unknown, ctx: ActorContext<PipelineMessage>): Promise<void> => {
    queueState.running--;
    const { batchId } = entry.batch;
    const decision = retryRule(error, entry.attempt, deps);
    if (decision.kind === 'retry') {
      const { delayMs } = decision;
      move(entry, 'waiting');
      entry.retryAt = ctx.clock.now() + delayMs;
      counters.retried++;
      if (stopping) {
        // The drain in `stop` retries it when its backoff is over, if the shutdown's budget
        // lasts (memory store); otherwise it stays in flight for the next start.
        ctx.log.warn({ batchId, attempt: entry.attempt, delayMs, err: error }, 'handler failed during shutdown');
      } else {
        ctx.log.warn({ batchId, attempt: entry.attempt, delayMs, err: error }, 'handler failed; retrying the batch');
        ctx.timers.once(`retry:${batchId}`, delayMs, { type: 'retry', batchId });
      }
      // Its slot is free while it waits: the batches queued behind it must not wait for its retry.
      pump(ctx);
      return;
    }
    try {
      const at = ctx.clock.now();
      const settled = await deps.store.deadLetter(entry.batch, describe(error), at, nextLease(ctx));
      forget(entry);
      if (settled.next) offer(settled.next, ctx);
      const { sessionId, phone, messages } = entry.batch;
      if (!settled.settled) {
        // Our lease ran out and another runtime delivers it now (or an earlier try went through).
        ctx.log.warn({ batchId, sessionId, phone, attempts: entry.attempt, err: error }, 'batch not dead-lettered: this runtime no longer holds it');
        pump(ctx);
        return;
      }
      counters.deadLettered++;
      ctx.log.error(
        { batchId, sessionId, phone, messages: messages.length, reason: entry.batch.reason, attempts: entry.attempt, status: failureSignal(error).status, why: decision.why, err: error },
        'batch dead-lettered; GET /admin/dead-letters lists it, POST /admin/dead-letters/:batchId/retry delivers it again',
      );
      deps.events.publish({ type: 'dead_lettered', at, batchId, sessionId, phone, attempts: entry.attempt, error: `${describe(error)} (${decision.why})` });
    } catch (storeError) {
      // The store is away: the batch stays in flight and goes round once more (a delivery that
      // now succeeds is better than a dead letter), then tries to be parked again.
      move(entry, 'waiting');
      entry.attempt = deps.maxAttempts - 1;
      entry.retryAt = ctx.clock.now() + deps.retryMaxMs;
      if (!stopping) ctx.timers.once(`retry:${batchId}`, deps.retryMaxMs, { type: 'retry', batchId });
      ctx.log.warn({ err: storeError, batchId }, 'could not dead-letter; the batch stays in flight and is tried again');
    }
    pump(ctx);
  };

  /** Carries one action out and says what became of it; never throws (the batch is delivered either way). */
  const apply = async (batch: Batch, action: HandlerAction, index: number, ctx: ActorContext<PipelineMessage>): Promise<ActionOutcome> => {
    let outcome: ActionOutcome;
    let why: string;
    if (action.type === 'reply') {
      const target = deps.replyTo(batch.sessionId);
      if (!target) {
        outcome = 'no_session';
        why = `no WhatsApp session ${JSON.stringify(batch.sessionId)} in this runtime (WA_SESSIONS)`;
      } else {
        try {
          const answer = (await target.ask({ type: 'send', to: batch.phone, text: action.text, source: `batch ${batch.batchId}` }, { timeoutMs: deps.actionTimeoutMs })) as Outcome<SendAccepted> | undefined;
          outcome = answer && !answer.ok ? 'refused' : 'done';
          why = answer && !answer.ok ? `${answer.code}: ${answer.message}` : '';
        } catch (error) {
          outcome = 'unavailable';
          why = describe(error);
        }
      }
    } else if (!deps.booking) {
      outcome = 'no_booking';
      why = 'no booking actor runs (YClients is not configured)';
    } else {
      // The action's index makes its api_id: a redelivered batch books each of its actions at most once.
      outcome = deps.booking.tell({ type: 'book', request: action.request, batchId: batch.batchId, index }) ? 'done' : 'unavailable';
      why = outcome === 'done' ? '' : 'the booking actor did not take the request';
    }
    counters.action(action.type, outcome);
    if (outcome !== 'done') {
      const key = `${action.type}:${outcome}:${batch.sessionId}`;
      deps.conditions.on(key, 'warn', { action: action.type, outcome, sessionId: batch.sessionId, batchId: batch.batchId }, `a handler's ${action.type} could not be carried out: ${why}`);
      deps.events.publish({ type: 'action_failed', at: ctx.clock.now(), batchId: batch.batchId, sessionId: batch.sessionId, phone: batch.phone, action: action.type, outcome, message: why });
    }
    return outcome;
  };

  const claimOwn = async (ctx: ActorContext<PipelineMessage>): Promise<void> => {
    const now = ctx.clock.now();
    try {
      const mine = await deps.store.claim({ owner: deps.owner, now, leaseUntil: now + deps.leaseMs, includeOwn: true, limit: deps.queueMax });
      claimPending = false;
      for (const batch of mine) offer(batch, ctx);
      if (mine.length > 0) ctx.log.info({ batches: mine.length }, 'claimed in-flight batches to deliver');
      pump(ctx);
      deps.conditions.off('claim_pending', 'claimed in-flight batches once the store was back');
    } catch (error) {
      if (errorCode(error) !== 'WAR_ERR_STORE_UNAVAILABLE') throw error;
      deps.conditions.on('claim_pending', 'warn', { cause: describe(error) }, 'store unavailable; will claim in-flight batches once it is back');
    }
  };

  const renewLeases = async (ctx: ActorContext<PipelineMessage>): Promise<void> => {
    if (claimPending) await claimOwn(ctx);
    if (backlogged) pull(ctx);
    const leaseUntil = ctx.clock.now() + deps.leaseMs;
    for (const entry of [...entries.values()]) {
      if (entry.state === 'acking') {
        await acknowledge(entry, entry.failedActions, ctx);
        continue;
      }
      const held = await deps.store.renew(entry.batch.batchId, deps.owner, leaseUntil).catch(() => true);
      // Another runtime took it over after our lease ran out: it delivers, we let go.
      if (!held && entry.state !== 'running' && entry.state !== 'applying') forget(entry);
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
          return status();
        case 'dry_run': {
          const started = performance.now();
          const elapsed = (): number => Math.round(performance.now() - started);
          // Not awaited: a slow handler must not hold the mailbox (the batches keep flowing).
          void runner.run(message.batch, 1, deps.handlerTimeoutMs).then(
            (actions) => message.reply({ ok: true, durationMs: elapsed(), actions: actions.map((action) => action.type) }),
            (error: unknown) => message.reply({ ok: false, durationMs: elapsed(), error: describe(error) }),
          );
          return undefined;
        }
      }
    },
    async stop(ctx, reason: ExitReason) {
      stopping = true;
      // Wall time: a drain must end before the process's own shutdown timer, whatever the clock says.
      const deadline = performance.now() + (reason.kind === 'shutdown' ? deps.drainRemainingMs() : deps.handlerTimeoutMs + deps.actionTimeoutMs);
      const left = (): number => Math.max(0, deadline - performance.now());
      if (deps.drainOnStop && reason.kind === 'shutdown') {
        // The memory store does not outlive the process: deliver what can be delivered in
        // time, retries at their backoff; the rest is spilled to DATA_DIR after the tree stops.
        while (left() > 0) {
          const now = ctx.clock.now();
          let nextRetryMs = Infinity;
          for (const entry of entries.values()) {
            if (entry.state !== 'waiting') continue;
            if (entry.retryAt <= now) {
              move(entry, 'queued');
              queue.push(entry);
            } else nextRetryMs = Math.min(nextRetryMs, entry.retryAt - now);
          }
          pump(ctx);
          if (queue.length === 0 && tasks.size === 0 && !pulling && nextRetryMs === Infinity) break;
          await Promise.race([...tasks, sleep(Math.min(nextRetryMs, left(), 1_000))]);
        }
      } else {
        await Promise.race([Promise.all(tasks), sleep(left())]);
      }
      // Handlers still running past the budget are abandoned; their batches stay in flight.
      // Closing the pool is bounded too: what comes after (the spill) must fit the deadline.
      await Promise.race([runner.close(), sleep(Math.max(100, left()))]);
      await Promise.race([Promise.allSettled(tasks), sleep(100)]);
      // What is left stays in flight; giving the lease back lets the next runtime (or this
      // one, restarted) deliver it at once instead of after the lease runs out.
      const remaining: string[] = [];
      for (const entry of entries.values()) {
        if (entry.state === 'acking') continue;
        remaining.push(entry.batch.batchId);
        await deps.store.release(entry.batch.batchId, deps.owner).catch(() => false);
      }
      if (remaining.length > 0) {
        ctx.log.warn({ batches: remaining.length, batchIds: remaining.slice(0, 20), store: deps.store.kind }, 'batches not delivered before stop; they stay in the store for the next start');
      }
    },
  };
}

/** Unref'd: a drain's wait must not keep the process (or a finished shutdown) alive for the rest of its budget. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
