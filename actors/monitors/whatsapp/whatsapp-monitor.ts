import type { ActorContext, Behaviour } from '../../../src/actor/behaviour.js';
import type { RuntimeEvents, SessionEvent } from '../../../src/events/runtime-events.js';
import type { CheckReport, HealthChecks } from '../../../src/health/health-checks.js';
import type { SessionDirectory } from '../../whatsapp/session-directory.js';
import type { SessionStatus } from '../../whatsapp/session-status.js';
import { DecryptRate } from './decrypt-rate.js';
import { classifyDecrypt, classifySession, escalationAt, type SessionThresholds, type SessionView } from './session-health.js';

/** Where the sessions' state comes from: their gateways, through the directory. */
/** `runsElsewhere` (runtimes sharing sessions): a session another node runs is not watched here. */
export type SessionSource = Pick<SessionDirectory, 'ids' | 'sample'> & Partial<Pick<SessionDirectory, 'runsElsewhere'>>;

export interface WhatsAppMonitorOptions extends SessionThresholds {
  readonly sessions: SessionSource;
  /** The runtime's event stream: `session` events carry status changes the moment they happen. */
  readonly events: Pick<RuntimeEvents, 'subscribe'>;
  /** How often every gateway is asked (initial status, decrypt-error counters, a backstop for a missed event). */
  readonly intervalMs: number;
  readonly checks: HealthChecks;
}

export type WhatsAppMonitorMessage =
  | { readonly type: 'sample' }
  | { readonly type: 'status' }
  | { readonly type: 'session_event'; readonly event: SessionEvent }
  | { readonly type: 'escalate'; readonly sessionId: string };

/** What `status` answers: each session's latest check, by check name. */
export type WhatsAppMonitorStatus = Readonly<Record<string, CheckReport | undefined>>;

export function whatsappCheckName(sessionId: string): string {
  return `whatsapp:${sessionId}`;
}

/** A session's decrypt-error check. */
export function decryptCheckName(sessionId: string): string {
  return `whatsapp-decrypt:${sessionId}`;
}

interface Watched {
  status: SessionStatus | 'unknown';
  lastCloseCode: number | null;
  alert: string | null;
  downSince: number | undefined;
  readonly rate: DecryptRate;
  last: CheckReport | undefined;
  lastDecrypt: CheckReport | undefined;
}

/**
 * `monitors/whatsapp`: the one writer of the `whatsapp:<id>` checks (session-health.ts says
 * what each status means). Status changes come from the event stream at once; every
 * `intervalMs` all gateways are also asked, for the status at start, the decrypt-error
 * counters and in case an event was missed. A session's escalation to critical after
 * WA_DOWN_ALERT_MS is an actor timer, so it happens at that time, not at the next sample.
 * It logs a session's check only when its status changes: a storm of decrypt errors or a
 * session down all night is a line or two, not one per sample.
 */
