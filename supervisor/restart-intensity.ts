/**
 * OTP's restart intensity: more than `maxRestarts` restarts within `withinMs` means the
 * supervisor cannot keep its children up, so it fails and its parent decides.
 */
export interface IntensityOptions {
  maxRestarts: number;
  withinMs: number;
}

export class RestartIntensity {
  readonly #options: IntensityOptions;
  #restarts: number[] = [];

  constructor(options: IntensityOptions) {
    this.#options = options;
  }

  /** Restarts recorded within the window that ends at `now` (it forgets older ones). */
  countAt(now: number): number {
    const since = now - this.#options.withinMs;
    if (this.#restarts.length > 0 && (this.#restarts[0] as number) <= since) this.#restarts = this.#restarts.filter((at) => at > since);
    return this.#restarts.length;
  }

  /** Records one restart at `now` (the restart rule said it counts). */
  record(now: number): void {
    this.countAt(now);
    this.#restarts.push(now);
  }

  get options(): IntensityOptions {
    return this.#options;
  }

  get withinMs(): number {
    return this.#options.withinMs;
  }

  get recent(): number {
    return this.#restarts.length;
  }
}
