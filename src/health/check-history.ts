import { BoundedRing } from './check-history-ring.js';
import { uptimeOver, uptimesOver, type HistoryStatus, type Uptimes } from './check-history-uptime.js';
import type { CheckStatus } from './health-checks.js';

export type { HistoryStatus, Uptimes, UptimeWindow } from './check-history-uptime.js';
export { UPTIME_WINDOWS } from './check-history-uptime.js';

/** One report of a check, as its history keeps it (epoch milliseconds). */
export interface CheckResultRecord {
  readonly status: CheckStatus;
  readonly message: string;
  readonly at: number;
}

/** One change of a check's status; `absent` on either side is the check appearing or being removed. */
export interface CheckTransitionRecord {
  readonly from: HistoryStatus;
  readonly to: HistoryStatus;
  readonly message: string;
  readonly at: number;
}

/** One line of the summary of every check kept. */
export interface CheckSummary {
  readonly check: string;
  readonly status: HistoryStatus;
  /** When the check entered `status` (epoch milliseconds). */
  readonly since: number;
  readonly uptime: Uptimes;
  /** Transitions kept. */
  readonly transitions: number;
}

/** What HealthChecks feeds: every report, and every change of status. */
export interface CheckHistoryRecorder {
  result(name: string, status: CheckStatus, message: string, at: number): void;
  transition(name: string, from: HistoryStatus, to: HistoryStatus, message: string, at: number): void;
}

/** What the HTTP API, the alerts actor and a dashboard read. */
export interface CheckHistoryReader {
  has(name: string): boolean;
  /** Names of every check kept, sorted. */
  names(): string[];
  /** Results at or after `sinceMs`, oldest first; undefined for a check not kept. */
  results(name: string, sinceMs?: number): CheckResultRecord[] | undefined;
  /** Transitions at or after `sinceMs`, oldest first; undefined for a check not kept. */
  transitions(name: string, sinceMs?: number): CheckTransitionRecord[] | undefined;
  /** Share of the last `windowMs` the check was not critical (see uptimeOver). */
  uptime(name: string, windowMs: number): number | undefined;
  uptimes(name: string): Uptimes | undefined;
  summary(): CheckSummary[];
}

/** Where transitions go to outlive the process (the Redis stream log). Must not throw or block. */
export interface CheckHistorySink {
  transition(name: string, transition: CheckTransitionRecord): void;
  /** The check's history was dropped (cap or retention): its persisted copy can go too. */
  forgotten(name: string): void;
}

export interface CheckHistoryOptions {
  /** Results, and separately transitions, kept per check (CHECK_HISTORY_SIZE). */
  readonly size: number;
  /** Checks kept at most; dynamic names (`restarts:<path>`) come and go. */
  readonly maxChecks?: number;
  /** How long the history of a removed check is kept. */
  readonly absentRetentionMs?: number;
  readonly now: () => number;
  readonly sink?: CheckHistorySink;
}

export const DEFAULT_MAX_CHECKS = 1_000;
/** The longest uptime window: a check removed a day ago no longer weighs on any uptime. */
export const DEFAULT_ABSENT_RETENTION_MS = 86_400_000;

interface Entry {
  readonly results: BoundedRing<CheckResultRecord>;
  readonly transitions: BoundedRing<CheckTransitionRecord>;
  /** The latest thing recorded, for choosing a victim when every check is live. */
  lastAt: number;
}

/**
 * The recent results and every transition of each check, each in a ring of `size`, fed by
 * HealthChecks (src/health/health-checks.ts). Results show what a monitor said; transitions,
 * kept apart so that a chatty check does not push them out, give uptime and survive a
 * restart through the sink. The number of checks is capped too: when a new name would
 * exceed it, the check absent the longest goes first, then one restored from a previous run
 * and not reported since, and only then the live check quiet the longest. A removed check
 * is forgotten `absentRetentionMs` after its removal.
 */
export class CheckHistory implements CheckHistoryRecorder, CheckHistoryReader {
  readonly #size: number;
  readonly #maxChecks: number;
  readonly #absentRetentionMs: number;
  readonly #now: () => number;
  readonly #sink: CheckHistorySink | undefined;
  readonly #checks = new Map<string, Entry>();
  /** Removed checks, by removal time, in removal order (the oldest first). */
  readonly #absent = new Map<string, number>();
  /** Restored from a previous run and not reported in this one, by their last change, oldest first. */
  readonly #stale = new Map<string, number>();

  constructor(options: CheckHistoryOptions) {
    this.#size = options.size;
    this.#maxChecks = Math.max(1, options.maxChecks ?? DEFAULT_MAX_CHECKS);
    this.#absentRetentionMs = options.absentRetentionMs ?? DEFAULT_ABSENT_RETENTION_MS;
    this.#now = options.now;
    this.#sink = options.sink;
  }

