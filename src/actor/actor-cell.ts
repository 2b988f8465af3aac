import type { Logger } from 'pino';
import type { ManagedChild } from '../../supervisor/managed-child.js';
import type { TreeNode } from '../../supervisor/tree-node.js';
import type { Clock, TimerHandle } from '../clock.js';
import {
  ActorFailedError,
  ActorStoppedError,
  AskTimeoutError,
  MailboxFullError,
  RuntimeError,
  toError,
} from '../errors.js';
import type { ActorRef, AskOptions } from './actor-ref.js';
import { NORMAL, SHUTDOWN, type ActorContext, type Behaviour, type BehaviourFactory, type ExitReason } from './behaviour.js';
import type { Dispatcher, Runnable } from './dispatcher.js';
import { Mailbox, Offer, type MailboxOptions, type MailboxStats } from './mailbox.js';
import { PendingAsk } from './pending-ask.js';
import { ActorTimers, TimerEnvelope } from './timers.js';

/** What a cell needs from the runtime it lives in (the main thread's system or a worker host). */
export interface CellEnvironment {
  readonly dispatcher: Dispatcher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly askTimeoutMs: number;
  lookup<M = unknown, R = unknown>(path: string): ActorRef<M, R> | undefined;
}

export interface CellOptions<M, R> {
  path: string;
  factory: BehaviourFactory<M, R>;
  mailbox: MailboxOptions;
  startTimeoutMs: number;
  /** How long `stop` may take when the incarnation ends by itself (failure or normal exit). */
  stopTimeoutMs: number;
}

/** Reported to the owner when an incarnation ends on its own (normal exit or failure), never for an ordered stop. */
export type ExitListener = (reason: ExitReason, incarnation: number) => void;

/** An ask in the mailbox; any other envelope kind is a told message or a timer tick. */
class AskEnvelope<M, R> extends PendingAsk<M, R> {}

type Envelope<M, R> = M | AskEnvelope<M, R> | TimerEnvelope<M>;

type Phase = 'idle' | 'starting' | 'running' | 'ending' | 'disposed';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs one actor: its mailbox, its current incarnation (behaviour, context, timers) and
 * the rule "one message at a time, in order". The cell outlives incarnations, so refs to
 * it stay valid across restarts and messages queued during a restart are kept.
 */
export class ActorCell<M, R = void> implements ActorRef<M, R>, Runnable, ManagedChild {
  readonly path: string;
  readonly kind = 'actor';
  readonly placement = 'local';
  scheduled = false;

  readonly #env: CellEnvironment;
  readonly #factory: BehaviourFactory<M, R>;
  readonly #mailbox: Mailbox<Envelope<M, R>>;
  readonly #startTimeoutMs: number;
  readonly #stopTimeoutMs: number;
  #phase: Phase = 'idle';
  #incarnation = 0;
  #behaviour: Behaviour<M, R> | undefined;
  #context: Context<M, R> | undefined;
  #awaiting = false;
  #stopRequested = false;
  #failRequested: Error | undefined;
  #exitListener: ExitListener | undefined;
  #deadLetters = 0;
  #detail: Readonly<Record<string, unknown>> | undefined;
  #logger: Logger | undefined;
  /** Settles when an async receive in flight finishes; lets an ordered stop wait for it. */
  #inFlight: Promise<void> | undefined;
  /** Settles when the incarnation being torn down is gone. */
  #teardownDone: Promise<void> | undefined;

  constructor(options: CellOptions<M, R>, env: CellEnvironment) {
    this.path = options.path;
    this.#env = env;
    this.#factory = options.factory;
    this.#mailbox = new Mailbox(options.mailbox);
    this.#startTimeoutMs = options.startTimeoutMs;
    this.#stopTimeoutMs = options.stopTimeoutMs;
  }

  get ref(): ActorRef<unknown, unknown> {
    return this as unknown as ActorRef<unknown, unknown>;
  }

  childNodes(): TreeNode[] {
    return [];
  }

  get logger(): Logger {
    this.#logger ??= this.#env.logger.child({ actor: this.path });
    return this.#logger;
  }

  get incarnation(): number {
    return this.#incarnation;
  }

  get isRunning(): boolean {
    return this.#phase === 'running';
  }

