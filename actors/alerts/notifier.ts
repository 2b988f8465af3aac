import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import { actorPath } from '../../src/actor/actor-path.js';
import type { RuntimeEvent, RuntimeEvents } from '../../src/events/runtime-events.js';
import type { HealthChecks } from '../../src/health/health-checks.js';
import type { AlertNotification } from './alert.js';
import { ALERTING_EVENT_TYPES, alertFromEvent } from './alert-rules.js';
import type { AlertState } from './alert-state.js';
import type { ChannelMessage } from './channels/channel.js';

type AlertingEvent = Extract<RuntimeEvent, { readonly type: (typeof ALERTING_EVENT_TYPES)[number] }>;

export type NotifierMessage =
  | AlertingEvent
  | { readonly type: 'alerts_flush' }
  /** A silence was added or deleted: what is due may have changed. */
  | { readonly type: 'alerts_reschedule' }
  | { readonly type: 'alerts_resubscribe' };

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

  const deliver = (notification: AlertNotification, ctx: ActorContext<NotifierMessage>): void => {
    state.recordSent(notification);
    options.onNotification?.(notification);
    const firing = notification.alerts.filter((alert) => alert.status === 'firing').length;
    const fields = { groupKey: notification.groupKey, status: notification.status, firing, resolved: notification.alerts.length - firing, id: notification.id };
    if (options.channels.length === 0) {
      ctx.log.warn({ ...fields, alerts: notification.alerts.map((alert) => ({ labels: alert.labels, summary: alert.summary, status: alert.status })) }, `alert ${notification.status}: ${notification.rule} (no alert channel configured)`);
      return;
    }
    ctx.log.info(fields, `alert ${notification.status}: ${notification.rule}`);
    for (const path of options.channels) {
      const channel = ctx.lookup(actorPath<ChannelMessage, unknown>(path));
      if (!channel?.tell({ type: 'notify', notification })) {
        ctx.log.warn({ channel: path, id: notification.id }, 'an alert channel is not running; this notification is not sent through it');
      }
    }
  };

  return {
    start(ctx) {
      subscribe(ctx);
      // What is already failing when the notifier (re)starts fires as if it had just happened.
      const now = ctx.clock.now();
      for (const [name, check] of Object.entries(options.checks.all())) {
        if (check.status === 'ok') continue;
        const signal = alertFromEvent({ type: 'check', name, previous: 'absent', status: check.status, message: check.message, at: Math.min(now, Date.parse(check.since)) });
        if (signal) state.groups.observe(signal);
      }
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
          return;
        default: {
          const signal = alertFromEvent(message);
          if (!signal || !state.groups.observe(signal)) return;
        }
      }
      ctx.setDetail({ groups: state.groups.firingByRule().size });
      schedule(ctx);
    },
    stop() {
      unsubscribe?.();
    },
  };
}
