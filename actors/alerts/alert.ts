import { createHash } from 'node:crypto';

/** How bad an alert is; a check's `warn` is a warning. */
export type Severity = 'warning' | 'critical';

export type AlertLabels = Readonly<Record<string, string>>;

/**
 * What an alert rule makes of one runtime event (actors/alerts/alert-rules.ts):
 * - `state` alerts follow something that has a state (a check, a session): they fire, stay
 *   firing, and resolve when it comes back;
 * - `event` alerts are things that happened (a batch dead-lettered, an actor gave up): they are
 *   told once, in their group's next notification, and then leave it without a resolved notice.
 */
export interface AlertSignal {
  /** The rule's name, which is also the group it joins: `whatsapp session down`. */
  readonly rule: string;
  readonly labels: AlertLabels;
  readonly severity: Severity;
  readonly summary: string;
  readonly state: 'firing' | 'resolved';
  readonly kind: 'state' | 'event';
  /** Epoch ms; the grouping's timers count from it, so it must be a finite number (the notifier makes sure). */
  readonly at: number;
  /** The check a state alert follows: its summary is read afresh at each flush (a storm's count grows without a transition). */
  readonly source?: string;
}

/** One alert as notifications and GET /alerts show it. */
export interface AlertView {
  readonly fingerprint: string;
  readonly rule: string;
  readonly severity: Severity;
  readonly labels: AlertLabels;
  readonly summary: string;
  readonly status: 'firing' | 'resolved';
  /** ISO time it first fired. */
  readonly startsAt: string;
  /** ISO time it resolved; null while firing. */
  readonly endsAt: string | null;
  /** How many times it fired (event alerts of one fingerprint count up). */
  readonly count: number;
}

/** What a channel is asked to send: one group's state at one flush. */
export interface AlertNotification {
  /** `firing` while any alert of the group fires; `resolved` when the last one has resolved. */
  readonly status: 'firing' | 'resolved';
  readonly groupKey: string;
  readonly rule: string;
  readonly alerts: readonly AlertView[];
  /**
   * Alert signals refused since the group's last notification because it already held
   * maxAlertsPerGroup alerts; absent when none were. A storm beyond the cap is said, not hidden.
   */
  readonly omitted?: number;
  /** ISO time of the flush that made it. */
  readonly sentAt: string;
  /** Stable per notification: the channels' idempotency key (`Idempotency-Key` for n8n). */
  readonly id: string;
}

/** rule + labels, order-free: the same alert always has the same fingerprint. */
export function fingerprint(rule: string, labels: AlertLabels): string {
  const hash = createHash('sha256').update(rule);
  for (const key of Object.keys(labels).sort()) hash.update(`\u0000${key}\u0001${labels[key]}`);
  return hash.digest('hex').slice(0, 16);
}
