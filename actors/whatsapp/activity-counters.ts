const HOUR_MS = 3_600_000;
const HOURS = 24;

export type ActivityKind = 'sent' | 'received' | 'errors';
const KINDS: readonly ActivityKind[] = ['sent', 'received', 'errors'];

/**
 * Rolling 24-hour counts in hourly buckets: fixed memory whatever the traffic, and a count
 * that forgets an event between 23 and 24 hours after it happened.
 */
export class ActivityCounters {
  readonly #buckets = new Map<ActivityKind, Float64Array>(KINDS.map((kind) => [kind, new Float64Array(HOURS)]));
  readonly #hourOf = new Float64Array(HOURS).fill(-1);
  #lastActivity: number | undefined;
  #lastReceived: number | undefined;
  #lastSent: number | undefined;

  record(kind: ActivityKind, now: number, count = 1): void {
    const slot = this.#slot(now);
    const buckets = this.#buckets.get(kind) as Float64Array;
    buckets[slot] = (buckets[slot] as number) + count;
    if (kind === 'errors') return;
    this.#lastActivity = now;
    if (kind === 'received') this.#lastReceived = now;
    else this.#lastSent = now;
  }

  last24h(kind: ActivityKind, now: number): number {
    const hour = Math.floor(now / HOUR_MS);
    const buckets = this.#buckets.get(kind) as Float64Array;
    let total = 0;
    for (let slot = 0; slot < HOURS; slot++) if (hour - (this.#hourOf[slot] as number) < HOURS) total += buckets[slot] as number;
    return total;
  }

  /** When a message last went in or out. */
  get lastActivity(): number | undefined {
    return this.#lastActivity;
  }

  /** When a message last came in (the activity monitor tells a silent inbox from a silent outbox). */
  get lastReceived(): number | undefined {
    return this.#lastReceived;
  }

  /** When a message last went out. */
  get lastSent(): number | undefined {
    return this.#lastSent;
  }

  #slot(now: number): number {
    const hour = Math.floor(now / HOUR_MS);
    const slot = hour % HOURS;
    if (this.#hourOf[slot] !== hour) {
      this.#hourOf[slot] = hour;
      for (const buckets of this.#buckets.values()) buckets[slot] = 0;
    }
    return slot;
  }
}
