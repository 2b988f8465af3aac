import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import { local, type ActorSpec } from '../../supervisor/child-spec.js';
import { errorCode } from '../../src/errors.js';
import type { Batch, FlushCounts, PendingSummary } from './batch.js';
import type { BatchStore } from './batch-store.js';
import type { Conversation } from './conversation.js';
import { decideFlush, type FlushRules } from './flush-rule.js';

export type BatcherMessage =
  /** Ingress stored a message for this conversation. */
  | { readonly type: 'appended'; readonly pending: PendingSummary }
  /** The flush timer: ask the store to flush if due. */
  | { readonly type: 'due' };

/**
 * The `/batchers` template's args: the conversation and, when ingress starts the batcher
 * right after storing a message, the summary the store returned for it. The first
 * incarnation takes `known` (and clears it), so it arms its timer without a store read;
 * any later incarnation of the same child (a restart after a crash, a passivation race)
 * reads the store, as does a batcher the recovery sweep starts.
 */
export interface BatcherStart extends Conversation {
  known?: PendingSummary | undefined;
}

/** What the pipeline accepts from a batcher (see actors/pipeline). */
export type BatchHandoff = { readonly type: 'batch'; readonly batch: Batch };

export interface BatcherDeps {
  readonly store: BatchStore;
  readonly rules: FlushRules;
  readonly leaseMs: number;
  /** This runtime instance: the owner of the batches it flushes until it delivers them. */
  readonly owner: string;
  /** The pipeline, linked at spawn. */
  readonly pipeline: ActorRef<BatchHandoff, unknown>;
  readonly newBatchId: () => string;
  /** Shared by every batcher: batches cut, by reason. */
  readonly flushed: FlushCounts;
  /** Wait before asking the store again while it is unavailable. */
  readonly storeRetryMs: number;
}

/** Leaves are generous: one conversation's trouble must not take the others down. */
const BATCHER_BACKOFF = Object.freeze({ initialMs: 100, maxMs: 5_000, maxAttempts: 20 });
/** Only the latest 'appended' summary matters; a flood of them keeps the newest. */
const BATCHER_MAILBOX = Object.freeze({ capacity: 64, overflow: 'drop_oldest' as const });

/**
 * The `/batchers` template: one conversation's batcher as a dynamic child. Transient (a
 * passivated batcher stays down), backing off and left down after repeated failures (the
 * recovery sweep starts a fresh one for whatever is still pending). The shared parts of the
 * spec are constants, so a pending conversation costs only its own parts.
 */
export function batcherSpec(id: string, start: BatcherStart, deps: BatcherDeps): ActorSpec<BatcherMessage, void> {
  return {
    kind: 'actor',
    id,
    restart: 'transient',
    backoff: BATCHER_BACKOFF,
    onGiveUp: 'stay_down',
    mailbox: BATCHER_MAILBOX,
    behaviour: local(() => batcher(start, deps)),
  };
}

/** The timer's message; one shared object, since it carries nothing. */
const DUE: BatcherMessage = Object.freeze({ type: 'due' });

/**
 * `/batchers/<sessionId>:<phone>`: one conversation's flush timer. The store holds the
 * messages and decides (atomically) whether a flush is due; this actor only makes sure
 * the store is asked at the right time, hands the batch to the pipeline, and passivates
 * once nothing is pending. A crash loses nothing: the next incarnation reads the store.
 */
export function batcher(start: BatcherStart, deps: BatcherDeps): Behaviour<BatcherMessage, void> {
  return new Batcher(start, deps);
}

/**
 * A class rather than closures: one of these lives per pending conversation (10,000 at
 * once is ordinary), so its methods sit on the prototype instead of in every instance.
 * `receive` is synchronous unless it flushes, so arming a timer costs no promise.
 */
class Batcher implements Behaviour<BatcherMessage, void> {
  /** Doubles as the conversation (the stores read only sessionId and phone). */
  readonly #start: BatcherStart;
  readonly #deps: BatcherDeps;
  /**
   * This incarnation did not see its messages arrive (the recovery sweep started it, or it
   * replaces one that crashed) and found them already due: its flush is `recovered`.
   * Never set for a batcher ingress started: that one's flush follows the rule, however late.
   */
  #recovering = false;

