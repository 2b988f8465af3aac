import type { Logger } from 'pino';
import type { ManagedChild } from '../../supervisor/managed-child.js';
import type { TreeNode } from '../../supervisor/tree-node.js';
import type { Clock } from '../clock.js';
import { ActorFailedError, ActorStoppedError, AskTimeoutError, MailboxFullError, RuntimeError, toError } from '../errors.js';
import { Context } from './actor-context.js';
import type { ActorRef, AskOptions } from './actor-ref.js';
import { NORMAL, SHUTDOWN, type Behaviour, type BehaviourFactory, type ExitReason } from './behaviour.js';
import { isValidTimeout, settleWithin, within } from './deadline.js';
import type { Dispatcher, Runnable } from './dispatcher.js';
import { Mailbox, Offer, type MailboxOptions, type MailboxStats } from './mailbox.js';
import { PendingAsk } from './pending-ask.js';
import { ActorTimers, TimerEnvelope, type TimerSink } from './timers.js';

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

/**
 * Reported to the owner when an incarnation ends on its own (normal exit or failure), never
 * for an ordered stop. `child` is the one that exited, so an owner can use one listener for
 * all its children.
 */
export type ExitListener = (reason: ExitReason, incarnation: number, child: ManagedChild) => void;

/** An ask in the mailbox; any other envelope kind is a told message or a timer tick. */
/** An ask in the mailbox; any other envelope kind is a told message or a timer tick. */
class AskEnvelope<M, R> extends PendingAsk<M, R> {}

type Envelope<M, R> = M | AskEnvelope<M, R> | TimerEnvelope<M>;

type Phase = 'idle' | 'starting' | 'running' | 'ending' | 'disposed';

const ignore = (): undefined => undefined;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs one actor: its mailbox, its current incarnation (behaviour, context, timers) and
 * the rule "one message at a time, in order". The cell outlives incarnations, so refs to
 * it stay valid across restarts and messages queued during a restart are kept.
 *
 * Every incarnation ends in exactly one teardown (its `stop` runs once), whichever way it
 * ends: by itself (failure, normal exit, reported to the owner), by an ordered `stop`
 * (not reported: the owner asked), even when the stop comes while it is still starting.
 */
export class ActorCell<M, R = void> implements ActorRef<M, R>, Runnable, ManagedChild, TimerSink<M> {
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
  /** Bumped when an incarnation starts and when it ends: a stale context or callback never matches. */
  #incarnation = 0;
  #behaviour: Behaviour<M, R> | undefined;
  #context: Context<M> | undefined;
  #awaiting = false;
  #stopRequested = false;
  #failRequested: Error | undefined;
  /** An ordered stop arrived while starting: the start tears down as soon as it completes. */
  #abortStart = false;
  /** An ordered stop joined a teardown already under way: the owner asked, so no exit report. */
  #suppressExit = false;
  #exitListener: ExitListener | undefined;
  #deadLetters = 0;
  #detail: Readonly<Record<string, unknown>> | undefined;
  #logger: Logger | undefined;
  #inFlight: Promise<void> | undefined;
  #inFlightAsk: AskEnvelope<M, R> | undefined;
  #startCall: Promise<void> | undefined;
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

