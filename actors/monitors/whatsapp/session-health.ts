import type { CheckReport, CheckStatus } from '../../../src/health/health-checks.js';
import { isHalted, type SessionStatus } from '../../whatsapp/session-status.js';

export interface SessionThresholds {
  /** Not open for this long is critical (WA_DOWN_ALERT_MS). */
  readonly waDownAlertMs: number;
  /** Decrypt errors per minute that warn (WA_DECRYPT_ERRORS_WARN_PER_MIN). */
  readonly decryptErrorsWarnPerMinute: number;
}

/** What the monitor knows of one session; `unknown` until its gateway first answers. */
export interface SessionView {
  readonly id: string;
  readonly status: SessionStatus | 'unknown';
  readonly lastCloseCode: number | null;
  /** The gateway's alert for a halt or a give-up. */
  readonly alert: string | null;
  /** When it was last seen leaving `open`, or when watching began if it was never seen open; undefined while open. */
  readonly downSince: number | undefined;
  readonly decryptErrorsPerMinute: number;
}

/** Down on purpose or given up: only an operator brings it back, so it is critical at once. */
export function needsOperator(status: SessionView['status']): boolean {
  return status !== 'unknown' && (isHalted(status) || status === 'gave_up');
}

/**
 * The `whatsapp:<id>` check. Open is ok; a halt or a give-up is critical at once; any other
 * status (connecting, reconnecting, pairing, awaiting pairing, not answering) warns until the
 * session has not been open for `waDownAlertMs`, then is critical. Decrypt errors are a check
 * of their own (`classifyDecrypt`): a storm on an open session is worth an alert, while a
 * session's warn (reconnecting) is not.
 */
export function classifySession(view: SessionView, now: number, thresholds: SessionThresholds): CheckReport {
  const downForMs = view.downSince === undefined ? 0 : Math.max(0, now - view.downSince);
  const findings: { status: CheckStatus; text: string }[] = [];
  const closed = view.lastCloseCode === null ? '' : `, last close ${view.lastCloseCode}`;
  const state = view.status === 'unknown' ? 'status unknown: its gateway has not answered' : view.status;
  if (needsOperator(view.status)) {
    findings.push({ status: 'critical', text: view.alert ? `session ${view.id}: ${view.alert}` : `session ${view.id} is ${view.status}` });
  } else if (view.status !== 'open') {
    if (downForMs >= thresholds.waDownAlertMs) findings.push({ status: 'critical', text: `session ${view.id} not open for ${seconds(downForMs)} (${state}${closed})` });
    else findings.push({ status: 'warn', text: `session ${view.id} is ${view.status === 'unknown' ? 'of unknown status' : view.status} (not open for ${seconds(downForMs)}${closed})` });
  }
  const status: CheckStatus = findings.some((finding) => finding.status === 'critical') ? 'critical' : findings.length > 0 ? 'warn' : 'ok';
  return {
    status,
    message: findings.length === 0 ? `session ${view.id} is open` : findings.filter((finding) => finding.status === status).map((finding) => finding.text).join('; '),
    at: new Date(now).toISOString(),
    data: {
      status: view.status,
      lastCloseCode: view.lastCloseCode,
      downSinceMs: view.downSince ?? null,
      downForMs,
      decryptErrorsPerMinute: view.decryptErrorsPerMinute,
    },
  };
}

/** The `whatsapp-decrypt:<id>` check: warn while the decrypt-error rate is at or above its threshold. */
export function classifyDecrypt(view: SessionView, now: number, thresholds: SessionThresholds): CheckReport {
  const rate = view.decryptErrorsPerMinute;
  const storm = rate >= thresholds.decryptErrorsWarnPerMinute;
  return {
    status: storm ? 'warn' : 'ok',
    message: storm
      ? `session ${view.id}: ${rate} decrypt errors per minute (warning at ${thresholds.decryptErrorsWarnPerMinute})`
      : `session ${view.id}: ${rate} decrypt errors per minute`,
    at: new Date(now).toISOString(),
    data: { decryptErrorsPerMinute: rate },
  };
}

/** When a session that is not open turns critical by time, if it will: the monitor's escalation timer is set for it. */
export function escalationAt(view: SessionView, thresholds: SessionThresholds): number | undefined {
  if (view.status === 'open' || needsOperator(view.status) || view.downSince === undefined) return undefined;
  return view.downSince + thresholds.waDownAlertMs;
}

function seconds(ms: number): string {
  return `${Math.floor(ms / 1000)} s`;
}
