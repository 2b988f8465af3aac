import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { Runtime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { captureLogger } from '../support/logger.js';
import { testPrefix } from '../support/redis.js';
import { PrivateRedis } from '../support/redis-server.js';
import { listeningTelegram } from '../support/telegram-server.js';
import { WaServer } from '../support/wa-server.js';
import { waitFor } from '../support/wait.js';

/**
 * The "done when", on the whole runtime and the real clock (short thresholds): alerts
 * through grammY to a local Bot API server reached through TELEGRAM_API_ROOT.
 */
const BOT_TOKEN = '987654:E2E-token-never-in-logs';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startRuntime(env: Record<string, string>) {
  const capture = captureLogger('info');
  const runtime = new Runtime({
    loaded: testConfig({ METRICS_PROCESS: 'false', ALERT_TELEGRAM_BOT_TOKEN: BOT_TOKEN, ALERT_TELEGRAM_CHAT_ID: '-1001234567890', ...env }),
    logger: capture.logger,
    handlerRunner: () => new InlineRunner(() => undefined),
    showQr: () => undefined,
  });
  cleanups.push(() => runtime.shutdown().then(() => undefined));
  await runtime.start();
  return { runtime, log: capture.text };
}

describe('alerts end to end', () => {
  it('three WhatsApp sessions against the dropping test server give exactly one Telegram message naming all three, within WA_DOWN_ALERT_MS plus the group wait', async () => {
    const telegram = await listeningTelegram(cleanups);
    const wa = await WaServer.start('drop');
    cleanups.push(() => wa.close());
    const authDir = mkdtempSync(join(tmpdir(), 'wa-auth-'));
    cleanups.push(() => rmSync(authDir, { recursive: true, force: true }));
    const downAlertMs = 3_000;
    const groupWaitMs = 2_000;
    const started = Date.now();
    const { log } = await startRuntime({
      TELEGRAM_API_ROOT: telegram.apiRoot,
      WA_SESSIONS: 'salon1,salon2,salon3',
      WA_WEBSOCKET_URL: wa.url,
      WA_AUTH_DIR: authDir,
      WA_DOWN_ALERT_MS: String(downAlertMs),
      ALERT_GROUP_WAIT_MS: String(groupWaitMs),
      MONITOR_INTERVAL_MS: '500',
    });
    await waitFor(() => telegram.messages.length >= 1, 30_000, 'the Telegram message');
    const arrivedAfter = telegram.messages[0]!.at - started;
    // A little slack for start-up and the monitor's first sample on a loaded machine.
    expect(arrivedAfter).toBeLessThan(downAlertMs + groupWaitMs + 5_000);
    // Sessions keep reconnecting; nothing else is sent while the group is unchanged.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(telegram.messages).toHaveLength(1);
    const [message] = telegram.messages;
    expect(message!.chat_id).toBe('-1001234567890');
    expect(message!.text.split('\n')[0]).toContain('[FIRING:3] whatsapp session down');
    for (const id of ['salon1', 'salon2', 'salon3']) expect(message!.text).toContain(`session=${id}`);
    expect(log()).not.toContain(BOT_TOKEN);
  }, 60_000);

  it('killing Redis and starting it again gives one firing and one resolved Telegram message', async () => {
    const telegram = await listeningTelegram(cleanups);
    const redis = new PrivateRedis();
    cleanups.push(() => redis.destroy());
    await redis.start();
    const groupWaitMs = 1_500;
    const groupIntervalMs = 4_000;
    const { runtime } = await startRuntime({
      TELEGRAM_API_ROOT: telegram.apiRoot,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: testPrefix('alerts-e2e'),
      STORE_PING_INTERVAL_MS: '300',
      STORE_RETRY_MS: '100',
      MONITOR_INTERVAL_MS: '300',
      ALERT_GROUP_WAIT_MS: String(groupWaitMs),
      ALERT_GROUP_INTERVAL_MS: String(groupIntervalMs),
      BACKOFF_INITIAL_MS: '50',
      BACKOFF_MAX_MS: '300',
    });
    await waitFor(() => runtime.checks.get('store')?.status === 'ok', 20_000, 'the store check ok');
    await redis.stop();
    await waitFor(() => telegram.messages.length >= 1, 30_000, 'the firing message');
    expect(telegram.messages[0]!.text.split('\n')[0]).toMatch(/\[FIRING:\d\] health check failing/);
    expect(telegram.messages[0]!.text).toContain('check=store');
    // Down for a few group intervals: no message in between (the repeat interval is hours).
    await new Promise((resolve) => setTimeout(resolve, 2 * groupIntervalMs));
    expect(telegram.messages).toHaveLength(1);
    await redis.start();
    await waitFor(() => telegram.messages.length >= 2, 30_000, 'the resolved message');
    expect(telegram.messages[1]!.text.split('\n')[0]).toContain('[RESOLVED] health check failing');
    await new Promise((resolve) => setTimeout(resolve, groupIntervalMs + 1_000));
    expect(telegram.messages).toHaveLength(2);
  }, 90_000);
});
