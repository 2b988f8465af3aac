/**
 * `npx tsx scripts/alerts-demo.ts`: the alerts as an operator's phone would get them. Starts a
 * local Telegram Bot API server, a WhatsApp test server that drops every connection and a
 * private redis-server, then a runtime with three sessions (WA_DOWN_ALERT_MS 5 s, group wait
 * 3 s) on that Redis; prints every message the Bot API server receives while the sessions stay
 * down, then while Redis is killed and started again. Needs `redis-server` on the PATH.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { InlineRunner } from '../actors/pipeline/handler-runner.js';
import { loadConfig } from '../src/config/config.js';
import { Runtime } from '../src/runtime.js';
import { PrivateRedis } from '../test/support/redis-server.js';
import { TelegramServer } from '../test/support/telegram-server.js';
import { WaServer } from '../test/support/wa-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const stamp = (): string => `+${((Date.now() - started) / 1000).toFixed(1)} s`;

const telegram = new TelegramServer();
await telegram.listen();
const wa = await WaServer.start('drop');
const redis = new PrivateRedis();
await redis.start();
const dataDir = mkdtempSync(join(tmpdir(), 'alerts-demo-'));
let printed = 0;
const printNew = (): void => {
  for (; printed < telegram.messages.length; printed++) {
    const message = telegram.messages[printed]!;
    process.stdout.write(`\n[${stamp()}] Telegram sendMessage chat_id=${message.chat_id} parse_mode=${message.parse_mode}\n${message.text}\n`);
  }
};

const runtime = new Runtime({
  loaded: loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    WA_AUTH_DIR: join(dataDir, 'wa-auth'),
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `alerts-demo-${process.pid}:`,
    WA_SESSIONS: 'salon1,salon2,salon3',
    WA_WEBSOCKET_URL: wa.url,
    WA_DOWN_ALERT_MS: '5000',
    MONITOR_INTERVAL_MS: '500',
    STORE_PING_INTERVAL_MS: '500',
    ALERT_GROUP_WAIT_MS: '3000',
    ALERT_GROUP_INTERVAL_MS: '10000',
    ALERT_TELEGRAM_BOT_TOKEN: '123456:DEMO-token',
    ALERT_TELEGRAM_CHAT_ID: '-1001234567890',
    TELEGRAM_API_ROOT: telegram.apiRoot,
  }),
  logger: pino({ level: 'silent' }),
  handlerRunner: () => new InlineRunner(() => undefined),
  showQr: () => undefined,
});
try {
  await runtime.start();
  process.stdout.write(`[${stamp()}] runtime up: 3 sessions against a server that drops every connection (WA_DOWN_ALERT_MS 5 s, ALERT_GROUP_WAIT_MS 3 s)\n`);
  for (let i = 0; i < 30; i++, await sleep(500)) printNew();
  process.stdout.write(`\n[${stamp()}] ${telegram.messages.length} message(s) so far; killing redis-server\n`);
  const before = telegram.messages.length;
  await redis.stop();
  for (let i = 0; i < 24 && telegram.messages.length === before; i++, await sleep(500)) printNew();
  for (let i = 0; i < 12; i++, await sleep(500)) printNew();
  process.stdout.write(`\n[${stamp()}] starting redis-server again\n`);
  await redis.start();
  for (let i = 0; i < 30; i++, await sleep(500)) printNew();
  process.stdout.write(`\n[${stamp()}] ${telegram.messages.length} message(s) in all\n`);
} finally {
  await runtime.shutdown();
  await wa.close();
  await redis.destroy();
  await telegram.close();
  rmSync(dataDir, { recursive: true, force: true });
}
