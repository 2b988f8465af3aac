import type { Clock, TimerHandle } from '../clock.js';

/** A timer's message on its way through the mailbox; discarded if the timer was cancelled or replaced meanwhile. */
export class TimerEnvelope<M> {
  constructor(
    readonly owner: ActorTimers<M>,
    readonly key: string,
    readonly generation: number,
    readonly message: M,
  ) {}
}

export interface Timers<M> {
  /** Delivers `message` once after `delayMs`; replaces a timer with the same key. */
  once(key: string, delayMs: number, message: M): void;
  /** Delivers `message` every `intervalMs`; replaces a timer with the same key. */
  every(key: string, intervalMs: number, message: M): void;
  cancel(key: string): void;
  isActive(key: string): boolean;
}

/** Where an actor's timer ticks go: its cell, which puts them in the mailbox. */
export interface TimerSink<M> {
  deliverTimer(envelope: TimerEnvelope<M>): void;
}

/**
 * One key's timer. Re-arming a key reuses its entry, so an actor that re-arms a timer per
 * message, as a batcher does, allocates only the clock's timer each time.
 */
class TimerEntry<M> {
  handle: TimerHandle | undefined;
  generation = 0;
  periodic = false;
  delayMs = 0;
  /** A tick of this timer waits in the mailbox: a periodic timer adds no second one. */
  queued = false;

  constructor(
    readonly owner: ActorTimers<M>,
    readonly key: string,
    public message: M,
  ) {}
}

/** The clock's callback for every actor timer: the entry rides along as the timer's argument, so no closure per timer. */
function fireEntry<M>(entry: TimerEntry<M>): void {
  entry.owner.fire(entry);
}

/**
 * Keyed timers that deliver a message to the actor itself (like Akka's TimerScheduler),
 * so timer work is serialised with every other message. Owned by one incarnation:
 * `cancelAll` runs when it ends, and a tick already queued is dropped by its generation.
 */
export class ActorTimers<M> implements Timers<M> {
  /** Most actors use one key: it lives here, and a map is made only for a second key. */
  #one: TimerEntry<M> | undefined;
  #more: Map<string, TimerEntry<M>> | undefined;
  readonly #clock: Clock;
  readonly #sink: TimerSink<M>;
  #generation = 0;
  #closed = false;

  constructor(clock: Clock, sink: TimerSink<M>) {
    this.#clock = clock;
    this.#sink = sink;
  }

  /** Delivers `message` once after `delayMs`; replaces a timer with the same key. */
  once(key: string, delayMs: number, message: M): void {
    this.#arm(key, delayMs, message, false);
  }

  /** Delivers `message` every `intervalMs`; replaces a timer with the same key. */
  every(key: string, intervalMs: number, message: M): void {
    this.#arm(key, intervalMs, message, true);
  }

  cancel(key: string): void {
    const entry = this.#get(key);
    if (!entry) return;
    if (entry.handle) this.#clock.clearTimeout(entry.handle);
    this.#delete(key);
  }

  isActive(key: string): boolean {
    return this.#get(key) !== undefined;
  }

  get size(): number {
    return (this.#one ? 1 : 0) + (this.#more?.size ?? 0);
  }

  cancelAll(): void {
    if (this.#one?.handle) this.#clock.clearTimeout(this.#one.handle);
    if (this.#more) for (const entry of this.#more.values()) if (entry.handle) this.#clock.clearTimeout(entry.handle);
    this.#one = undefined;
    this.#more = undefined;
    this.#closed = true;
  }

  /** Called by the cell when a tick reaches the front of the mailbox: is it still wanted? */
  accept(envelope: TimerEnvelope<M>): boolean {
    if (this.#closed) return false;
    const entry = this.#get(envelope.key);
    if (!entry || entry.generation !== envelope.generation) return false;
    entry.queued = false;
    if (!entry.periodic) this.#delete(envelope.key);
    return true;
  }

  /** @internal the clock's callback for `entry`'s current timer. */
  fire(entry: TimerEntry<M>): void {
    if (this.#get(entry.key) !== entry) return;
    if (entry.periodic) entry.handle = this.#clock.setTimeout(fireEntry, entry.delayMs, entry);
    else entry.handle = undefined;
    // A busy actor gets one tick per timer, not a backlog of them: ticks stay bounded by the number of keys.
    if (entry.queued) return;
    entry.queued = true;
    this.#sink.deliverTimer(new TimerEnvelope(this, entry.key, entry.generation, entry.message));
  }

  #arm(key: string, delayMs: number, message: M, periodic: boolean): void {
    if (this.#closed) return;
    let entry = this.#get(key);
    if (entry) {
      entry.message = message;
      // The same delay again (a batcher re-arming its quiet window per message): the pending
      // timer starts over, with no new timer made.
      if (entry.handle && entry.delayMs === delayMs && entry.periodic === periodic && this.#clock.refresh) {
        entry.generation = ++this.#generation;
        entry.queued = false;
        this.#clock.refresh(entry.handle);
        return;
      }
      if (entry.handle) this.#clock.clearTimeout(entry.handle);
    } else {
      entry = new TimerEntry(this, key, message);
      if (!this.#one) this.#one = entry;
      else (this.#more ??= new Map()).set(key, entry);
    }
    // A new generation: a tick of the replaced timer still in the mailbox is dropped.
    entry.generation = ++this.#generation;
    entry.periodic = periodic;
    entry.delayMs = delayMs;
    entry.queued = false;
    entry.handle = this.#clock.setTimeout(fireEntry, delayMs, entry);
  }

  #get(key: string): TimerEntry<M> | undefined {
    return this.#one?.key === key ? this.#one : this.#more?.get(key);
  }

  #delete(key: string): void {
    if (this.#one?.key === key) this.#one = undefined;
    else this.#more?.delete(key);
  }
}
