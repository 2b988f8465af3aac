import type { Clock, TimerHandle } from '../clock.js';

interface TimerEntry {
  handle: TimerHandle;
  generation: number;
  periodic: boolean;
  /** A tick of this timer waits in the mailbox: a periodic timer adds no second one. */
  queued: boolean;
}

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

/**
 * Keyed timers that deliver a message to the actor itself (like Akka's TimerScheduler),
 * so timer work is serialised with every other message. Owned by one incarnation:
 * `cancelAll` runs when it ends, and a tick already queued is dropped by its generation.
 */
export class ActorTimers<M> implements Timers<M> {
  readonly #entries = new Map<string, TimerEntry>();
  readonly #clock: Clock;
  readonly #deliver: (envelope: TimerEnvelope<M>) => void;
  #generation = 0;
  #closed = false;

  constructor(clock: Clock, deliver: (envelope: TimerEnvelope<M>) => void) {
    this.#clock = clock;
    this.#deliver = deliver;
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
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#clock.clearTimeout(entry.handle);
    this.#entries.delete(key);
  }

  isActive(key: string): boolean {
    return this.#entries.has(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  cancelAll(): void {
    for (const entry of this.#entries.values()) this.#clock.clearTimeout(entry.handle);
    this.#entries.clear();
    this.#closed = true;
  }

  /** Called by the cell when a tick reaches the front of the mailbox: is it still wanted? */
  accept(envelope: TimerEnvelope<M>): boolean {
    if (this.#closed) return false;
    const entry = this.#entries.get(envelope.key);
    if (!entry || entry.generation !== envelope.generation) return false;
    entry.queued = false;
    if (!entry.periodic) this.#entries.delete(envelope.key);
    return true;
  }

  #arm(key: string, delayMs: number, message: M, periodic: boolean): void {
    if (this.#closed) return;
    this.cancel(key);
    const generation = ++this.#generation;
    const fire = (): void => {
      const entry = this.#entries.get(key);
      if (!entry || entry.generation !== generation) return;
      if (periodic) entry.handle = this.#clock.setTimeout(fire, delayMs);
      // A busy actor gets one tick per timer, not a backlog of them: ticks stay bounded by the number of keys.
      if (entry.queued) return;
      entry.queued = true;
      this.#deliver(new TimerEnvelope(this, key, generation, message));
    };
    this.#entries.set(key, { handle: this.#clock.setTimeout(fire, delayMs), generation, periodic, queued: false });
  }
}
