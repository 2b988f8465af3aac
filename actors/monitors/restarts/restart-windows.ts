/** Slots a window is counted in: a restart leaves the count between 29/30 of the window and the window after it happened. */
const SLOTS = 30;

interface Window {
  /** Which slot-sized span of time each slot counts (-1: none yet). */
  readonly spans: Float64Array;
  readonly counts: Uint32Array;
}

/**
 * Restarts per actor path over a sliding window. Each path costs a fixed few hundred bytes
 * whatever its rate (counts in time slots, as ActivityCounters keeps its hours), and at most
 * `maxPaths` paths are kept: when 10,000 batchers restart, the ones that restarted least
 * recently are forgotten first, while an actor in a storm, restarting again and again, stays.
 */
export class RestartWindows {
  readonly #slotMs: number;
  readonly #maxPaths: number;
  /** In order of the last restart, least recent first (a Map keeps insertion order). */
  readonly #windows = new Map<string, Window>();
  #forgotten = 0;

  constructor(options: { readonly windowMs: number; readonly maxPaths: number }) {
    this.#slotMs = options.windowMs / SLOTS;
    this.#maxPaths = Math.max(1, options.maxPaths);
  }

  /** Counts one restart of `path` at `at`; returns its restarts within the window ending then. */
  record(path: string, at: number): number {
    const span = Math.floor(at / this.#slotMs);
    let window = this.#windows.get(path);
    if (window) this.#windows.delete(path);
    else {
      window = { spans: new Float64Array(SLOTS).fill(-1), counts: new Uint32Array(SLOTS) };
      this.#makeRoom(span);
    }
    this.#windows.set(path, window);
    const slot = span % SLOTS;
    const held = window.spans[slot] as number;
    // A slot holding a later span means `at` is older than the window: nothing to count.
    if (held <= span) {
      if (held !== span) {
        window.spans[slot] = span;
        window.counts[slot] = 0;
      }
      window.counts[slot] = (window.counts[slot] as number) + 1;
    }
    return this.#count(window, span);
  }

  /** Restarts of `path` within the window ending at `now`. */
  count(path: string, now: number): number {
    const window = this.#windows.get(path);
    return window ? this.#count(window, Math.floor(now / this.#slotMs)) : 0;
  }

  /** Every tracked path's count at `now`; paths with none left in the window are dropped. */
  sweep(now: number): Map<string, number> {
    const span = Math.floor(now / this.#slotMs);
    const counts = new Map<string, number>();
    for (const [path, window] of this.#windows) {
      const count = this.#count(window, span);
      if (count === 0) this.#windows.delete(path);
      else counts.set(path, count);
    }
    return counts;
  }

  /** Paths tracked now. */
  get size(): number {
    return this.#windows.size;
  }

  /** Paths dropped to make room while they still had restarts in the window. */
  get forgotten(): number {
    return this.#forgotten;
  }

  #makeRoom(span: number): void {
    if (this.#windows.size < this.#maxPaths) return;
    const [oldest] = this.#windows.entries();
    if (!oldest) return;
    this.#windows.delete(oldest[0]);
    if (this.#count(oldest[1], span) > 0) this.#forgotten++;
  }

  #count(window: Window, span: number): number {
    let total = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      const held = window.spans[slot] as number;
      if (held > span - SLOTS && held <= span) total += window.counts[slot] as number;
    }
    return total;
  }
}
