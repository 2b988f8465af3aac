import type { Logger } from 'pino';
import type { AlertNotification } from '../../actors/alerts/alert.js';
import { alertsFeature, type AlertsOffers } from '../../actors/alerts/alerts-feature.js';
import type { ChannelTransport } from '../../actors/alerts/channels/channel.js';
import { n8nTransport } from '../../actors/alerts/channels/n8n-transport.js';
import { telegramTransport } from '../../actors/alerts/channels/telegram-transport.js';
import { Links } from '../../src/actor/link.js';
import { ManualClock } from '../../src/clock.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { RuntimeEvent, RuntimeEvents } from '../../src/events/runtime-events.js';
import type { FeatureContext } from '../../src/feature.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { ShutdownDeadline } from '../../src/shutdown-deadline.js';
import { ActorSystem } from '../../src/system/actor-system.js';
import type { ChildSpec } from '../../supervisor/child-spec.js';
import { testConfig } from './config.js';
import { captureLogger } from './logger.js';
import { seededRandom } from './random.js';

export const T0 = Date.UTC(2026, 11, 2, 9, 0, 0);
export const BOT_TOKEN = '123456:TEST-token-never-logged';

export interface AlertHarnessOptions {
  readonly env?: Record<string, string>;
  /** Where Telegram lives (a TelegramServer's apiRoot); absent: no Telegram channel. */
  readonly telegramApiRoot?: string;
  readonly chatIds?: readonly string[];
  /** An n8n sink's URL; absent: no n8n channel. */
  readonly n8nUrl?: string;
  /** More children in the same system (a monitor, an actor that fails), given the feature context. */
  readonly children?: (ctx: FeatureContext) => ChildSpec[];
}

export interface AlertHarness {
  readonly clock: ManualClock;
  readonly checks: HealthChecks;
  readonly events: RuntimeEvents;
  readonly system: ActorSystem;
  readonly offers: AlertsOffers;
  readonly notifications: AlertNotification[];
  readonly logger: Logger;
  logText(): string;
  logLines(): string[];
  /** Reports a check at the clock's time, as a monitor would. */
  report(name: string, status: 'ok' | 'warn' | 'critical', message?: string): void;
  /** Moves the clock in steps, letting timers and I/O run between them. */
  advance(ms: number, stepMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The alerts feature (notifier and real channels against local servers) in an actor system on
 * a manual clock, with the checks and events a runtime would give it: incidents are replayed
 * as the monitors would report them, and the clock decides when groups are due.
 */
export async function startAlertHarness(options: AlertHarnessOptions = {}): Promise<AlertHarness> {
  const clock = new ManualClock(T0);
  const capture = captureLogger('info');
  const logger = capture.logger;
  const env: Record<string, string> = { ...options.env };
  if (options.telegramApiRoot) {
    env.ALERT_TELEGRAM_BOT_TOKEN = BOT_TOKEN;
    env.ALERT_TELEGRAM_CHAT_ID = (options.chatIds ?? ['1001']).join(',');
    env.TELEGRAM_API_ROOT = options.telegramApiRoot;
  }
  if (options.n8nUrl) env.ALERT_N8N_WEBHOOK_URL = options.n8nUrl;
  const { config } = testConfig(env);
  const events: RuntimeEvents = new EventBus<RuntimeEvent>(logger);
  const checks = new HealthChecks({ onTransition: (change) => events.publish({ type: 'check', ...change }), now: () => clock.now() });
  const links = new Links<ActorSystem>();
  const ctx: FeatureContext = { config, logger, clock, checks, events, links, owner: 'alert-harness', shutdown: new ShutdownDeadline(config.shutdownTimeoutMs) };
  const transports: ChannelTransport[] = [];
  if (config.alerts.telegram) {
    // Pacing at 0: the tests look at what was sent, not at Telegram's per-chat rate.
    transports.push(telegramTransport({ ...config.alerts.telegram, perChatIntervalMs: 0, clock }));
  }
  if (config.alerts.n8n) transports.push(n8nTransport({ webhookUrl: config.alerts.n8n.webhookUrl, now: () => clock.now() }));
  const notifications: AlertNotification[] = [];
  const alerts = alertsFeature(ctx, { transports, onNotification: (notification) => notifications.push(notification) });
  const system = new ActorSystem(
    { strategy: 'one_for_one', children: [...(options.children?.(ctx) ?? []), ...alerts.children] },
    { logger, clock, events, random: seededRandom(11) },
  );
  links.bind(system);
  await system.start();
  return {
    clock,
    checks,
    events,
    system,
    offers: alerts.offers,
    notifications,
    logger,
    logText: capture.text,
    logLines: capture.lines,
    report(name, status, message = `${name} is ${status}`) {
      checks.report(name, { status, message, at: new Date(clock.now()).toISOString() });
    },
    async advance(ms, stepMs = 1_000) {
      for (let moved = 0; moved < ms; moved += stepMs) {
        await clock.advanceAsync(Math.min(stepMs, ms - moved));
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    async close() {
      await system.shutdown();
    },
  };
}
