import { fingerprint, type AlertLabels, type AlertNotification, type AlertSignal, type AlertView, type Severity } from './alert.js';

export interface GroupingOptions {
  /** How long a new group waits before its first notification, so alerts that come together go out together. */
  readonly groupWaitMs: number;
  /** The least time between two notifications of one group. */
  readonly groupIntervalMs: number;
  /** A group still firing, with nothing new, is told again after this. */
  readonly repeatIntervalMs: number;
  /** Alerts one group holds; beyond it new fingerprints are counted, not kept (a storm must not grow memory). */
  readonly maxAlertsPerGroup?: number;
  /** Silenced alerts are kept and listed, never notified. */
  readonly isSilenced?: (alert: { readonly rule: string; readonly labels: AlertLabels }, now: number) => boolean;
  /** What a state alert's source (a check) says now; a notification tells the latest, not the first. */
  readonly currentSummary?: (source: string) => string | undefined;
}

interface AlertEntry {
  readonly fingerprint: string;
  readonly rule: string;
  readonly labels: AlertLabels;
  readonly kind: 'state' | 'event';
  readonly source: string | undefined;
  severity: Severity;
  summary: string;
  status: 'firing' | 'resolved';
  startsAt: number;
  endsAt: number | null;
  count: number;
  /** Told as firing in a notification of this episode: only then does its resolution need a notice. */
  notified: boolean;
}

interface Group {
  readonly key: string;
  readonly rule: string;
  readonly alerts: Map<string, AlertEntry>;
  nextFlushAt: number;
  lastNotifiedAt: number | null;
  /**
   * Per fingerprint, what the recipients were last told of it (`firing:critical`) and still
   * believe: a flush notifies only when a visible alert differs from it, so an alert that
   * merely drops out of view (silenced) is no change, and one that comes back into view
   * after its silence is told again.
   */
  readonly told: Map<string, string>;
  /** Signals refused because the group was full, since the last notification. */
  overflow: number;
}

/** One group as GET /alerts shows it. */
export interface GroupView {
  readonly groupKey: string;
  readonly rule: string;
  readonly firing: number;
  readonly nextFlushAt: string;
  readonly lastNotifiedAt: string | null;
  /** Signals refused since the last notification because the group held maxAlertsPerGroup alerts. */
  readonly omitted: number;
  readonly alerts: readonly (AlertView & { readonly silenced: boolean })[];
}

const DEFAULT_MAX_ALERTS = 500;

const iso = (at: number): string => new Date(at).toISOString();

/**
 * Alert grouping as Alertmanager does it, on a clock the caller passes in (no timers here):
 *
 * - alerts of one rule form one group; a new group's first flush is `groupWaitMs` after its
 *   first alert, so alerts that come together go out together;
 * - later flushes are `groupIntervalMs` apart; a flush notifies when what the group says changed
 *   (an alert fired, resolved or changed severity), or when it is still firing and
 *   `repeatIntervalMs` has passed since the last notification;
 * - an alert that resolves before any notification told it is dropped unsent (flapping);
 * - when the last alert of a notified group resolves, one `resolved` notification; event
 *   alerts (a dead letter) are told once and then leave their group;
 * - a group left empty by a notification stays (empty, unlisted) until its next flush, so a
 *   rule whose alerts come one at a time (dead letters every minute) is still told at most
 *   once per group interval; an alert that joins an empty group still waits the group wait.
 */
export class AlertGroups {
  readonly #options: GroupingOptions;
  readonly #groups = new Map<string, Group>();
  readonly #maxAlerts: number;
  #sequence = 0;

  constructor(options: GroupingOptions) {
    this.#options = options;
    this.#maxAlerts = options.maxAlertsPerGroup ?? DEFAULT_MAX_ALERTS;
  }

