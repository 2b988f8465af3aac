import type { Clock } from '../../src/clock.js';
import { RuntimeError } from '../../src/errors.js';

/**
 * A small cache with a time-to-live per entry, for what YClients changes rarely (services,
 * staff: minutes) or often (free times: seconds). Every lookup saved is a request the rate
 * limiter does not have to queue.
 *
 * Bounded: past `maxEntries` the oldest entry (by when it was set) goes, so a flood of distinct
 * keys (every date of a year, every master) cannot grow memory without limit. Expiry is lazy:
 * an expired entry is dropped when read or pruned, with no timer.
 *
 * `getOrLoad` coalesces concurrent loads of one key into one request. A failed load is not
 * cached. A load overtaken by `delete`/`deleteWhere`/`clear` (a booking dropped the company's
 * free times while a lookup was in flight) still answers its callers but is not cached, since
 * it may predate the write.
 */

export interface TtlCacheOptions {
  readonly maxEntries: number;
  readonly clock: Clock;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

export class TtlCache<K, V> {
  readonly #maxEntries: number;
  readonly #clock: Clock;
  /** Insertion order is age order: `set` re-inserts, so the first key is always the oldest. */
  readonly #entries = new Map<K, Entry<V>>();
  readonly #loads = new Map<K, Promise<V>>();

  constructor(options: TtlCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', `TtlCache maxEntries must be an integer >= 1, got ${options.maxEntries}`);
    }
    this.#maxEntries = options.maxEntries;
    this.#clock = options.clock;
  }

  /** Entries held, expired ones not yet dropped included (`prune()` drops them). */
  get size(): number {
    return this.#entries.size;
  }

  /** Loads in flight. */
  get loading(): number {
    return this.#loads.size;
  }

  /** The value, or undefined when absent or expired (an expired entry is dropped). */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#clock.now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  has(key: K): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    if (this.#clock.now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return false;
    }
    return true;
  }

  /** Holds `value` for `ttlMs`; a ttl of 0 or less holds nothing (and drops what was there). */
  set(key: K, value: V, ttlMs: number): void {
    const existing = this.#entries.get(key);
    if (existing !== undefined) this.#entries.delete(key);
    if (!(ttlMs > 0)) return;
    const expiresAt = this.#clock.now() + ttlMs;
    if (existing !== undefined) {
      // Reuse the entry: refreshing a hot key allocates nothing.
      existing.value = value;
      existing.expiresAt = expiresAt;
      this.#entries.set(key, existing);
    } else {
      this.#entries.set(key, { value, expiresAt });
    }
    if (this.#entries.size > this.#maxEntries) {
      // The first key of a Map is the first inserted, so this is the oldest entry.
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  /** Drops the entry and forgets any load in flight for it; true if an entry was held. */
  delete(key: K): boolean {
    this.#loads.delete(key);
    return this.#entries.delete(key);
  }

  /** Drops every entry (and load in flight) whose key matches; returns how many entries went. */
  deleteWhere(predicate: (key: K) => boolean): number {
    let removed = 0;
    // Deleting the current key while iterating a Map is safe: iteration continues with the next.
    for (const key of this.#entries.keys()) {
      if (predicate(key)) {
        this.#entries.delete(key);
        removed++;
      }
    }
    for (const key of this.#loads.keys()) {
      if (predicate(key)) this.#loads.delete(key);
    }
    return removed;
  }

  clear(): void {
    this.#entries.clear();
    this.#loads.clear();
  }

  /** Drops expired entries; returns how many. For an owner that wants memory back without waiting for eviction. */
  prune(): number {
    const now = this.#clock.now();
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (now >= entry.expiresAt) {
        this.#entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /**
   * The cached value, or the result of `load` (cached for `ttlMs` from when it resolves).
   * Concurrent calls for one key share one load; the `ttlMs` and `load` of the first win.
   */
  getOrLoad(key: K, ttlMs: number, load: () => Promise<V>): Promise<V> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      if (this.#clock.now() < entry.expiresAt) return Promise.resolve(entry.value);
      this.#entries.delete(key);
    }
    const inFlight = this.#loads.get(key);
    if (inFlight !== undefined) return inFlight;
    // The callbacks run after `#loads.set` (a `then` never calls back synchronously), and
    // identity tells whether a delete overtook this load or a later load replaced it.
    const promise: Promise<V> = invoke(load).then(
      (value) => {
        if (this.#loads.get(key) === promise) {
          this.#loads.delete(key);
          this.set(key, value, ttlMs);
        }
        return value;
      },
      (error: unknown) => {
        if (this.#loads.get(key) === promise) this.#loads.delete(key);
        throw error;
      },
    );
    this.#loads.set(key, promise);
    return promise;
  }
}

/** `load()`, with a synchronous throw turned into a rejection. */
function invoke<T>(load: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(load());
  } catch (error) {
    return Promise.reject(error);
  }
}
