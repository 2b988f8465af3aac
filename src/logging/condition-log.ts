import type { Logger } from 'pino';

interface Ongoing {
  readonly since: number;
  /** Occurrences since the condition began, and since the last line about it. */
  count: number;
  sinceLastLine: number;
  lastLineAt: number;
}

/**
 * A repeated condition (the store is down, a session has no actor) logged on change and then
 * summarised, instead of one line per occurrence: the first occurrence is logged, then at most
 * one summary per `summaryEveryMs` while it lasts ("still ...: 42 times in 5 min"), and one
 * line when it ends, saying how long it lasted. One per actor or component; keys name conditions.
 */
export class ConditionLog {
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #summaryEveryMs: number;
  readonly #ongoing = new Map<string, Ongoing>();

  constructor(logger: Logger, options: { now: () => number; summaryEveryMs?: number }) {
    this.#logger = logger;
    this.#now = options.now;
    this.#summaryEveryMs = options.summaryEveryMs ?? 300_000;
  }

  /** The condition `key` holds (again). True if this occurrence was logged. */
  on(key: string, level: 'warn' | 'error', fields: Readonly<Record<string, unknown>>, message: string): boolean {
    const now = this.#now();
    const ongoing = this.#ongoing.get(key);
    if (!ongoing) {
      this.#ongoing.set(key, { since: now, count: 1, sinceLastLine: 0, lastLineAt: now });
      this.#logger[level]({ ...fields, condition: key }, message);
      return true;
    }
    ongoing.count++;
    ongoing.sinceLastLine++;
    if (now - ongoing.lastLineAt < this.#summaryEveryMs) return false;
    this.#logger[level](
      { ...fields, condition: key, occurrences: ongoing.sinceLastLine, sinceMs: now - ongoing.since },
      `still: ${message} (${ongoing.sinceLastLine} more times in the last ${Math.round((now - ongoing.lastLineAt) / 1000)} s)`,
    );
    ongoing.sinceLastLine = 0;
    ongoing.lastLineAt = now;
    return true;
  }

  /** The condition `key` is over; logged (at info) only if it was on. */
  off(key: string, message: string, fields: Readonly<Record<string, unknown>> = {}): boolean {
    const ongoing = this.#ongoing.get(key);
    if (!ongoing) return false;
    this.#ongoing.delete(key);
    const lastedMs = this.#now() - ongoing.since;
    this.#logger.info({ ...fields, condition: key, lastedMs, occurrences: ongoing.count }, message);
    return true;
  }

  isOn(key: string): boolean {
    return this.#ongoing.has(key);
  }
}
