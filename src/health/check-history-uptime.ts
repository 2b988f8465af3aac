import type { CheckStatus } from './health-checks.js';

/** A check's status in its history: what it reported, or `absent` while no monitor reports it. */
export type HistoryStatus = CheckStatus | 'absent';

/** The windows GET /health/history answers uptime over, by the name it shows them under. */
export const UPTIME_WINDOWS = { '1h': 3_600_000, '24h': 86_400_000 } as const;

export type UptimeWindow = keyof typeof UPTIME_WINDOWS;

export type Uptimes = Readonly<Record<UptimeWindow, number>>;

/** Status changes in the order they happened: the ring of transitions, or a plain array. */
export interface StatusChanges {
  readonly length: number;
  at(index: number): { readonly to: HistoryStatus; readonly at: number } | undefined;
}

/**
 * The share of the last `windowMs` before `now` the check was not critical, from its status
 * changes. The status a change set lasts until the next one, so the status before the window
 * opened counts for the window's first part. Time before the oldest change kept is not
 * counted at all: that change is the check's first report (or, once older ones were dropped,
 * the start of what is known), so a check that is 10 minutes old has its "1h" uptime over
 * those 10 minutes, not diluted by 50 minutes of nothing. `absent` counts as not critical.
 */
export function uptimeOver(changes: StatusChanges, windowMs: number, now: number): number {
  const newest = changes.at(changes.length - 1);
  const oldest = changes.at(0);
  if (!newest || !oldest) return 1;
  const start = Math.max(now - windowMs, oldest.at);
  // A check seen for the first time this instant has no span yet: its status is all there is.
  if (now <= start) return newest.to === 'critical' ? 0 : 1;
  let critical = 0;
  let end = now;
  for (let i = changes.length - 1; i >= 0 && end > start; i--) {
    const change = changes.at(i);
    if (!change) break;
    const from = Math.max(change.at, start);
    if (change.to === 'critical' && end > from) critical += end - from;
    // Reports stamped out of order (a monitor's own clock) must not make a span count twice.
    end = Math.min(end, change.at);
  }
  return 1 - critical / (now - start);
}

/** Uptime over every window of UPTIME_WINDOWS. */
export function uptimesOver(changes: StatusChanges, now: number): Uptimes {
  return { '1h': uptimeOver(changes, UPTIME_WINDOWS['1h'], now), '24h': uptimeOver(changes, UPTIME_WINDOWS['24h'], now) };
}
