import type { Behaviour } from '../../../src/actor/behaviour.js';
import type { CheckReport, HealthChecks } from '../../../src/health/health-checks.js';
import type { SessionInfo } from '../../whatsapp/session-protocol.js';
import { durationText } from '../duration-text.js';
import { periodicCheck, type CheckRound, type MonitorMessage, type MonitorResults } from '../periodic-check.js';

export function activityCheck(sessionId: string): string {
  return `activity:${sessionId}`;
}

/** What one session's activity is judged on: epoch ms of the last message each way, null for none yet. */
export interface SessionActivity {
  readonly sessionId: string;
  readonly lastReceivedAt: number | null;
  readonly lastSentAt: number | null;
  /** Since when the monitor has watched it: a session with no message yet is idle since then, not since 1970. */
  readonly watchedSince: number;
}

export interface ActivityMonitorOptions {
  readonly intervalMs: number;
  /** ACTIVITY_IDLE_MS; the feature spawns no activity monitor when it is 0. */
  readonly idleMs: number;
  readonly checks: HealthChecks;
  /** Every session's info, or undefined for one whose gateway did not answer (SessionDirectory.sample). */
  readonly sessions: { sample(): Promise<readonly { readonly id: string; readonly info: Pick<SessionInfo, 'last_received_at' | 'last_sent_at'> | undefined }[]> };
}

const parse = (iso: string | null): number | null => {
  if (iso === null) return null;
  const at = Date.parse(iso);
  return Number.isFinite(at) ? at : null;
};

/** Warn when nothing was received, or nothing sent, for `idleMs`; the message says which (or both). */
export function classifyActivity(activity: SessionActivity, idleMs: number, now: number): CheckReport {
  const { sessionId, lastReceivedAt, lastSentAt } = activity;
  const receivedIdleMs = Math.max(0, now - (lastReceivedAt ?? activity.watchedSince));
  const sentIdleMs = Math.max(0, now - (lastSentAt ?? activity.watchedSince));
  const quietIn = receivedIdleMs >= idleMs;
  const quietOut = sentIdleMs >= idleMs;
  const ago = (at: number | null, idle: number): string => (at === null ? 'none yet' : `${durationText(idle)} ago`);
  let message: string;
  if (quietIn && quietOut) message = `session ${sessionId}: nothing received for ${durationText(receivedIdleMs)} and nothing sent for ${durationText(sentIdleMs)}`;
  else if (quietIn) message = `session ${sessionId}: nothing received for ${durationText(receivedIdleMs)} (last sent ${ago(lastSentAt, sentIdleMs)})`;
  else if (quietOut) message = `session ${sessionId}: nothing sent for ${durationText(sentIdleMs)} (last received ${ago(lastReceivedAt, receivedIdleMs)})`;
  else message = `session ${sessionId}: last received ${ago(lastReceivedAt, receivedIdleMs)}, last sent ${ago(lastSentAt, sentIdleMs)}`;
  if (quietIn || quietOut) message += ` (ACTIVITY_IDLE_MS ${durationText(idleMs)})`;
  return {
    status: quietIn || quietOut ? 'warn' : 'ok',
    message,
    at: new Date(now).toISOString(),
    data: {
      session: sessionId,
      lastReceivedAt: lastReceivedAt === null ? null : new Date(lastReceivedAt).toISOString(),
      lastSentAt: lastSentAt === null ? null : new Date(lastSentAt).toISOString(),
      receivedIdleMs,
      sentIdleMs,
      idleMs,
    },
  };
}

/**
 * `monitors/activity`: per session, the time since the last message received and the last
 * sent, as `activity:<session>` checks. A session whose gateway does not answer keeps its
 * last result (the `whatsapp:<session>` check reports a session that is away).
 */
export function activityMonitor(options: ActivityMonitorOptions): Behaviour<MonitorMessage, MonitorResults> {
  const watchedSince = new Map<string, number>();
  return periodicCheck({
    intervalMs: options.intervalMs,
    checks: options.checks,
    async round(ctx): Promise<CheckRound> {
      const sessions = await options.sessions.sample().catch(() => undefined);
      const now = ctx.clock.now();
      const round = new Map<string, CheckReport | undefined>();
      if (!sessions) {
        // Nothing answered at all: every check stands as it was.
        for (const id of watchedSince.keys()) round.set(activityCheck(id), undefined);
        return round;
      }
      for (const { id, info } of sessions) {
        let since = watchedSince.get(id);
        if (since === undefined) watchedSince.set(id, (since = now));
        round.set(
          activityCheck(id),
          info && classifyActivity({ sessionId: id, lastReceivedAt: parse(info.last_received_at), lastSentAt: parse(info.last_sent_at), watchedSince: since }, options.idleMs, now),
        );
      }
      return round;
    },
  });
}