  get self(): ActorRef<M, unknown> {
    return this as ActorRef<M, unknown>;
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
    const timeoutMs = options?.timeoutMs ?? this.#env.askTimeoutMs;
    if (!isValidTimeout(timeoutMs)) {
      return Promise.reject(new RuntimeError('WAR_ERR_BAD_ARGUMENT', `ask timeoutMs must be a positive number or Infinity, got ${timeoutMs}`));
    }
    return new Promise<R>((resolve, reject) => {
      const clock = this.#env.clock;
      const envelope = new AskEnvelope<M, R>(message, clock, resolve, reject);
      const offer = this.#mailbox.offer(envelope);
      if (offer === Offer.Refused) {
        reject(new MailboxFullError(this.path, this.#mailbox.capacity));
        return;
      }
      if (offer === Offer.EnqueuedEvicting) this.#rejectEvicted();
      // Infinity: the caller enforces its own deadline (a thread actor's ask is timed on the main thread).
      if (Number.isFinite(timeoutMs)) {
        envelope.timer = clock.setTimeout(() => envelope.reject(new AskTimeoutError(this.path, timeoutMs)), timeoutMs);
      }
      this.#wake();
    });
  }

  /**
   * An ask whose reply may come back at once. When the cell could take the message this
   * moment anyway (running, not waiting on an async receive, nothing queued, not in the
   * dispatcher's ready queue), `receive` runs on the caller's stack: the order a mailbox
   * pass would give it, without the hop through the mailbox, the dispatcher and a promise.
   * A synchronous result is returned as is; an async one is awaited by the cell as for any
   * message (the next message waits for it) and returned as a promise. Otherwise: `ask`.
   */
  askNow(message: M, options?: AskOptions): R | Promise<R> {
    if (this.#phase !== 'running' || this.#awaiting || this.scheduled || this.#mailbox.depth > 0) return this.ask(message, options);
    const incarnation = this.#incarnation;
    this.#mailbox.processed++;
    // Busy while receive runs: a tell meanwhile is queued, not dispatched (or run) alongside it.
    this.#awaiting = true;
    let result: R | Promise<R>;
    try {
      result = (this.#behaviour as Behaviour<M, R>).receive(message, this.#context as Context<M>);
    } catch (error) {
      const failure = toError(error);
      if (incarnation === this.#incarnation) {
        this.#receiveSettled();
        this.#failIncarnation(failure, undefined);
      }
      throw new ActorFailedError(this.path, failure);
    }
    if (incarnation !== this.#incarnation) {
      // Failed by its own context while it ran; the answer is that failure.
      return Promise.reject(new ActorStoppedError(this.path));
    }
    if (isThenable(result)) {
      return new Promise<R>((resolve, reject) => {
        const ask = new AskEnvelope<M, R>(message, this.#env.clock, resolve, reject);
        this.#awaitReceive(result as Promise<R>, ask);
      });
    }
    this.#receiveSettled();
    if (this.#stopRequested || this.#failRequested) this.#endOnRequest();
    else if (this.#mailbox.depth > 0) this.#wake();
    return result;
  }

  /** @internal where this cell's timers put their ticks (a method, not a closure per cell). */
  deliverTimer(envelope: TimerEnvelope<M>): void {
    if (this.#phase === 'disposed') return;
    this.#mailbox.force(envelope);
    this.#wake();
  }

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
    if (this.#stopRequested || this.#failRequested) {
      this.#endOnRequest();
      return;
    }
    const mailbox = this.#mailbox;
    const behaviour = this.#behaviour as Behaviour<M, R>;
    const context = this.#context as Context<M>;
    let handled = 0;
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
    this.#inFlightAsk = ask;
    const incarnation = this.#incarnation;
    this.#inFlight = result.then(
      (value) => {
        if (incarnation !== this.#incarnation) return;
        this.#receiveSettled();
        ask?.resolve(value);
        if (this.#stopRequested || this.#failRequested) this.#endOnRequest();
        else this.#wake();
      },
      (error: unknown) => {
        if (incarnation !== this.#incarnation) return;
        this.#receiveSettled();
        this.#failIncarnation(toError(error), ask);
      },
    );
  }

  #receiveSettled(): void {
    this.#awaiting = false;
    this.#inFlight = undefined;
    this.#inFlightAsk = undefined;
  }

  #endOnRequest(): void {
    if (this.#failRequested) this.#failIncarnation(this.#failRequested, undefined);
    else void this.#endIncarnation(NORMAL);
  }

  #failIncarnation(error: Error, ask: AskEnvelope<M, R> | undefined): void {
    ask?.reject(new ActorFailedError(this.path, error));
    void this.#endIncarnation({ kind: 'failure', error });
  }

  /**
   * The incarnation ends by itself: run `stop`, then tell the owner (unless it asked for the
   * stop meanwhile). At once when `stop` is synchronous (or absent), as a passivating batcher's is.
   */
  #endIncarnation(reason: ExitReason): void | Promise<void> {
    if (this.#phase !== 'running') return;
    const incarnation = this.#incarnation;
    this.#suppressExit = false;
    const done = this.#teardown(reason, this.#stopTimeoutMs);
    if (done) return done.then(() => this.#reportExit(reason, incarnation));
    this.#reportExit(reason, incarnation);
  }

  #reportExit(reason: ExitReason, incarnation: number): void {
    if ((this.#phase as Phase) === 'disposed' || this.#suppressExit) return;
    this.#exitListener?.(reason, incarnation, this);
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /**
   * Starts a new incarnation. Returns its number (which its exit will report) at once when
   * the behaviour's `start` completed synchronously, else a promise of it. Rejects (and
   * leaves the cell idle) if `start` throws, times out, or is stopped first.
   */
  start(): number | Promise<number> {
    if (this.#phase !== 'idle') return Promise.reject(new RuntimeError('WAR_ERR_ILLEGAL_STATE', `cannot start ${this.path} while ${this.#phase}`));
    const incarnation = ++this.#incarnation;
    this.#phase = 'starting';
    this.#stopRequested = false;
    this.#failRequested = undefined;
    this.#abortStart = false;
    this.#receiveSettled();
    this.#detail = undefined;
    this.#startCall = undefined;
    const timers = new ActorTimers<M>(this.#env.clock, this);
    const context = new Context<M>(this, incarnation, timers, this.#env.clock, this.#env.lookup);
    let behaviour: Behaviour<M, R>;
    let started: void | Promise<void> | undefined;
    try {
      behaviour = this.#factory();
      this.#behaviour = behaviour;
      this.#context = context;
      started = behaviour.start?.(context);
    } catch (error) {
      return Promise.reject(this.#startFailed(timers, error));
    }
    if (isThenable(started)) {
      const call = this.#finishStart(started, behaviour, context, timers, incarnation);
      // Kept only while a start is still under way: an ordered stop waits for it.
      this.#startCall = call.then(ignore, ignore);
      return call;
    }
    if (this.#failRequested) return Promise.reject(this.#startFailed(timers, this.#failRequested));
    return this.#started(incarnation);
  }

  async #finishStart(started: PromiseLike<void>, behaviour: Behaviour<M, R>, context: Context<M>, timers: ActorTimers<M>, incarnation: number): Promise<number> {
    try {
      const outcome = await within(started, this.#startTimeoutMs, this.#env.clock);
      if (!outcome.settled) {
        // It may still finish: its stop must run then, once, on its own context.
        void Promise.resolve(started).then(() => this.#stopAbandoned(behaviour, context), ignore);
        throw new RuntimeError('WAR_ERR_ACTOR_START_TIMEOUT', `${this.path} did not start within ${this.#startTimeoutMs} ms`);
      }
      if (this.#failRequested) throw this.#failRequested;
    } catch (error) {
      throw this.#startFailed(timers, error);
    }
    return this.#started(incarnation);
  }

  /** The start failed: the cell is idle again, and no callback of that incarnation matches. */
  #startFailed(timers: ActorTimers<M>, error: unknown): Error {
    timers.cancelAll();
    this.#behaviour = undefined;
    this.#context = undefined;
    this.#incarnation++;
    this.#phase = 'idle';
    return toError(error);
  }

  #started(incarnation: number): number | Promise<number> {
    this.#phase = 'running';
    if (this.#abortStart) return Promise.resolve(this.#teardown(SHUTDOWN, this.#stopTimeoutMs)).then(() => Promise.reject(new ActorStoppedError(this.path)));
    if (this.#stopRequested) void this.#endIncarnation(NORMAL);
    else this.#wake();
    return incarnation;
  }

  async #stopAbandoned(behaviour: Behaviour<M, R>, context: Context<M>): Promise<void> {
    context.timers.cancelAll();
    try {
      await behaviour.stop?.(context, SHUTDOWN);
    } catch (error) {
      this.logger.warn({ err: toError(error) }, 'stop() of an abandoned start threw');
    }
  }

  /**
   * An ordered stop: waits (up to `timeoutMs`) for a receive in flight, or for a start in
   * progress, then runs `stop`. The owner is not notified; it asked. Queued messages stay
   * for a later incarnation.
   */
  async stop(timeoutMs: number): Promise<void> {
    switch (this.#phase) {
      case 'idle':
      case 'disposed':
        return;
      case 'starting': {
        this.#abortStart = true;
        const done = await settleWithin(this.#startCall as Promise<void>, timeoutMs, this.#env.clock);
        if (!done) this.logger.warn({ timeoutMs }, 'still starting at the shutdown timeout; it stops when its start completes');
        return;
      }
      case 'ending':
        this.#suppressExit = true;
        await this.#teardownDone;
        return;
      case 'running':
        this.#phase = 'ending';
        this.#teardownDone = this.#stopAfterInFlight(timeoutMs);
        await this.#teardownDone;
    }
  }

  async #stopAfterInFlight(timeoutMs: number): Promise<void> {
    const deadline = this.#env.clock.now() + timeoutMs;
    if (this.#inFlight) {
      const done = await settleWithin(this.#inFlight, timeoutMs, this.#env.clock);
      if (!done) this.logger.warn({ timeoutMs }, 'receive still running at the shutdown timeout; abandoning it');
    }
    await this.#runTeardown(SHUTDOWN, Math.max(0, deadline - this.#env.clock.now()));
  }

  /** Ends the incarnation: undefined once done (a synchronous `stop`), else a promise of its end. */
  #teardown(reason: ExitReason, timeoutMs: number): Promise<void> | undefined {
    this.#phase = 'ending';
    this.#teardownDone = this.#runTeardown(reason, timeoutMs);
    return this.#teardownDone;
  }

  #runTeardown(reason: ExitReason, timeoutMs: number): Promise<void> | undefined {
    const behaviour = this.#behaviour;
    const context = this.#context as Context<M>;
    this.#incarnation++;
    context.timers.cancelAll();
    this.#receiveSettled();
    let stopped: void | Promise<void> | undefined;
    try {
      stopped = behaviour?.stop?.(context, reason);
    } catch (error) {
      this.logger.warn({ err: toError(error) }, 'stop() threw');
    }
    if (isThenable(stopped)) return this.#awaitStop(stopped, timeoutMs);
    this.#tornDown();
    return undefined;
  }

  async #awaitStop(stopped: PromiseLike<void>, timeoutMs: number): Promise<void> {
    try {
      const done = await settleWithin(stopped, timeoutMs, this.#env.clock);
      if (!done) this.logger.warn({ timeoutMs }, 'stop() did not finish within the shutdown timeout');
    } catch (error) {
      this.logger.warn({ err: toError(error) }, 'stop() threw');
    }
    this.#tornDown();
  }

  #tornDown(): void {
    this.#behaviour = undefined;
    this.#context = undefined;
    if (this.#phase === 'ending') this.#phase = 'idle';
  }

  /** No incarnation will follow: pending asks fail with WAR_ERR_ACTOR_STOPPED, queued tells are counted as dropped. */
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

  /** As if `receive` threw: at once, even while an async receive is still pending (its late result is ignored). */
  requestFail(incarnation: number, error: Error): void {
    if (incarnation !== this.#incarnation) return;
    if (this.#phase === 'running' && this.#awaiting) {
      const ask = this.#inFlightAsk;
      this.#receiveSettled();
      this.#failIncarnation(error, ask);
      return;
    }
    this.#failRequested = error;
    if (this.#phase === 'running' && !this.scheduled) this.#failIncarnation(error, undefined);
  }

  setDetail(incarnation: number, detail: Readonly<Record<string, unknown>> | undefined): void {
    if (incarnation === this.#incarnation) this.#detail = detail;
  }
}
