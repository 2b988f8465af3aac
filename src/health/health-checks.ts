import type { CheckHistoryRecorder } from './check-history.js';

export type CheckStatus = 'ok' | 'warn' | 'critical';

/** What a monitor reports. */
export interface CheckReport {
  readonly status: CheckStatus;
  readonly message: string;
  /** ISO time of the check. */
  readonly at: string;
  readonly data?: Readonly<Record<string, number | string | boolean | null>>;
}

/** A check as the health endpoints show it: the report, and since when it has had this status. */
export interface CheckResult extends CheckReport {
  /** ISO time the check entered its current status. */
  readonly since: string;
}

/** Told of every change of a check's status (including a first report and a removal). */
export type CheckTransition = (change: {
  readonly name: string;
  readonly previous: CheckStatus | 'absent';
  readonly status: CheckStatus | 'absent';
  readonly message: string;
  readonly at: number;
}) => void;

/**
 * The latest result of each check, by name. One instance per runtime, handed to the actors
 * that report checks and to the HTTP server that reads them. A change of status is told to
 * `onTransition` (the runtime publishes it as a `check` event); a report with the same status
 * only refreshes the result.
 */
export class HealthChecks {
  readonly #results = new Map<string, CheckResult>();
  readonly #onTransition: CheckTransition | undefined;
  readonly #now: () => number;
  readonly #history: CheckHistoryRecorder | undefined;

  /** `history` keeps every report and transition (src/health/check-history.ts). */
  constructor(options: { onTransition?: CheckTransition; now?: () => number; history?: CheckHistoryRecorder } = {}) {
    this.#onTransition = options.onTransition;
    this.#now = options.now ?? Date.now;
    this.#history = options.history;
  }

  report(name: string, report: CheckReport): void {
    const previous = this.#results.get(name);
    const changed = previous?.status !== report.status;
    this.#results.set(name, { ...report, since: changed ? report.at : (previous?.since ?? report.at) });
    const at = Date.parse(report.at);
    if (changed) {
      this.#history?.transition(name, previous?.status ?? 'absent', report.status, report.message, at);
      this.#onTransition?.({ name, previous: previous?.status ?? 'absent', status: report.status, message: report.message, at });
    }
    this.#history?.result(name, report.status, report.message, at);
  }

  remove(name: string): void {
    const previous = this.#results.get(name);
    if (!previous) return;
    this.#results.delete(name);
    const at = this.#now();
    this.#history?.transition(name, previous.status, 'absent', 'check removed', at);
    this.#onTransition?.({ name, previous: previous.status, status: 'absent', message: 'check removed', at });
  }

  get(name: string): CheckResult | undefined {
    return this.#results.get(name);
  }

  /** Since when `name` has had `status`, if it has it now (for a message that says "down since ..."). */
  since(name: string, status: CheckStatus): string | undefined {
    const current = this.#results.get(name);
    return current?.status === status ? current.since : undefined;
  }

  all(): Record<string, CheckResult> {
    return Object.fromEntries(this.#results);
  }
}
