import { RingQueue } from './ring-queue.js';

/**
 * What a full mailbox does with one more message:
 * - `reject`: refuse it; `tell` returns false and `ask` fails with WAR_ERR_MAILBOX_FULL;
 * - `drop_oldest`: evict the head to make room (an evicted ask fails with WAR_ERR_MAILBOX_FULL);
 * - `drop_newest`: discard the incoming message.
 * Every refused or evicted message is counted in `dropped`.
 */
export type OverflowPolicy = 'reject' | 'drop_oldest' | 'drop_newest';

export interface MailboxOptions {
  capacity: number;
  overflow: OverflowPolicy;
}

export interface MailboxStats {
  depth: number;
  processed: number;
  dropped: number;
}

export const DEFAULT_MAILBOX: MailboxOptions = { capacity: 10_000, overflow: 'reject' };

export const Offer = {
  Enqueued: 0,
  Refused: 1,
  /** Enqueued after evicting the oldest message, which `takeEvicted` returns. */
  EnqueuedEvicting: 2,
} as const;
export type Offer = (typeof Offer)[keyof typeof Offer];

export class Mailbox<T> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  dropped = 0;
  processed = 0;
  readonly #queue: RingQueue<T>;
  #evicted: T | undefined;

  constructor(options: MailboxOptions) {
    this.capacity = options.capacity;
    this.overflow = options.overflow;
    // Small to start (most actors hold a message or two at a time); it doubles as needed.
    this.#queue = new RingQueue<T>(Math.min(4, options.capacity));
  }

  get depth(): number {
    return this.#queue.length;
  }

  offer(item: T): Offer {
    if (this.#queue.length < this.capacity) {
      this.#queue.push(item);
      return Offer.Enqueued;
    }
    this.dropped++;
    if (this.overflow !== 'drop_oldest') return Offer.Refused;
    this.#evicted = this.#queue.shift();
    this.#queue.push(item);
    return Offer.EnqueuedEvicting;
  }

  /** Bypasses the capacity: for the runtime's own messages (timer ticks), which are bounded by construction. */
  force(item: T): void {
    this.#queue.push(item);
  }

  takeEvicted(): T | undefined {
    const item = this.#evicted;
    this.#evicted = undefined;
    return item;
  }

  take(): T | undefined {
    return this.#queue.shift();
  }

  drain(): T[] {
    return this.#queue.drain();
  }

  stats(): MailboxStats {
    return { depth: this.#queue.length, processed: this.processed, dropped: this.dropped };
  }
}
