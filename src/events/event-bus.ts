import type { Logger } from 'pino';
import type { ActorRef } from '../actor/actor-ref.js';
import { RingQueue } from '../actor/ring-queue.js';

/** A subscriber: a function (if it returns a promise, the next event waits for it) or an actor the event is told to. */
export type Listener<E> = ((event: E) => unknown) | ActorRef<E, unknown>;

export type CutOffReason = 'threw' | 'overflow';

export interface SubscribeOptions<T extends string> {
  /** Only these event types; default all. */
  readonly types?: readonly T[];
  /** For logs and stats: who this is (`alerts`, `dashboard:7`). */
  readonly name?: string;
  /** Events that may wait for a busy subscriber before it is cut off (default 1,000). */
  readonly capacity?: number;
  /** Told once when the bus cuts this subscriber off. */
  readonly onCutOff?: (reason: CutOffReason, error?: unknown) => void;
}

export interface EventBusStats {
  readonly subscribers: number;
  readonly published: number;
  readonly cutOff: Readonly<Record<CutOffReason, number>>;
}

const DEFAULT_CAPACITY = 1_000;

class Subscriber<E extends { readonly type: string }> {
  active = true;
  busy = false;
  readonly backlog = new RingQueue<E>();

  constructor(
    readonly deliver: (event: E) => unknown,
    readonly types: ReadonlySet<string> | undefined,
    readonly name: string,
    readonly capacity: number,
    readonly onCutOff: ((reason: CutOffReason, error?: unknown) => void) | undefined,
  ) {}
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * One stream of typed events with bounded subscribers. Every subscriber sees every event it
 * takes once, in publish order (an event published from inside a subscriber is delivered to
 * everyone after the one being delivered). A subscriber is called synchronously while it
 * keeps up; one whose promise is pending gets the next events queued, up to its capacity. A
 * subscriber that throws, rejects, overflows its queue or whose actor refuses the event is cut
 * off and counted: it never blocks the publisher or another subscriber.
 */
export class EventBus<E extends { readonly type: string }> {
  readonly #logger: Logger;
  readonly #subscribers = new Set<Subscriber<E>>();
  /** How many subscribers take each type: a hot path skips building an event nobody takes (`wants`). */
  readonly #takers = new Map<string, number>();
  #allTakers = 0;
  readonly #queue = new RingQueue<E>();
  #dispatching = false;
  #published = 0;
  readonly #cutOff: Record<CutOffReason, number> = { threw: 0, overflow: 0 };
  #seq = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Returns the unsubscribe function (true if it was still subscribed). */
  subscribe<T extends E['type'] = E['type']>(listener: Listener<Extract<E, { readonly type: T }>>, options: SubscribeOptions<T> = {}): () => boolean {
    const deliver =
      typeof listener === 'function'
        ? (listener as (event: E) => unknown)
        : (event: E): void => {
            if (!listener.tell(event as Extract<E, { readonly type: T }>)) throw new MailboxRefused(listener.path);
          };
    const types = options.types ? new Set<string>(options.types) : undefined;
    const name = options.name ?? (typeof listener === 'function' ? `subscriber ${++this.#seq}` : listener.path);
    const subscriber = new Subscriber<E>(deliver, types, name, options.capacity ?? DEFAULT_CAPACITY, options.onCutOff);
    this.#subscribers.add(subscriber);
    this.#take(subscriber, 1);
    return () => this.#remove(subscriber);
  }

  /** True if some subscriber takes events of `type`. */
  wants(type: E['type']): boolean {
    return this.#allTakers > 0 || (this.#takers.get(type) ?? 0) > 0;
  }

  publish(event: E): void {
    this.#published++;
    if (this.#subscribers.size === 0) return;
    this.#queue.push(event);
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      while (this.#queue.length > 0) {
        const next = this.#queue.shift() as E;
        for (const subscriber of this.#subscribers) this.#offer(subscriber, next);
      }
    } finally {
      this.#dispatching = false;
    }
  }

  get stats(): EventBusStats {
    return { subscribers: this.#subscribers.size, published: this.#published, cutOff: { ...this.#cutOff } };
  }

  #offer(subscriber: Subscriber<E>, event: E): void {
    if (!subscriber.active || (subscriber.types && !subscriber.types.has(event.type))) return;
    if (subscriber.busy) {
      if (subscriber.backlog.length >= subscriber.capacity) {
        this.#cut(subscriber, 'overflow');
        return;
      }
      subscriber.backlog.push(event);
      return;
    }
    this.#call(subscriber, event);
  }

  /**
   * Delivers `event`, then whatever queued behind it, until a delivery is pending or the
   * backlog is empty. The subscriber counts as busy meanwhile, so an event published from
   * inside it queues behind the ones it already has.
   */
  #call(subscriber: Subscriber<E>, event: E): void {
    subscriber.busy = true;
    let next: E | undefined = event;
    while (next !== undefined) {
      if (!subscriber.active) return;
      let result: unknown;
      try {
        result = subscriber.deliver(next);
      } catch (error) {
        this.#cut(subscriber, error instanceof MailboxRefused ? 'overflow' : 'threw', error);
        return;
      }
      if (isThenable(result)) {
        result.then(
          () => {
            const queued = subscriber.backlog.shift();
            if (queued === undefined) subscriber.busy = false;
            else this.#call(subscriber, queued);
          },
          (error: unknown) => this.#cut(subscriber, 'threw', error),
        );
        return;
      }
      next = subscriber.backlog.shift();
    }
    subscriber.busy = false;
  }

  #cut(subscriber: Subscriber<E>, reason: CutOffReason, error?: unknown): void {
    if (!this.#remove(subscriber)) return;
    this.#cutOff[reason]++;
    this.#logger.warn({ subscriber: subscriber.name, reason, err: error }, 'event subscriber cut off');
    try {
      subscriber.onCutOff?.(reason, error);
    } catch (hookError) {
      this.#logger.warn({ subscriber: subscriber.name, err: hookError }, 'onCutOff threw');
    }
  }

  #remove(subscriber: Subscriber<E>): boolean {
    if (!this.#subscribers.delete(subscriber)) return false;
    subscriber.active = false;
    while (subscriber.backlog.length > 0) subscriber.backlog.shift();
    this.#take(subscriber, -1);
    return true;
  }

  #take(subscriber: Subscriber<E>, by: 1 | -1): void {
    if (!subscriber.types) {
      this.#allTakers += by;
      return;
    }
    for (const type of subscriber.types) this.#takers.set(type, (this.#takers.get(type) ?? 0) + by);
  }
}

/** An actor subscriber's mailbox refused an event: it cannot keep up. */
class MailboxRefused extends Error {
  constructor(path: string) {
    super(`the mailbox of ${path} refused the event`);
  }
}