  get detail(): Readonly<Record<string, unknown>> | undefined {
    return this.#detail;
  }

  onExit(listener: ExitListener): void {
    this.#exitListener = listener;
  }

  mailboxStats(): MailboxStats {
    const stats = this.#mailbox.stats();
    stats.dropped += this.#deadLetters;
    return stats;
  }

  // ---- sending -------------------------------------------------------------------------

  tell(message: M): boolean {
    if (this.#phase === 'disposed') {
      this.#deadLetters++;
      return false;
    }
    const offer = this.#mailbox.offer(message);
    if (offer !== Offer.Enqueued) {
      if (offer === Offer.Refused) return false;
      this.#rejectEvicted();
    }
    this.#wake();
    return true;
  }

  ask(message: M, options?: AskOptions): Promise<R> {
    if (this.#phase === 'disposed') return Promise.reject(new ActorStoppedError(this.path));
    return new Promise<R>((resolve, reject) => {
      const clock = this.#env.clock;
      const envelope = new AskEnvelope<M, R>(message, clock, resolve, reject);
      const offer = this.#mailbox.offer(envelope);
      if (offer === Offer.Refused) {
        reject(new MailboxFullError(this.path, this.#mailbox.capacity));
        return;
      }
      if (offer === Offer.EnqueuedEvicting) this.#rejectEvicted();
      const timeoutMs = options?.timeoutMs ?? this.#env.askTimeoutMs;
      // Infinity: the caller enforces its own deadline (a thread actor's ask is timed on the main thread).
      if (Number.isFinite(timeoutMs)) {
        envelope.timer = clock.setTimeout(() => envelope.reject(new AskTimeoutError(this.path, timeoutMs)), timeoutMs);
      }
      this.#wake();
    });
  }

  #deliverTimer = (envelope: TimerEnvelope<M>): void => {
    if (this.#phase === 'disposed') return;
    this.#mailbox.force(envelope);
    this.#wake();
  };

  #rejectEvicted(): void {
    const evicted = this.#mailbox.takeEvicted();
    if (evicted instanceof AskEnvelope) evicted.reject(new MailboxFullError(this.path, this.#mailbox.capacity));
  }

  #wake(): void {
    if (this.#phase === 'running' && !this.#awaiting && !this.scheduled) this.#env.dispatcher.schedule(this);
  }

  // ---- processing ----------------------------------------------------------------------

  get wantsMore(): boolean {
    return this.#phase === 'running' && !this.#awaiting && this.#mailbox.depth > 0;
  }

  runSlice(max: number): void {
    const mailbox = this.#mailbox;
    const behaviour = this.#behaviour as Behaviour<M, R>;
    const context = this.#context as Context<M, R>;
    let handled = 0;
    if (this.#stopRequested || this.#failRequested) {
      this.#endOnRequest();
      return;
    }
    while (handled < max && this.#phase === 'running' && !this.#awaiting && mailbox.depth > 0) {
      const envelope = mailbox.take() as Envelope<M, R>;
      handled++;
      let message: M;
      let ask: AskEnvelope<M, R> | undefined;
      if (envelope instanceof AskEnvelope) {
        ask = envelope;
        message = envelope.message;
      } else if (envelope instanceof TimerEnvelope) {
        if (!envelope.owner.accept(envelope)) continue;
        message = envelope.message;
      } else {
        message = envelope;
      }
      mailbox.processed++;
      let result: R | Promise<R>;
      try {
        result = behaviour.receive(message, context);
      } catch (error) {
        this.#failIncarnation(toError(error), ask);
        return;
      }
      if (isThenable(result)) {
        this.#awaitReceive(result as Promise<R>, ask);
        return;
      }
      ask?.resolve(result);
      if (this.#stopRequested || this.#failRequested) {
        this.#endOnRequest();
        return;
      }
    }
  }

  #awaitReceive(result: Promise<R>, ask: AskEnvelope<M, R> | undefined): void {
    this.#awaiting = true;
    const incarnation = this.#incarnation;
    this.#inFlight = result.then(
      (value) => {
        if (incarnation !== this.#incarnation) return;
        this.#awaiting = false;
        this.#inFlight = undefined;
        ask?.resolve(value);
        if (this.#stopRequested || this.#failRequested) this.#endOnRequest();
        else this.#wake();
      },
      (error: unknown) => {
        if (incarnation !== this.#incarnation) return;
        this.#awaiting = false;
        this.#inFlight = undefined;
        this.#failIncarnation(toError(error), ask);
      },
    );
  }

  #endOnRequest(): void {
    if (this.#failRequested) this.#failIncarnation(this.#failRequested, undefined);
    else void this.#endIncarnation(NORMAL);
  }

  #failIncarnation(error: Error, ask: AskEnvelope<M, R> | undefined): void {
    ask?.reject(new ActorFailedError(this.path, error));
    void this.#endIncarnation({ kind: 'failure', error });
  }

  /** The incarnation ends by itself: run `stop`, then tell the owner. */
  async #endIncarnation(reason: ExitReason): Promise<void> {
    if (this.#phase !== 'running') return;
    const incarnation = this.#incarnation;
    await this.#teardown(reason, this.#stopTimeoutMs);
    if ((this.#phase as Phase) === 'disposed') return;
    this.#exitListener?.(reason, incarnation);
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /** Starts a new incarnation. Rejects (and leaves the cell idle) if `start` throws or times out. */
  async start(): Promise<void> {
    if (this.#phase !== 'idle') throw new RuntimeError('ERR_BAD_SPEC', `cannot start ${this.path} while ${this.#phase}`);
    const incarnation = ++this.#incarnation;
    this.#phase = 'starting';
    this.#stopRequested = false;
    this.#failRequested = undefined;
    this.#awaiting = false;
    this.#inFlight = undefined;
    this.#detail = undefined;
    const timers = new ActorTimers<M>(this.#env.clock, this.#deliverTimer);
    const context = new Context<M, R>(this, incarnation, timers, this.#env);
    try {
      const behaviour = this.#factory();
      this.#behaviour = behaviour;
      this.#context = context;
      const started = behaviour.start?.(context);
      if (isThenable(started)) await withTimeout(started, this.#startTimeoutMs, this.#env.clock, this.path);
      if (this.#failRequested) throw this.#failRequested;
    } catch (error) {
      if (incarnation === this.#incarnation) {
        timers.cancelAll();
        this.#behaviour = undefined;
        this.#context = undefined;
        if (this.#phase === 'starting') this.#phase = 'idle';
      }
      throw toError(error);
    }
    if (incarnation !== this.#incarnation || this.#phase !== 'starting') {
      throw new ActorStoppedError(this.path);
    }
    this.#phase = 'running';
    if (this.#stopRequested) {
      void this.#endIncarnation(NORMAL);
      return;
    }
    this.#wake();
  }

  /**
   * An ordered stop: waits (up to `timeoutMs`) for a receive in flight, then runs `stop`.
   * The owner is not notified; it asked. Queued messages stay for a later incarnation.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#phase === 'ending') {
      await this.#teardownDone;
      return;
    }
    if (this.#phase === 'idle' || this.#phase === 'disposed') return;
    if (this.#phase === 'starting') {
      // Abandon the start in progress; its completion sees the new incarnation number.
      this.#incarnation++;
      this.#phase = 'idle';
      this.#context?.timers.cancelAll();
      this.#behaviour = undefined;
      this.#context = undefined;
      return;
    }
    this.#phase = 'ending';
    this.#teardownDone = this.#stopAfterInFlight(timeoutMs);
    await this.#teardownDone;
  }

  async #stopAfterInFlight(timeoutMs: number): Promise<void> {
    const deadline = this.#env.clock.now() + timeoutMs;
    if (this.#inFlight) {
      const done = await settleWithin(this.#inFlight, timeoutMs, this.#env.clock);
      if (!done) this.logger.warn({ timeoutMs }, 'receive still running at shutdown timeout; abandoning it');
    }
    await this.#runTeardown(SHUTDOWN, Math.max(0, deadline - this.#env.clock.now()));
  }

  #teardown(reason: ExitReason, timeoutMs: number): Promise<void> {
    this.#phase = 'ending';
    this.#teardownDone = this.#runTeardown(reason, timeoutMs);
    return this.#teardownDone;
  }

  async #runTeardown(reason: ExitReason, timeoutMs: number): Promise<void> {
    const behaviour = this.#behaviour;
    const context = this.#context as Context<M, R>;
    this.#incarnation++;
    context.timers.cancelAll();
    this.#awaiting = false;
    this.#inFlight = undefined;
    try {
      const stopped = behaviour?.stop?.(context, reason);
      if (isThenable(stopped)) {
        const done = await settleWithin(stopped, timeoutMs, this.#env.clock);
        if (!done) this.logger.warn({ timeoutMs }, 'stop() did not finish within the shutdown timeout');
      }
    } catch (error) {
      this.logger.warn({ err: toError(error) }, 'stop() threw');
    }
    this.#behaviour = undefined;
    this.#context = undefined;
    if (this.#phase === 'ending') this.#phase = 'idle';
  }

  /** No incarnation will follow: pending asks fail with ERR_ACTOR_STOPPED, queued tells are counted as dropped. */
  dispose(): void {
    if (this.#phase === 'disposed') return;
    this.#phase = 'disposed';
    this.#context?.timers.cancelAll();
    for (const envelope of this.#mailbox.drain()) {
      if (envelope instanceof AskEnvelope) envelope.reject(new ActorStoppedError(this.path));
      else if (!(envelope instanceof TimerEnvelope)) this.#deadLetters++;
    }
  }

  // ---- called by the context -----------------------------------------------------------

  requestStop(incarnation: number): void {
    if (incarnation !== this.#incarnation) return;
    this.#stopRequested = true;
    if (this.#phase === 'running' && !this.#awaiting && !this.scheduled) void this.#endIncarnation(NORMAL);
  }

  requestFail(incarnation: number, error: Error): void {
    if (incarnation !== this.#incarnation) return;
    this.#failRequested = error;
    if (this.#phase === 'running' && !this.#awaiting && !this.scheduled) this.#failIncarnation(error, undefined);
  }

  setDetail(incarnation: number, detail: Readonly<Record<string, unknown>> | undefined): void {
    if (incarnation === this.#incarnation) this.#detail = detail;
  }
}

class Context<M, R> implements ActorContext<M> {
  readonly timers: ActorTimers<M>;
  readonly #cell: ActorCell<M, R>;
  readonly #incarnation: number;
  readonly #env: CellEnvironment;

  constructor(cell: ActorCell<M, R>, incarnation: number, timers: ActorTimers<M>, env: CellEnvironment) {
    this.#cell = cell;
    this.#incarnation = incarnation;
    this.timers = timers;
    this.#env = env;
  }

  get path(): string {
    return this.#cell.path;
  }

  get self(): ActorRef<M, unknown> {
    return this.#cell as ActorRef<M, unknown>;
  }

  get log(): Logger {
    return this.#cell.logger;
  }

  get clock(): Clock {
    return this.#env.clock;
  }

  stop(): void {
    this.#cell.requestStop(this.#incarnation);
  }

  fail(error: Error): void {
    this.#cell.requestFail(this.#incarnation, error);
  }

  setDetail(detail: Readonly<Record<string, unknown>> | undefined): void {
    this.#cell.setDetail(this.#incarnation, detail);
  }

  lookup<N = unknown, S = unknown>(path: string): ActorRef<N, S> | undefined {
    return this.#env.lookup<N, S>(path);
  }
}

async function withTimeout<T>(promise: PromiseLike<T>, timeoutMs: number, clock: Clock, path: string): Promise<T> {
  if (!Number.isFinite(timeoutMs)) return promise;
  let timer: TimerHandle | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(
      () => reject(new RuntimeError('ERR_ACTOR_START_TIMEOUT', `${path} did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer) clock.clearTimeout(timer);
  }
}

/** Resolves true if `promise` settles (either way) within `timeoutMs`, false otherwise. */
export async function settleWithin(promise: PromiseLike<unknown>, timeoutMs: number, clock: Clock): Promise<boolean> {
  if (!Number.isFinite(timeoutMs)) {
    await Promise.resolve(promise).then(
      () => undefined,
      () => undefined,
    );
    return true;
  }
  let timer: TimerHandle | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = clock.setTimeout(() => resolve(false), timeoutMs);
  });
  const settled = Promise.resolve(promise).then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, expired]);
  } finally {
    if (timer) clock.clearTimeout(timer);
  }
}
