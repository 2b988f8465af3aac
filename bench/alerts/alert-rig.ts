/**
 * The alerts feature as the runtime composes it (notifier and a real Telegram channel on
 * grammY) on the real clock, against a local Bot API server: what the alert benchmarks drive.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { AlertNotification } from '../../actors/alerts/alert.js';
import { alertsFeature } from '../../actors/alerts/alerts-feature.js';
import { telegramTransport } from '../../actors/alerts/channels/telegram-transport.js';
import { Links } from '../../src/actor/link.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/config.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { RuntimeEvent, RuntimeEvents } from '../../src/events/runtime-events.js';
import type { FeatureContext } from '../../src/feature.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { ShutdownDeadline } from '../../src/shutdown-deadline.js';
import { ActorSystem } from '../../src/system/actor-system.js';
import { walkTree } from '../../supervisor/tree-node.js';
import { TelegramServer } from '../../test/support/telegram-server.js';

export const BENCH_BOT_TOKEN = '123456:BENCH-token';

export interface AlertRig {
  readonly events: RuntimeEvents;
  readonly telegram: TelegramServer;
  readonly notifications: { readonly at: number; readonly notification: AlertNotification }[];
  /** Messages the notifier has taken from its mailbox so far. */
  notifierProcessed(): number;
  notifierDepth(): number;
  /** Alert groups the notifier holds (GET /alerts). */
  groupCount(): number;
  close(): Promise<void>;
}

export async function startAlertRig(grouping: { groupWaitMs: number; groupIntervalMs: number; perChatIntervalMs?: number }): Promise<AlertRig> {
  const telegram = new TelegramServer();
  await telegram.listen();
  const logger: Logger = pino({ level: 'silent' });
  const clock = systemClock();
  const { config } = loadConfig({
    PORT: '0',
    ALERT_GROUP_WAIT_MS: String(grouping.groupWaitMs),
    ALERT_GROUP_INTERVAL_MS: String(grouping.groupIntervalMs),
    ALERT_REPEAT_INTERVAL_MS: String(Math.max(grouping.groupIntervalMs, 14_400_000)),
    ALERT_TELEGRAM_BOT_TOKEN: BENCH_BOT_TOKEN,
    ALERT_TELEGRAM_CHAT_ID: '1001',
    TELEGRAM_API_ROOT: telegram.apiRoot,
  });
  const events: RuntimeEvents = new EventBus<RuntimeEvent>(logger);
  const checks = new HealthChecks({ onTransition: (change) => events.publish({ type: 'check', ...change }) });
  const links = new Links<ActorSystem>();
  const ctx: FeatureContext = { config, logger, clock, checks, events, links, owner: 'bench', shutdown: new ShutdownDeadline(config.shutdownTimeoutMs) };
  const notifications: { at: number; notification: AlertNotification }[] = [];
  const telegramConfig = config.alerts.telegram!;
  const alerts = alertsFeature(ctx, {
    transports: [telegramTransport({ ...telegramConfig, perChatIntervalMs: grouping.perChatIntervalMs ?? 0 })],
    onNotification: (notification) => notifications.push({ at: performance.timeOrigin + performance.now(), notification }),
  });
  const system = new ActorSystem({ strategy: 'one_for_one', children: alerts.children }, { logger, clock, events });
  links.bind(system);
  await system.start();
  const notifierNode = () => [...walkTree(system.snapshot())].find((node) => node.path === '/alerts/notifier');
  return {
    events,
    telegram,
    notifications,
    notifierProcessed: () => notifierNode()?.mailbox.processed ?? 0,
    notifierDepth: () => notifierNode()?.mailbox.depth ?? 0,
    groupCount: () => alerts.offers.access.view().groups.length,
    async close() {
      await system.shutdown();
      await telegram.close();
    },
  };
}
