/**
 * When a shutdown must be done by: set once, when it begins, from SHUTDOWN_TIMEOUT_MS. Actors
 * that drain at shutdown (the pipeline) stop waiting at `drainUntil`, which leaves a reserve
 * for what must happen after them (the memory store's spill, closing the store) before the
 * process's own timer exits it. Passed to features at spawn, never a module-level value.
 */
export class ShutdownDeadline {
  readonly #timeoutMs: number;
  #drainUntil: number | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** A tenth of the timeout, at least 1 s (a large spill and its fsync) and at most 5 s, is kept for after the drain. */
  static reserveMs(timeoutMs: number): number {
    return Math.min(5_000, Math.max(1_000, Math.floor(timeoutMs / 10)));
  }

  begin(now: number): void {
    this.#drainUntil ??= now + Math.max(0, this.#timeoutMs - ShutdownDeadline.reserveMs(this.#timeoutMs));
  }

  get begun(): boolean {
    return this.#drainUntil !== undefined;
  }

  /** How long a drain may still take: from the shutdown's start, or the whole budget if it was not begun (a stop in a test). */
  drainRemainingMs(now: number): number {
    if (this.#drainUntil === undefined) return Math.max(0, this.#timeoutMs - ShutdownDeadline.reserveMs(this.#timeoutMs));
    return Math.max(0, this.#drainUntil - now);
  }
}
