export type CheckStatus = 'ok' | 'warn' | 'critical';

export interface CheckResult {
  readonly status: CheckStatus;
  readonly message: string;
  /** ISO time of the check. */
  readonly at: string;
  readonly data?: Readonly<Record<string, number | string | boolean | null>>;
}

/**
 * The latest result of each monitor, by name. One instance per runtime, handed to the
 * monitors that write it and to the HTTP server that reads it.
 */
export class HealthChecks {
  readonly #results = new Map<string, CheckResult>();

  report(name: string, result: CheckResult): void {
    this.#results.set(name, result);
  }

  remove(name: string): void {
    this.#results.delete(name);
  }

  get(name: string): CheckResult | undefined {
    return this.#results.get(name);
  }

  all(): Record<string, CheckResult> {
    return Object.fromEntries(this.#results);
  }
}
