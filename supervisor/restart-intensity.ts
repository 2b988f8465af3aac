/**
 * OTP's restart intensity: more than `maxRestarts` restarts within `withinMs` means the
 * supervisor cannot keep its children up, so it fails and its parent decides.
 */
export interface IntensityOptions {
  maxRestarts: number;
  withinMs: number;
}

export const DEFAULT_INTENSITY: IntensityOptions = { maxRestarts: 10, withinMs: 60_000 };

export class RestartIntensity {
  readonly #options: IntensityOptions;
  #restarts: number[] = [];

  constructor(options: IntensityOptions) {
    this.#options = options;
  }

  /** Records a restart at `now`; true if that exceeds the intensity. */
  record(now: number): boolean {
    const since = now - this.#options.withinMs;
    this.#restarts = this.#restarts.filter((at) => at > since);
    this.#restarts.push(now);
    return this.#restarts.length > this.#options.maxRestarts;
  }

  get withinMs(): number {
    return this.#options.withinMs;
  }

  get recent(): number {
    return this.#restarts.length;
  }
}
