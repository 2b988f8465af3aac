import type { CheckStatus } from '../../src/health/health-checks.js';
import type { RuntimeEvent, RuntimeEventType } from '../../src/events/runtime-events.js';
import type { AlertLabels, AlertSignal, Severity } from './alert.js';

/**
 * The alert rules, in one place: which runtime events become alerts, under which rule (the
 * rule is the group: alerts of one rule go out together) and with which labels (rule +
 * labels is the fingerprint, so the same trouble is always the same alert).
 *
 * Checks are named `<monitor>` or `<monitor>:<subject>`; a few families have a rule of their
 * own so that, for example, five sessions dropping together are one `whatsapp session down`
 * message with a line per session. Every other check is `health check failing`, labelled with
 * the check's name: Redis going away turns `store` and `redis` critical at once, and that is
 * one message, not two.
 *
 * Session status changes are not a rule of their own: the `whatsapp:<id>` check already turns
 * critical at once on a halt (logged out, banned, replaced) and after WA_DOWN_ALERT_MS of
 * reconnecting, and an alert per status change would page on every short reconnect.
 */
export const ALERT_RULES = {
  sessionDown: 'whatsapp session down',
  restartStorm: 'restart storm',
  canaryDown: 'service down',
  channelFailing: 'alert channel failing',
  sessionIdle: 'session idle',
  decryptErrors: 'decrypt errors',
  checkFailing: 'health check failing',
  actorGaveUp: 'actor gave up',
  deadLettered: 'batch dead-lettered',
} as const;

export type AlertRuleName = (typeof ALERT_RULES)[keyof typeof ALERT_RULES];

/** The event types the rules read: what the alerts actor subscribes to. */
export const ALERTING_EVENT_TYPES = ['check', 'gave_up', 'escalated', 'dead_lettered'] as const satisfies readonly RuntimeEventType[];

interface CheckFamily {
  readonly rule: AlertRuleName;
  readonly label: string;
  /** Statuses that fire. A family whose warn is "on its way back by itself" fires at critical only. */
  readonly fires: ReadonlySet<CheckStatus>;
}

const CRITICAL_ONLY: ReadonlySet<CheckStatus> = new Set<CheckStatus>(['critical']);
const WARN_OR_CRITICAL: ReadonlySet<CheckStatus> = new Set<CheckStatus>(['warn', 'critical']);

const CHECK_FAMILIES: Readonly<Record<string, CheckFamily>> = {
  // warn is "reconnecting, not yet WA_DOWN_ALERT_MS": the monitor turns it critical when it is an incident.
  whatsapp: { rule: ALERT_RULES.sessionDown, label: 'session', fires: CRITICAL_ONLY },
  restarts: { rule: ALERT_RULES.restartStorm, label: 'actor', fires: CRITICAL_ONLY },
  // warn is "failing, but fewer times in a row than CANARY_FAILURE_THRESHOLD".
  canary: { rule: ALERT_RULES.canaryDown, label: 'target', fires: CRITICAL_ONLY },
  // warn is "retrying"; critical is "down" (failed several times in a row).
  'alert-channel': { rule: ALERT_RULES.channelFailing, label: 'channel', fires: CRITICAL_ONLY },
  activity: { rule: ALERT_RULES.sessionIdle, label: 'session', fires: WARN_OR_CRITICAL },
  'whatsapp-decrypt': { rule: ALERT_RULES.decryptErrors, label: 'session', fires: WARN_OR_CRITICAL },
};

/** The `restarts` summary check repeats what the per-actor `restarts:<path>` checks say. */
const SUMMARY_CHECKS: ReadonlySet<string> = new Set(['restarts']);

function severityOf(status: CheckStatus): Severity {
  return status === 'critical' ? 'critical' : 'warning';
}

function checkSignal(event: Extract<RuntimeEvent, { type: 'check' }>): AlertSignal | undefined {
  if (SUMMARY_CHECKS.has(event.name)) return undefined;
  const colon = event.name.indexOf(':');
  const family = colon > 0 ? CHECK_FAMILIES[event.name.slice(0, colon)] : undefined;
  const rule = family?.rule ?? ALERT_RULES.checkFailing;
  const labels: AlertLabels = family ? { [family.label]: event.name.slice(colon + 1) } : { check: event.name };
  const fires = family?.fires ?? WARN_OR_CRITICAL;
  const firing = event.status !== 'absent' && fires.has(event.status);
  return {
    rule,
    labels,
    severity: event.status === 'absent' || event.status === 'ok' ? 'warning' : severityOf(event.status),
    summary: firing ? event.message : `${event.name} is ${event.status === 'absent' ? 'gone' : event.status}: ${event.message}`,
    state: firing ? 'firing' : 'resolved',
    kind: 'state',
    at: event.at,
    source: event.name,
  };
}

/**
 * A client's number as alerts show it: GET /alerts needs no token and notifications leave the
 * server, so only enough to tell conversations apart (the dead letter itself, behind the admin
 * token, has the whole number).
 */
export function maskPhone(phone: string): string {
  return phone.length <= 6 ? '***' : `${phone.slice(0, 2)}***${phone.slice(-4)}`;
}

/** The alert a runtime event raises or resolves, if any. */
export function alertFromEvent(event: RuntimeEvent): AlertSignal | undefined {
  switch (event.type) {
    case 'check':
      return checkSignal(event);
    case 'gave_up':
      return {
        rule: ALERT_RULES.actorGaveUp,
        labels: { actor: event.path },
        severity: 'critical',
        summary: `${event.path} gave up after ${event.attempts} restarts and stays down`,
        state: 'firing',
        kind: 'event',
        at: event.at,
      };
    case 'escalated':
      return {
        rule: ALERT_RULES.actorGaveUp,
        labels: { actor: event.path },
        severity: 'critical',
        summary: `${event.path} escalated to its supervisor: ${event.reason}`,
        state: 'firing',
        kind: 'event',
        at: event.at,
      };
    case 'dead_lettered':
      return {
        rule: ALERT_RULES.deadLettered,
        // Per conversation: a handler failing for one client is one line however many batches it parks.
        labels: { session: event.sessionId, phone: maskPhone(event.phone) },
        severity: 'warning',
        summary: `batch ${event.batchId} dead-lettered after ${event.attempts} attempts: ${event.error.slice(0, 200)}`,
        state: 'firing',
        kind: 'event',
        at: event.at,
      };
    default:
      return undefined;
  }
}
