import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import { actorPath } from '../../src/actor/actor-path.js';
import type { RuntimeEvent, RuntimeEvents } from '../../src/events/runtime-events.js';
import type { HealthChecks } from '../../src/health/health-checks.js';
import { fingerprint, type AlertNotification, type AlertSignal } from './alert.js';
import { ALERTING_EVENT_TYPES, alertFromEvent } from './alert-rules.js';
import type { AlertState } from './alert-state.js';
import type { ChannelMessage } from './channels/channel.js';

type AlertingEvent = Extract<RuntimeEvent, { readonly type: (typeof ALERTING_EVENT_TYPES)[number] }>;

export type NotifierMessage =
  | AlertingEvent
  | { readonly type: 'alerts_flush' }
  /** A silence was added or deleted: what is due may have changed. */
  | { readonly type: 'alerts_reschedule' }
  | { readonly type: 'alerts_resubscribe' }
  /** Brings the alerts in line with the checks as they are now (after a start). */
  | { readonly type: 'alerts_reconcile' };

export interface NotifierOptions {
  readonly state: AlertState;
  readonly events: RuntimeEvents;
  readonly checks: HealthChecks;
  /** The channel actors' paths (`/alerts/telegram`); empty: notifications are only logged. */
  readonly channels: readonly string[];
  /** Told of every notification made (metrics, tests). */
  readonly onNotification?: (notification: AlertNotification) => void;
}

const SUBSCRIPTION_CAPACITY = 10_000;

/**
 * `/alerts/notifier`: reads the runtime events, turns them into alerts (alert-rules.ts),
 * groups them (grouping.ts) and, at each group's due time, hands the notification to every
 * channel actor. A channel that is down is its own actor's problem: the notifier never waits
 * for one, so a dead Telegram never delays n8n.
 */
export function notifier(options: NotifierOptions): Behaviour<NotifierMessage, void> {
  const { state } = options;
  let unsubscribe: (() => boolean) | undefined;

  const subscribe = (ctx: ActorContext<NotifierMessage>): void => {
    unsubscribe = options.events.subscribe<AlertingEvent['type']>(ctx.self, {
      types: ALERTING_EVENT_TYPES,
      name: 'alerts',
      capacity: SUBSCRIPTION_CAPACITY,
      onCutOff: (reason) => {
        // Deaf alerts are the worst failure they can have: say so, and listen again shortly.
        ctx.log.error({ reason }, 'the alerts notifier fell behind the runtime events and was cut off; subscribing again');
        ctx.timers.once('resubscribe', 1_000, { type: 'alerts_resubscribe' });
      },
    });
  };

  const schedule = (ctx: ActorContext<NotifierMessage>): void => {
    const now = ctx.clock.now();
    const candidates = [state.groups.nextDueAt(), state.silences.nextEndAt(now)].filter((at): at is number => at !== undefined);
    if (candidates.length === 0) {
      ctx.timers.cancel('flush');
      return;
    }
    ctx.timers.once('flush', Math.max(0, Math.min(...candidates) - now), { type: 'alerts_flush' });
  };

  /** A signal's time as the grouping counts from it: never NaN (that would stop every flush) nor in the future. */
  const observe = (signal: AlertSignal, now: number): boolean =>
    state.groups.observe(Number.isFinite(signal.at) && signal.at <= now ? signal : { ...signal, at: now });

  /**
   * Events published while the notifier was not subscribed (cut off, or between the stop and
   * the start of a restart) are lost, and the last one in the mailbox may be older than the
   * truth: every check is read as it is now, what fails fires and what recovered (or is gone)
   * resolves, so no alert stays firing for ever or is missed. All `state` alerts come from
   * checks (alert-rules.ts); event alerts cannot be recovered this way.
   */
  const reconcile = (ctx: ActorContext<NotifierMessage>): boolean => {
    const now = ctx.clock.now();
    const present = new Set<string>();
    let changed = false;
    for (const [name, check] of Object.entries(options.checks.all())) {
      const signal = alertFromEvent({ type: 'check', name, previous: 'absent', status: check.status, message: check.message, at: Date.parse(check.since) });
      if (!signal) continue;
      present.add(fingerprint(signal.rule, signal.labels));
      changed = observe(signal, now) || changed;
    }
    return state.groups.resolveStateAlertsExcept(present, now) || changed;
  };

  const deliver = (notification: AlertNotification, ctx: ActorContext<NotifierMessage>): void => {
    // The groups already count this notification as told: a throw here must not cost the
    // channels it, nor the notifications after it in the same flush.
    state.recordSent(notification);
    try {
      options.onNotification?.(notification);
    } catch (error) {
      ctx.log.warn({ err: error, id: notification.id }, 'onNotification threw');
    }
    const firing = notification.alerts.filter((alert) => alert.status === 'firing').length;
    const fields = {
      groupKey: notification.groupKey,
      status: notification.status,
      firing,
      resolved: notification.alerts.length - firing,
      ...(notification.omitted ? { omitted: notification.omitted } : {}),
      id: notification.id,
    };
    if (notification.omitted) ctx.log.warn(fields, `alert group ${notification.rule} is full: ${notification.omitted} more alert signals were not kept`);
    if (options.channels.length === 0) {
      ctx.log.warn({ ...fields, alerts: notification.alerts.map((alert) => ({ labels: alert.labels, summary: alert.summary, status: alert.status })) }, `alert ${notification.status}: ${notification.rule} (no alert channel configured)`);
      return;
    }
    ctx.log.info(fields, `alert ${notification.status}: ${notification.rule}`);
    for (const path of options.channels) {
      let taken = false;
      try {
        taken = ctx.lookup(actorPath<ChannelMessage, unknown>(path))?.tell({ type: 'notify', notification }) ?? false;
      } catch (error) {
        ctx.log.warn({ err: error, channel: path }, 'handing a notification to an alert channel threw');
      }
      if (!taken) ctx.log.warn({ channel: path, id: notification.id }, 'an alert channel is not running; this notification is not sent through it');
    }
  };

  return {
    start(ctx) {
      subscribe(ctx);
      // Behind whatever a previous incarnation left in the mailbox, so the checks as they are
      // now have the last word; what is already failing fires as if it had just happened.
      if (!ctx.self.tell({ type: 'alerts_reconcile' })) reconcile(ctx);
      schedule(ctx);
    },
    receive(message, ctx) {
      switch (message.type) {
        case 'alerts_flush':
          for (const notification of state.groups.flush(ctx.clock.now())) deliver(notification, ctx);
          break;
        case 'alerts_reschedule':
          break;
        case 'alerts_resubscribe':
          unsubscribe?.();
          subscribe(ctx);
          if (!reconcile(ctx)) return;
          break;
        case 'alerts_reconcile':
          if (!reconcile(ctx)) return;
          break;
        default: {
          const signal = alertFromEvent(message);
          if (!signal || !observe(signal, ctx.clock.now())) return;
        }
      }
      ctx.setDetail({ groups: state.groups.size });
      schedule(ctx);
    },
    stop() {
      unsubscribe?.();
    },
  };
}
