/**
 * `npx tsx scripts/ops-demo.ts [--keep]`: the operations from the three front ends against one
 * runtime in this process. The runtime has a WhatsApp session whose local server drops every
 * connection (so its socket backs off) and the ops bot polling a local Telegram Bot API server.
 * The script sends the bot an allow-listed `/status` and a stranger's `/restart /http`, then
 * prints what the Telegram server recorded: the answer to the first, nothing for the second
 * (and the bot's count of ignored updates). With `--keep` it stays up and prints the
 * `wa-runtime` commands to try against it (status, recover batches, logs -f) until Ctrl-C.
 * Exits 1 if the bot did not answer the allowed chat within 30 s or answered the stranger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InlineRunner } from '../actors/pipeline/handler-runner.js';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/logging/logger.js';
import { createLogRings } from '../src/logging/log-ring.js';
import { Runtime } from '../src/runtime.js';
import { TREE } from '../src/tree-paths.js';
import { walkTree } from '../supervisor/tree-node.js';
import { TelegramServer } from '../test/support/telegram-server.js';
import { messageUpdate } from '../test/support/telegram-updates.js';
import { WaServer } from '../test/support/wa-server.js';

const ADMIN_TOKEN = 'ops-demo-admin-token-0123456789';
const BOT_TOKEN = '123456:FAKE-ops-demo-bot-token-not-real';
const OPERATOR_CHAT = '1001';
const STRANGER_CHAT = '6666';
const keep = process.argv.includes('--keep');

const wa = await WaServer.start('drop', 0);
const telegram = new TelegramServer({ token: BOT_TOKEN });
const apiRoot = await telegram.listen();
const authDir = mkdtempSync(join(tmpdir(), 'ops-demo-'));
const dataDir = mkdtempSync(join(tmpdir(), 'ops-demo-data-'));
const rings = createLogRings(1_000);
const runtime = new Runtime({
  loaded: loadConfig({
    PORT: process.env.PORT ?? '0',
    ADMIN_TOKEN,
    DATA_DIR: dataDir,
    WA_SESSIONS: 'salon1',
    COMPANIES: '962302=salon1',
    WA_WEBSOCKET_URL: wa.url,
    WA_AUTH_DIR: authDir,
    BACKOFF_INITIAL_MS: '5000',
    BACKOFF_MAX_MS: '60000',
    OPS_BOT_TOKEN: BOT_TOKEN,
    OPS_ALLOWED_CHAT_IDS: OPERATOR_CHAT,
    TELEGRAM_API_ROOT: apiRoot,
    METRICS_PROCESS: 'false',
    // The sessions' worker threads log to stdout themselves: keep them to warnings.
    LOG_LEVEL: 'warn',
  }),
  logger: createLogger({ level: 'info', rings, destination: { write: () => undefined } }),
  logs: rings,
  handlerRunner: () => new InlineRunner(() => undefined),
  showQr: () => undefined,
  opsBot: { pollTimeoutSeconds: 1 },
});

async function waitUntil(what: string, test: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) {
      process.stderr.write(`timed out waiting for ${what}\n`);
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

const socketBackingOff = (): boolean => [...walkTree(runtime.system.snapshot())].some((node) => node.path === '/whatsapp/salon1/socket' && node.status === 'backing_off');
let code = 0;
try {
  await runtime.start();
  const address = await runtime.httpAddress();
  const url = `http://127.0.0.1:${address?.port}`;
  await waitUntil('the session to back off', socketBackingOff, 30_000);
  await waitUntil('the bot to poll', () => telegram.callsOf('getUpdates').length > 0, 30_000);

  const before = telegram.messages.length;
  telegram.pushUpdate(messageUpdate(OPERATOR_CHAT, '/status'));
  telegram.pushUpdate(messageUpdate(STRANGER_CHAT, '/restart /http'));
  const answered = await waitUntil('the answer to /status', () => telegram.messages.slice(before).some((message) => message.chat_id === OPERATOR_CHAT), 30_000);
  // Give a stranger's update the same time to be (wrongly) answered.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const sent = telegram.messages.slice(before);
  const http = [...walkTree(runtime.system.snapshot())].find((node) => node.path === TREE.http);
  const bot = [...walkTree(runtime.system.snapshot())].find((node) => node.path === TREE.opsBot);

  process.stdout.write(`runtime at ${url} (ADMIN_TOKEN=${ADMIN_TOKEN}); Telegram Bot API at ${apiRoot}\n\n`);
  process.stdout.write(`Telegram server record (${telegram.calls.length} calls: ${[...new Set(telegram.calls.map((call) => call.method))].map((method) => `${method} ×${telegram.callsOf(method).length}`).join(', ')})\n`);
  for (const message of sent) process.stdout.write(`\n-> sendMessage to chat ${message.chat_id} (${message.text.length} chars, parse_mode ${message.parse_mode ?? 'none'}):\n${message.text}\n`);
  const toStranger = sent.filter((message) => message.chat_id === STRANGER_CHAT);
  process.stdout.write(`\nmessages to the stranger (chat ${STRANGER_CHAT}): ${toStranger.length}\n`);
  process.stdout.write(`/http restarts: ${http?.restarts ?? '?'}; /ops-bot detail: ${JSON.stringify(bot?.detail ?? {})}\n`);
  if (!answered || toStranger.length > 0 || (http?.restarts ?? 0) > 0) code = 1;

  if (keep) {
    process.stdout.write(`\ntry, in another terminal:\n  ADMIN_TOKEN=${ADMIN_TOKEN} npx wa-runtime status --url ${url}\n  ADMIN_TOKEN=${ADMIN_TOKEN} npx wa-runtime recover batches --url ${url}\n  ADMIN_TOKEN=${ADMIN_TOKEN} npx wa-runtime logs -f --level info --url ${url}\nCtrl-C stops.\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} finally {
  await runtime.shutdown().catch(() => undefined);
  await telegram.close();
  await wa.close();
  rmSync(authDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(code);
