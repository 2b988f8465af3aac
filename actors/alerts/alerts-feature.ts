import type { Feature, FeatureContext } from '../../src/feature.js';
import { TREE, alertChannelPath } from '../../src/tree-paths.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import { childId } from '../../supervisor/tree-node.js';
import type { AlertNotification } from './alert.js';
import { AlertState, type AlertsView } from './alert-state.js';
import { channelActor } from './channels/channel-actor.js';
import type { ChannelTransport, NotificationOutcome } from './channels/channel.js';
import { n8nTransport } from './channels/n8n-transport.js';
import { telegramTransport } from './channels/telegram-transport.js';
import { notifier } from './notifier.js';
import type { Silence, SilenceRequest } from './silences.js';

/** How the HTTP API (and later the CLI and the ops bot) reads and silences alerts. */
export interface AlertsAccess {
  view(): AlertsView;
  silence(request: SilenceRequest): Silence;
  silences(): Silence[];
  /** False when there is no such active silence. */
  unsilence(id: string): boolean;
}

export interface AlertsOffers {
  readonly access: AlertsAccess;
  /** Firing alerts per rule (runtime_alerts_firing{rule}). */
  firingByRule(): ReadonlyMap<string, number>;
  /** Notifications per channel and outcome since start (runtime_alert_notifications_total). */
  readonly outcomes: ReadonlyMap<string, Readonly<Record<NotificationOutcome, number>>>;
}

export interface AlertsDeps {
  /** Tests replace a transport (to point it elsewhere); by default the config's channels. */
  readonly transports?: readonly ChannelTransport[];
  /** Told of every notification the notifier makes. */
  readonly onNotification?: (notification: AlertNotification) => void;
}

export const NOTIFIER_ID = 'notifier';
/** The notifier's mailbox: a burst of check transitions and dead letters must not overflow it. */
const NOTIFIER_MAILBOX = 20_000;

/**
 * `/alerts`: the notifier (alerts from the runtime events, grouped) and one actor per
 * channel (Telegram with ALERT_TELEGRAM_BOT_TOKEN, n8n with ALERT_N8N_WEBHOOK_URL). With no
 * channel configured, notifications are logged at warn.
 */
export function alertsFeature(ctx: FeatureContext, deps: AlertsDeps = {}): Feature<AlertsOffers> {
  const { config } = ctx;
  const state = new AlertState(config.alerts, (check) => ctx.checks.get(check)?.message);
  const transports = deps.transports ?? configuredTransports(ctx);
  const outcomes = new Map<string, Record<NotificationOutcome, number>>();
  const channels: ChildSpec[] = transports.map((transport) => {
    const counts: Record<NotificationOutcome, number> = { sent: 0, retried: 0, rejected: 0, dropped: 0 };
    outcomes.set(transport.name, counts);
    return {
      kind: 'actor',
      id: transport.name,
      behaviour: local(() =>
        channelActor({
          transport,
          queueMax: config.alerts.channelQueueMax,
          retry: { initialMs: 1_000, maxMs: 60_000 },
          checks: ctx.checks,
          onOutcome: (outcome) => counts[outcome]++,
        }),
      ),
    };
  });
  const notifierPath = `${TREE.alerts}/${NOTIFIER_ID}`;
  const reschedule = (): void => {
    ctx.links.resolve(notifierPath)?.tell({ type: 'alerts_reschedule' });
  };
  const tree: ChildSpec = {
    kind: 'supervisor',
    id: childId(TREE.alerts),
    strategy: 'one_for_one',
    children: [
      // Channels first: the notifier may hand over a notification the moment it starts.
      ...channels,
      {
        kind: 'actor',
        id: NOTIFIER_ID,
        mailbox: { capacity: NOTIFIER_MAILBOX },
        behaviour: local(() =>
          notifier({
            state,
            events: ctx.events,
            checks: ctx.checks,
            channels: transports.map((transport) => alertChannelPath(transport.name)),
            ...(deps.onNotification ? { onNotification: deps.onNotification } : {}),
          }),
        ),
      },
    ],
  };
  const now = (): number => ctx.clock.now();
  return {
    children: [tree],
    offers: {
      access: {
        view: () => state.view(now()),
        silence: (request) => {
          const silence = state.silence(request, now());
          reschedule();
          return silence;
        },
        silences: () => state.silences.list(now()),
        unsilence: (id) => {
          const deleted = state.silences.delete(id, now());
          if (deleted) reschedule();
          return deleted;
        },
      },
      firingByRule: () => state.groups.firingByRule(),
      outcomes,
    },
  };
}

function configuredTransports(ctx: FeatureContext): ChannelTransport[] {
  const { telegram, n8n } = ctx.config.alerts;
  const transports: ChannelTransport[] = [];
  if (telegram) transports.push(telegramTransport({ botToken: telegram.botToken, chatIds: telegram.chatIds, apiRoot: telegram.apiRoot }));
  if (n8n) transports.push(n8nTransport({ webhookUrl: n8n.webhookUrl }));
  return transports;
}