  constructor(start: BatcherStart, deps: BatcherDeps) {
    this.#start = start;
    this.#deps = deps;
  }

  start(ctx: ActorContext<BatcherMessage>): void | Promise<void> {
    const known = this.#start.known;
    if (known) {
      // Handed over once: a later incarnation of this child must read the store.
      this.#start.known = undefined;
      if (this.#arm(known, ctx)) ctx.self.tell(DUE);
      return;
    }
    return this.#guarded(ctx, () => this.#startFromStore(ctx));
  }

  receive(message: BatcherMessage, ctx: ActorContext<BatcherMessage>): void | Promise<void> {
    if (message.type === 'appended' && !this.#arm(message.pending, ctx)) return;
    return this.#guarded(ctx, () => this.#flush(ctx));
  }

  async #startFromStore(ctx: ActorContext<BatcherMessage>): Promise<void> {
    const deps = this.#deps;
    const pending = await deps.store.pending(this.#start);
    if (!pending) {
      // Nothing left (flushed by the incarnation before, or by another runtime). Not a stop
      // here: a restart for mail waiting (a message told to the one before as it passivated)
      // would start another incarnation that stops in start again, without ever taking that
      // mail, for ever. A flush due now takes the mail first, finds the store empty and stops.
      ctx.timers.once('due', 0, DUE);
      return;
    }
    if (this.#arm(pending, ctx)) {
      // Already due when this incarnation starts: it was not flushed on time (a crash or a
      // restart of the runtime) unless it is simply full.
      this.#recovering = decideFlush(pending, ctx.clock.now(), deps.rules).due && pending.count < deps.rules.maxMessages;
      ctx.self.tell(DUE);
    }
  }

  /** Arms the flush timer for `pending`; true if it is due now instead. */
  #arm(pending: PendingSummary, ctx: ActorContext<BatcherMessage>): boolean {
    const now = ctx.clock.now();
    const decision = decideFlush(pending, now, this.#deps.rules);
    if (decision.due) return true;
    ctx.timers.once('due', decision.dueAt - now, DUE);
    return false;
  }

  async #flush(ctx: ActorContext<BatcherMessage>): Promise<void> {
    const deps = this.#deps;
    const now = ctx.clock.now();
    const force = this.#recovering ? 'recovered' : undefined;
    const result = await deps.store.flush(this.#start, {
      now,
      rules: deps.rules,
      ...(force ? { force } : {}),
      batchId: deps.newBatchId(),
      owner: deps.owner,
      leaseUntil: now + deps.leaseMs,
    });
    this.#recovering = false;
    switch (result.status) {
      case 'flushed': {
        deps.flushed[result.batch.reason]++;
        // Not deliverable: it waits in the store behind its conversation's earlier batch, and
        // whoever settles that one delivers it (ordering.ts). Refused (the pipeline is
        // restarting): the lease is given back, so the recovery sweep or the restarted
        // pipeline takes it at once instead of after the lease runs out.
        if (result.deliverable && !deps.pipeline.tell({ type: 'batch', batch: result.batch })) {
          ctx.log.warn({ batchId: result.batch.batchId }, 'pipeline did not take the batch; it waits in the store for the recovery sweep');
          void deps.store.release(result.batch.batchId, deps.owner).catch(() => undefined);
        }
        if (result.remaining) {
          if (this.#arm(result.remaining, ctx)) ctx.self.tell(DUE);
        } else ctx.stop();
        return;
      }
      case 'not_due':
        if (this.#arm(result.pending, ctx)) ctx.self.tell(DUE);
        return;
      case 'empty':
        ctx.stop();
        return;
    }
  }

  /** The store is away (Redis reconnecting): try again shortly instead of failing. */
  async #guarded(ctx: ActorContext<BatcherMessage>, work: () => Promise<void>): Promise<void> {
    try {
      await work();
      ctx.setDetail(undefined);
    } catch (error) {
      if (errorCode(error) !== 'WAR_ERR_STORE_UNAVAILABLE') throw error;
      ctx.setDetail({ waitingForStore: true });
      ctx.timers.once('due', this.#deps.storeRetryMs, DUE);
    }
  }
}