  /** Takes one signal from the rules. Returns whether it changed anything. */
  observe(signal: AlertSignal): boolean {
    const key = signal.rule;
    let group = this.#groups.get(key);
    const id = fingerprint(signal.rule, signal.labels);
    const entry = group?.alerts.get(id);
    if (signal.state === 'resolved') {
      if (!group || !entry || entry.status === 'resolved') return false;
      if (!entry.notified) {
        group.alerts.delete(id);
        if (group.alerts.size === 0 && group.lastNotifiedAt === null) this.#groups.delete(key);
        return true;
      }
      entry.status = 'resolved';
      entry.endsAt = signal.at;
      return true;
    }
    if (!group) {
      group = { key, rule: signal.rule, alerts: new Map(), nextFlushAt: signal.at + this.#options.groupWaitMs, lastNotifiedAt: null, told: new Map(), overflow: 0 };
      this.#groups.set(key, group);
    } else if (group.alerts.size === 0) {
      // A new episode in a group kept after its last notice: the group wait still applies.
      group.nextFlushAt = Math.max(group.nextFlushAt, signal.at + this.#options.groupWaitMs);
    }
    if (!entry) {
      if (group.alerts.size >= this.#maxAlerts) {
        group.overflow++;
        return false;
      }
      group.alerts.set(id, {
        fingerprint: id,
        rule: signal.rule,
        labels: signal.labels,
        kind: signal.kind,
        severity: signal.severity,
        source: signal.source,
        summary: signal.summary,
        status: 'firing',
        startsAt: signal.at,
        endsAt: null,
        count: 1,
        notified: false,
      });
      return true;
    }
    if (entry.status === 'resolved') {
      // Fired again before its resolution was told: one episode, still told as firing.
      entry.status = 'firing';
      entry.endsAt = null;
      entry.count++;
    } else if (signal.kind === 'event') {
      entry.count++;
    }
    entry.severity = signal.severity;
    entry.summary = signal.summary;
    return true;
  }

  /** When the next flush is due, if any group exists. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const group of this.#groups.values()) if (next === undefined || group.nextFlushAt < next) next = group.nextFlushAt;
    return next;
  }

  /** Flushes every group due at `now`; returns the notifications to send, in group order. */
  flush(now: number): AlertNotification[] {
    const out: AlertNotification[] = [];
    for (const group of [...this.#groups.values()]) {
      if (group.nextFlushAt > now) continue;
      const notification = this.#flushGroup(group, now);
      if (notification) out.push(notification);
    }
    return out;
  }

  #flushGroup(group: Group, now: number): AlertNotification | undefined {
    group.nextFlushAt = now + this.#options.groupIntervalMs;
    const visible: AlertEntry[] = [];
    for (const entry of group.alerts.values()) {
      if (this.#options.isSilenced?.(entry, now)) {
        // Out of view: once the silence ends, the recipients are told of it afresh.
        group.told.delete(entry.fingerprint);
        // An event is told at its group's next flush or never: one that happened under a
        // silence is not kept to be sent, stale, when the silence ends. A silenced alert that
        // resolves unseen needs no notice.
        if (entry.kind === 'event' || (entry.status === 'resolved' && !entry.notified)) group.alerts.delete(entry.fingerprint);
        continue;
      }
      if (entry.status === 'firing' || entry.notified) visible.push(entry);
      if (entry.status === 'firing' && entry.source !== undefined) entry.summary = this.#options.currentSummary?.(entry.source) ?? entry.summary;
    }
    const firing = visible.filter((entry) => entry.status === 'firing').length;
    const changed = visible.length > 0 && (group.overflow > 0 || visible.some((entry) => group.told.get(entry.fingerprint) !== toldAs(entry)));
    const repeat = !changed && firing > 0 && group.lastNotifiedAt !== null && now - group.lastNotifiedAt >= this.#options.repeatIntervalMs;
    let notification: AlertNotification | undefined;
    if (changed || repeat) {
      notification = {
        status: firing > 0 ? 'firing' : 'resolved',
        groupKey: group.key,
        rule: group.rule,
        alerts: visible.map(view),
        ...(group.overflow > 0 ? { omitted: group.overflow } : {}),
        sentAt: iso(now),
        id: `${fingerprint(group.key, {})}-${now.toString(36)}-${(++this.#sequence).toString(36)}`,
      };
      group.lastNotifiedAt = now;
      group.overflow = 0;
      group.told.clear();
      for (const entry of visible) {
        if (entry.status === 'resolved' || entry.kind === 'event') {
          group.alerts.delete(entry.fingerprint);
        } else {
          entry.notified = true;
          group.told.set(entry.fingerprint, toldAs(entry));
        }
      }
    }
    if (group.alerts.size === 0 && !notification) this.#groups.delete(group.key);
    return notification;
  }

  /** Groups held, including empty ones kept until their next flush. */
  get size(): number {
    return this.#groups.size;
  }

  /** Every group with its alerts, silenced ones marked (GET /alerts); a group kept empty is not listed. */
  view(now: number): GroupView[] {
    const out: GroupView[] = [];
    for (const group of this.#groups.values()) {
      if (group.alerts.size === 0) continue;
      const alerts = [...group.alerts.values()];
      out.push({
        groupKey: group.key,
        rule: group.rule,
        firing: alerts.filter((entry) => entry.status === 'firing').length,
        nextFlushAt: iso(group.nextFlushAt),
        lastNotifiedAt: group.lastNotifiedAt === null ? null : iso(group.lastNotifiedAt),
        omitted: group.overflow,
        alerts: alerts.map((entry) => ({ ...view(entry), silenced: this.#options.isSilenced?.(entry, now) ?? false })),
      });
    }
    return out;
  }

  /**
   * Resolves every firing `state` alert whose fingerprint is not in `keep`: how a caller that
   * may have missed resolutions (events lost while it was cut off or restarting) brings the
   * groups back in line with what is true now. Returns whether anything changed.
   */
  resolveStateAlertsExcept(keep: ReadonlySet<string>, at: number): boolean {
    let changed = false;
    for (const group of this.#groups.values()) {
      for (const entry of [...group.alerts.values()]) {
        if (entry.kind !== 'state' || entry.status !== 'firing' || keep.has(entry.fingerprint)) continue;
        changed = this.observe({ rule: entry.rule, labels: entry.labels, severity: entry.severity, summary: entry.summary, state: 'resolved', kind: 'state', at }) || changed;
      }
    }
    return changed;
  }

  /** Firing alerts per rule (runtime_alerts_firing{rule}). */
  firingByRule(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const group of this.#groups.values()) {
      let firing = 0;
      for (const entry of group.alerts.values()) if (entry.status === 'firing') firing++;
      counts.set(group.rule, firing);
    }
    return counts;
  }
}

function toldAs(entry: AlertEntry): string {
  return `${entry.status}:${entry.severity}`;
}

function view(entry: AlertEntry): AlertView {
  return {
    fingerprint: entry.fingerprint,
    rule: entry.rule,
    severity: entry.severity,
    labels: entry.labels,
    summary: entry.summary,
    status: entry.status,
    startsAt: iso(entry.startsAt),
    endsAt: entry.endsAt === null ? null : iso(entry.endsAt),
    count: entry.count,
  };
}