export function whatsappMonitor(options: WhatsAppMonitorOptions): Behaviour<WhatsAppMonitorMessage, WhatsAppMonitorStatus | undefined> {
  const watched = new Map<string, Watched>();
  let unsubscribe: (() => boolean) | undefined;

  const view = (id: string, session: Watched): SessionView => ({
    id,
    status: session.status,
    lastCloseCode: session.lastCloseCode,
    alert: session.alert,
    downSince: session.downSince,
    decryptErrorsPerMinute: session.rate.perMinute(),
  });

  const status = (): WhatsAppMonitorStatus => Object.fromEntries([...watched].map(([id, session]) => [whatsappCheckName(id), session.last]));

  const update = (session: Watched, next: { status: SessionStatus; lastCloseCode: number | null; alert: string | null }, at: number): void => {
    if (next.status === 'open') session.downSince = undefined;
    else if (session.downSince === undefined) session.downSince = at;
    session.status = next.status;
    session.lastCloseCode = next.lastCloseCode;
    session.alert = next.status === 'open' ? null : next.alert;
  };

  const evaluate = (id: string, session: Watched, ctx: ActorContext<WhatsAppMonitorMessage>): void => {
    const now = ctx.clock.now();
    const current = view(id, session);
    const report = classifySession(current, now, options);
    const previous = session.last;
    // Transitions only; a session still connecting at start-up is not news.
    if (report.status !== previous?.status && (previous !== undefined || report.status === 'critical')) {
      const fields = { sessionId: id, whatsapp: report.data };
      if (report.status === 'critical') ctx.log.error(fields, report.message);
      else if (report.status === 'warn') ctx.log.warn(fields, report.message);
      else ctx.log.info(fields, `${report.message} (was ${previous?.status})`);
    }
    session.last = report;
    options.checks.report(whatsappCheckName(id), report);
    const decrypt = classifyDecrypt(current, now, options);
    if (session.lastDecrypt !== undefined && decrypt.status !== session.lastDecrypt.status) {
      const fields = { sessionId: id, decryptErrorsPerMinute: current.decryptErrorsPerMinute };
      if (decrypt.status === 'warn') ctx.log.warn(fields, decrypt.message);
      else ctx.log.info(fields, `${decrypt.message} (was ${session.lastDecrypt.status})`);
    }
    session.lastDecrypt = decrypt;
    options.checks.report(decryptCheckName(id), decrypt);
    const due = escalationAt(current, options);
    if (due !== undefined && due > now) ctx.timers.once(`down:${id}`, due - now, { type: 'escalate', sessionId: id });
    else ctx.timers.cancel(`down:${id}`);
  };

  const detail = (ctx: ActorContext<WhatsAppMonitorMessage>): void => {
    const reports = [...watched.values()].map((session) => session.last?.status);
    ctx.setDetail({
      sessions: watched.size,
      open: [...watched.values()].filter((session) => session.status === 'open').length,
      warn: reports.filter((each) => each === 'warn').length,
      critical: reports.filter((each) => each === 'critical').length,
    });
  };

  return {
    start(ctx) {
      const startedAt = ctx.clock.now();
      for (const id of options.sessions.ids) {
        watched.set(id, { status: 'unknown', lastCloseCode: null, alert: null, downSince: startedAt, rate: new DecryptRate(), last: undefined, lastDecrypt: undefined });
      }
      // Told, not handled in the publisher's call: the event waits its turn behind a sample in
      // progress. One a full mailbox refuses is caught up by the next sample.
      unsubscribe = options.events.subscribe((event: SessionEvent) => void ctx.self.tell({ type: 'session_event', event }), { types: ['session'], name: ctx.path });
      ctx.timers.every('sample', options.intervalMs, { type: 'sample' });
      ctx.self.tell({ type: 'sample' });
    },
    async receive(message, ctx) {
      switch (message.type) {
        case 'status':
          return status();
        case 'session_event': {
          const { event } = message;
          const session = watched.get(event.sessionId);
          if (!session) return undefined;
          update(session, { status: event.status, lastCloseCode: event.closeCode, alert: event.alert }, event.at);
          evaluate(event.sessionId, session, ctx);
          detail(ctx);
          return undefined;
        }
        case 'escalate': {
          const session = watched.get(message.sessionId);
          if (session && options.sessions.runsElsewhere?.(message.sessionId) === undefined) evaluate(message.sessionId, session, ctx);
          detail(ctx);
          return undefined;
        }
        case 'sample': {
          // Awaited in the mailbox: an event published while the gateways answer is handled after, so it is never overwritten by an older answer.
          const samples = await options.sessions.sample();
          const now = ctx.clock.now();
          for (const { id, info } of samples) {
            const session = watched.get(id);
            if (!session) continue;
            const elsewhere = options.sessions.runsElsewhere?.(id);
            if (elsewhere !== undefined) {
              // Another node's to watch: here it is neither down nor up, and never escalates.
              ctx.timers.cancel(`down:${id}`);
              session.status = 'unknown';
              session.downSince = now;
              session.last = { status: 'ok', message: elsewhere ? `session ${id} runs on node ${elsewhere}` : `session ${id} is not owned yet; a node takes it at its next sweep`, at: new Date(now).toISOString(), data: { owner: elsewhere } };
              options.checks.report(whatsappCheckName(id), session.last);
              options.checks.remove(decryptCheckName(id));
              continue;
            }
            // A gateway that does not answer (restarting, stuck) keeps what was known of it.
            if (info) {
              update(session, { status: info.status, lastCloseCode: info.lastCloseCode, alert: info.alert }, now);
              session.rate.record(now, info.decryptErrors.badMac + info.decryptErrors.decrypt);
            }
            evaluate(id, session, ctx);
          }
          detail(ctx);
          return undefined;
        }
      }
    },
    stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      // A stopped monitor must not leave a stale "ok" behind.
      for (const id of watched.keys()) {
        options.checks.remove(whatsappCheckName(id));
        options.checks.remove(decryptCheckName(id));
      }
    },
  };
}