  result(name: string, status: CheckStatus, message: string, at: number): void {
    const when = this.#time(at);
    const entry = this.#entry(name);
    entry.results.push({ status, message, at: when });
    entry.lastAt = when;
    this.#stale.delete(name);
  }

  transition(name: string, from: HistoryStatus, to: HistoryStatus, message: string, at: number): void {
    const record: CheckTransitionRecord = { from, to, message, at: this.#time(at) };
    const entry = this.#entry(name);
    entry.transitions.push(record);
    entry.lastAt = record.at;
    this.#stale.delete(name);
    // Deleted first so that a check removed again moves to the end of the removal order.
    this.#absent.delete(name);
    if (to === 'absent') this.#absent.set(name, record.at);
    this.#sink?.transition(name, record);
  }

  /**
   * Transitions read back from a previous run (oldest first per check), placed before any
   * this run recorded. Not told to the sink: they are already where it keeps them. Checks are
   * taken in the order they last changed, so that the cap keeps the most recent.
   */
  restore(loaded: Iterable<readonly [name: string, transitions: readonly CheckTransitionRecord[]]>): void {
    const byLastChange = [...loaded].filter(([, transitions]) => transitions.length > 0).sort(([, a], [, b]) => (a.at(-1)?.at ?? 0) - (b.at(-1)?.at ?? 0));
    for (const [name, transitions] of byLastChange) {
      const existing = this.#checks.get(name);
      const entry = this.#entry(name);
      const recorded = entry.transitions.toArray();
      const fresh = new BoundedRing<CheckTransitionRecord>(this.#size);
      for (const transition of transitions) fresh.push(transition);
      for (const transition of recorded) fresh.push(transition);
      this.#checks.set(name, { results: entry.results, transitions: fresh, lastAt: Math.max(entry.lastAt, fresh.newest()?.at ?? 0) });
      if (existing) continue;
      const last = fresh.newest() as CheckTransitionRecord;
      if (last.to === 'absent') this.#absent.set(name, last.at);
      else this.#stale.set(name, last.at);
    }
  }

  has(name: string): boolean {
    this.#expire();
    return this.#checks.has(name);
  }

  names(): string[] {
    this.#expire();
    return [...this.#checks.keys()].sort();
  }

  results(name: string, sinceMs = Number.NEGATIVE_INFINITY): CheckResultRecord[] | undefined {
    return this.#checks.get(name)?.results.filter((result) => result.at >= sinceMs);
  }

  transitions(name: string, sinceMs = Number.NEGATIVE_INFINITY): CheckTransitionRecord[] | undefined {
    return this.#checks.get(name)?.transitions.filter((transition) => transition.at >= sinceMs);
  }

  uptime(name: string, windowMs: number): number | undefined {
    const entry = this.#checks.get(name);
    return entry ? uptimeOver(entry.transitions, windowMs, this.#now()) : undefined;
  }

  uptimes(name: string): Uptimes | undefined {
    const entry = this.#checks.get(name);
    return entry ? uptimesOver(entry.transitions, this.#now()) : undefined;
  }

  summary(): CheckSummary[] {
    const now = this.#now();
    return this.names().flatMap((check) => {
      const entry = this.#checks.get(check);
      const last = entry?.transitions.newest();
      if (!entry || !last) return [];
      return [{ check, status: last.to, since: last.at, uptime: uptimesOver(entry.transitions, now), transitions: entry.transitions.length }];
    });
  }

  /** A monitor's own `at` that does not parse is stamped now rather than kept as NaN. */
  #time(at: number): number {
    return Number.isFinite(at) ? at : this.#now();
  }

  #entry(name: string): Entry {
    const known = this.#checks.get(name);
    if (known) return known;
    this.#expire();
    while (this.#checks.size >= this.#maxChecks) this.#forget(this.#victim());
    const entry: Entry = { results: new BoundedRing(this.#size), transitions: new BoundedRing(this.#size), lastAt: Number.NEGATIVE_INFINITY };
    this.#checks.set(name, entry);
    return entry;
  }

  #victim(): string {
    for (const name of this.#absent.keys()) return name;
    for (const name of this.#stale.keys()) return name;
    let victim = '';
    let quietest = Number.POSITIVE_INFINITY;
    for (const [name, entry] of this.#checks) {
      if (entry.lastAt < quietest) {
        quietest = entry.lastAt;
        victim = name;
      }
    }
    return victim;
  }

  #expire(): void {
    const cutoff = this.#now() - this.#absentRetentionMs;
    for (const [name, removedAt] of this.#absent) {
      if (removedAt > cutoff) break;
      this.#forget(name);
    }
  }

  #forget(name: string): void {
    this.#checks.delete(name);
    this.#absent.delete(name);
    this.#stale.delete(name);
    this.#sink?.forgotten(name);
  }
}
