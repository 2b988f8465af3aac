/**
 * The newest `capacity` items, oldest first. A full ring overwrites its oldest slot, so a
 * check that reports every second for a month never allocates more than its bound; the slot
 * array grows on demand up to `capacity`, because most checks (a `restarts:<path>` that
 * appears once) never fill theirs. `RingQueue` (src/actor/ring-queue.ts) grows without bound
 * and cannot be read by index, which is what history queries need.
 */
export class BoundedRing<T> {
  readonly capacity: number;
  #items: T[] = [];
  /** Index of the oldest item once the ring is full; 0 while it is filling. */
  #head = 0;
  /** Items ever pushed: tells a reader which absolute position an index stands for. */
  #pushed = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, not ${capacity}`);
    this.capacity = capacity;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Absolute position (in push order) of the oldest item kept. */
  get firstPosition(): number {
    return this.#pushed - this.#items.length;
  }

  /** Adds `item` as the newest; returns the oldest item it pushed out, if the ring was full. */
  push(item: T): T | undefined {
    this.#pushed++;
    if (this.#items.length < this.capacity) {
      this.#items.push(item);
      return undefined;
    }
    const evicted = this.#items[this.#head];
    this.#items[this.#head] = item;
    this.#head = (this.#head + 1) % this.capacity;
    return evicted;
  }

  /** The item `index` places from the oldest (0) kept; undefined out of range. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#items.length) return undefined;
    return this.#items[(this.#head + index) % this.#items.length];
  }

  newest(): T | undefined {
    return this.at(this.#items.length - 1);
  }

  oldest(): T | undefined {
    return this.at(0);
  }

  /** Forgets the items pushed before absolute position `position` (those a writer has sent). */
  dropBefore(position: number): void {
    const drop = Math.min(Math.max(0, position - this.firstPosition), this.#items.length);
    if (drop === 0) return;
    const kept: T[] = [];
    for (let i = drop; i < this.#items.length; i++) kept.push(this.at(i) as T);
    this.#items = kept;
    this.#head = 0;
  }

  /** The items `keep` accepts, oldest first. */
  filter(keep: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#items.length; i++) {
      const item = this.at(i) as T;
      if (keep(item)) out.push(item);
    }
    return out;
  }

  toArray(): T[] {
    const out: T[] = new Array<T>(this.#items.length);
    for (let i = 0; i < this.#items.length; i++) out[i] = this.at(i) as T;
    return out;
  }
}
