/** A sample of a session's decrypt-error counter (Bad MAC and other decrypt failures, since its gateway started). */
interface CounterSample {
  readonly at: number;
  readonly total: number;
}

const MINUTE_MS = 60_000;

/**
 * Decrypt errors per minute, from a cumulative counter sampled now and then: the growth over
 * the last minute (from the last sample at or before its start), scaled to a minute. A
 * counter that goes down was reset (its gateway restarted): counting starts again from zero
 * at the sample before, so a storm across a restart is not lost.
 */
export class DecryptRate {
  readonly #samples: CounterSample[] = [];
  readonly #windowMs: number;

  constructor(windowMs = MINUTE_MS) {
    this.#windowMs = windowMs;
  }

  record(at: number, total: number): void {
    const previous = this.#samples.at(-1);
    if (previous && total < previous.total) {
      this.#samples.length = 0;
      this.#samples.push({ at: previous.at, total: 0 });
    }
    this.#samples.push({ at, total });
    // Bounded: only the samples of the window and the one just before it stay.
    while (this.#samples.length > 2 && (this.#samples[1] as CounterSample).at <= at - this.#windowMs) this.#samples.shift();
  }

  perMinute(): number {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at <= first.at) return 0;
    return Math.round(((last.total - first.total) * MINUTE_MS) / (last.at - first.at));
  }

  get size(): number {
    return this.#samples.length;
  }
}
