import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { RuntimeEvent } from '../../src/events/runtime-events.js';
import { createLogRings, type LogRings } from '../../src/logging/log-ring.js';
import { createLogger } from '../../src/logging/logger.js';
import { Runtime } from '../../src/runtime.js';
import { walkTree, type TreeNode } from '../../supervisor/tree-node.js';
import { testConfig } from '../support/config.js';
import { listeningTelegram, type TelegramSentMessage, type TelegramServer } from '../support/telegram-server.js';
import { callbackUpdate, channelPostUpdate, editedMessageUpdate, messageUpdate } from '../support/telegram-updates.js';
import { waitFor } from '../support/wait.js';

const BOT_TOKEN = '123456:FAKE-ops-bot-token-for-tests-only';
const ALICE = '1001';
const BOB = '1002';
const STRANGER = '6666';
const CONFLICT = { kind: 'error', status: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' } as const;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Harness {
  runtime: Runtime;
  telegram: TelegramServer;
  events: RuntimeEvent[];
  lines: () => string[];
  logger: ReturnType<typeof createLogger>;
  base: string;
}

/** A runtime with the ops bot polling a local Telegram server (1 s long polls); allowed: Alice and Bob. */
async function start(env: Record<string, string> = {}, options: { rings?: LogRings; serverToken?: string; waitForPolling?: boolean; pollTimeoutSeconds?: number } = {}): Promise<Harness> {
  const telegram = await listeningTelegram(cleanups, { token: options.serverToken ?? BOT_TOKEN });
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level: 'info', destination, ...(options.rings ? { rings: options.rings } : {}) });
  const runtime = new Runtime({
    loaded: testConfig({
      METRICS_PROCESS: 'false',
      OPS_BOT_TOKEN: BOT_TOKEN,
      OPS_ALLOWED_CHAT_IDS: `${ALICE},${BOB}`,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      ...env,
    }),
    logger,
    handlerRunner: () => new InlineRunner(() => undefined),
    opsBot: { pollTimeoutSeconds: options.pollTimeoutSeconds ?? 1 },
    ...(options.rings ? { logs: options.rings } : {}),
  });
  const events: RuntimeEvent[] = [];
  runtime.events.subscribe((event) => void events.push(event), { types: ['admin'] });
  cleanups.push(async () => {
    await runtime.shutdown();
  });
  await runtime.start();
  if (options.waitForPolling !== false) await waitFor(() => runtime.checks.get('ops-bot')?.status === 'ok', 30_000, 'the ops bot polling');
  const address = await runtime.httpAddress();
  return { runtime, telegram, events, logger, lines: () => chunks.join('').split('\n').filter(Boolean), base: `http://127.0.0.1:${address?.port}` };
}

function node(runtime: Runtime, path: string): TreeNode | undefined {
  for (const each of walkTree(runtime.system.snapshot())) if (each.path === path) return each;
  return undefined;
}

function ignored(runtime: Runtime): Record<string, number> {
  return (node(runtime, '/ops-bot')?.detail?.ignored ?? {}) as Record<string, number>;
}

function restartsOf(runtime: Runtime, path: string): number {
  return runtime.operations.status().nodes.find((row) => row.path === path)?.restarts ?? -1;
}

/** Waits for the next message to `chatId` after the first `after` of them that matches. */
function reply(telegram: TelegramServer, chatId: string, matches: (message: TelegramSentMessage) => boolean, what: string): Promise<TelegramSentMessage> {
  return waitFor(() => telegram.messages.find((message) => message.chat_id === chatId && matches(message)), 30_000, what);
}

/** The question with a keyboard the bot sent `chatId` for `label`, and its confirm button's data. */
async function question(telegram: TelegramServer, chatId: string, label: string): Promise<{ message: TelegramSentMessage; confirm: string; cancel: string }> {
  const message = await reply(telegram, chatId, (m) => m.reply_markup !== undefined && m.text.includes(label), `the question "${label}"`);
  const buttons = message.reply_markup?.inline_keyboard?.[0] ?? [];
  return { message, confirm: buttons[0]?.callback_data as string, cancel: buttons[1]?.callback_data as string };
}

/** A round trip with the bot: once /help is answered, every update pushed before it was handled. */
async function roundTrip(telegram: TelegramServer, chatId = ALICE): Promise<void> {
  const before = telegram.messages.filter((message) => message.chat_id === chatId && message.text.includes('commands')).length;
  telegram.pushUpdate(messageUpdate(chatId, '/help'));
  await waitFor(() => telegram.messages.filter((message) => message.chat_id === chatId && message.text.includes('commands')).length > before, 30_000, '/help answered');
}

function answeredCallbacks(telegram: TelegramServer): string[] {
  return telegram.callsOf('answerCallbackQuery').map((call) => String(call.params?.text));
}

describe('ops bot: answers', () => {
  it('an allow-listed /status gets the status table; /cmd@thisbot is taken, /cmd@anotherbot is not', async () => {
    const { runtime, telegram } = await start();
    telegram.pushUpdate(messageUpdate(ALICE, '/status'));
    const status = await reply(telegram, ALICE, (m) => m.text.includes('PATH'), 'the /status table');
    expect(status.parse_mode).toBe('HTML');
    expect(status.text).toMatch(/^<b>(healthy|degraded|unhealthy)<\/b> · score \d+/);
    expect(status.text).toContain('<pre>');
    expect(status.text).toMatch(/PATH +STATUS +RESTARTS +UPTIME +LAST ERROR/);
    expect(status.text).toMatch(/\/http +running +0 +\d+s/);
    expect(status.text).toMatch(/\/ops-bot +running/);
    // The batchers' dynamic supervisor is one summarised row.
    expect(status.text).toMatch(/\/batchers +running .*children/);
    expect(status.text.length).toBeLessThan(4096);

    // getMe of the local server names the bot alerts_test_bot.
    telegram.pushUpdate(messageUpdate(ALICE, '/health@alerts_test_bot'));
    const health = await reply(telegram, ALICE, (m) => m.text.includes('CHECK'), 'the /health answer');
    expect(health.text).toMatch(/ops-bot +ok +polling/);
    telegram.pushUpdate(messageUpdate(ALICE, '/status@another_bot'));
    await roundTrip(telegram);
    expect(telegram.textsFor(ALICE).filter((text) => text.includes('PATH'))).toHaveLength(1);
    expect(ignored(runtime).notCommand).toBe(1);
    // Telegram never saw anything but the bot's own token in the URL; nothing logged it.
    expect(telegram.calls.every((call) => call.token === BOT_TOKEN)).toBe(true);
  });

  it('/restart of an unknown path, or of the root, gets a clear answer and no question', async () => {
    const { runtime, telegram, events } = await start();
    telegram.pushUpdate(messageUpdate(ALICE, '/restart /nope'));
    const answer = await reply(telegram, ALICE, (m) => m.text.includes('/nope'), 'the answer to /restart /nope');
    expect(answer.text).toContain('no actor at /nope');
    expect(answer.reply_markup).toBeUndefined();
    telegram.pushUpdate(messageUpdate(ALICE, '/restart /'));
    const root = await reply(telegram, ALICE, (m) => m.text.includes('root'), 'the answer to /restart /');
    expect(root.text).toContain('the root cannot be restarted');
    telegram.pushUpdate(messageUpdate(ALICE, '/restart'));
    await reply(telegram, ALICE, (m) => m.text.includes('Usage: /restart &lt;path&gt;'), 'the usage of /restart');
    telegram.pushUpdate(messageUpdate(ALICE, '/frobnicate'));
    await reply(telegram, ALICE, (m) => m.text.includes('unknown command'), 'the answer to an unknown command');
    expect(telegram.messages.some((m) => m.reply_markup !== undefined)).toBe(false);
    expect(events).toHaveLength(0);
    expect(restartsOf(runtime, '/http')).toBe(0);
  });
});

describe('ops bot: who gets an answer', () => {
  it("a stranger's /restart /http and a stranger's press of a real button do nothing, and are counted and logged with the chat id only", async () => {
    const { runtime, telegram, events, lines } = await start();
    telegram.pushUpdate(messageUpdate(STRANGER, '/restart /http', { username: 'mallory' }));
    // Alice's real question, whose button the stranger then presses.
    telegram.pushUpdate(messageUpdate(ALICE, '/restart /http'));
    const { message, confirm } = await question(telegram, ALICE, 'restart /http');
    telegram.pushUpdate(callbackUpdate(STRANGER, confirm, { messageId: message.message_id as number }));
    await waitFor(() => ignored(runtime).callbackStranger === 1, 30_000, 'the stranger press counted');
    await roundTrip(telegram);

    expect(ignored(runtime)).toMatchObject({ stranger: 1, callbackStranger: 1 });
    expect(telegram.textsFor(STRANGER)).toEqual([]);
    expect(telegram.callsOf('answerCallbackQuery')).toHaveLength(0);
    expect(restartsOf(runtime, '/http')).toBe(0);
    expect(events.filter((event) => event.type === 'admin')).toHaveLength(0);
    const logged = lines().filter((line) => line.includes('ops bot ignored'));
    expect(logged).toHaveLength(2);
    expect(logged[0]).toContain(`"chatId":"${STRANGER}"`);
    expect(logged[0]).toContain('"command":"/restart"');
    expect(logged[0]).toContain('"level":40');
    // The command's name only: never its arguments or the rest of the text.
    expect(logged.join('\n')).not.toContain('/http');
    expect(logged[1]).toContain('"reason":"callbackStranger"');
    // Alice's question still stands: her own press restarts.
    telegram.pushUpdate(callbackUpdate(ALICE, confirm, { messageId: message.message_id as number }));
    await waitFor(() => restartsOf(runtime, '/http') === 1, 30_000, '/http restarted by Alice');
  });

  it('edited messages are ignored (from anyone) and counted, as are update kinds the bot does not take', async () => {
    const { runtime, telegram, events } = await start();
    telegram.pushUpdate(editedMessageUpdate(ALICE, '/restart /http'));
    telegram.pushUpdate(editedMessageUpdate(STRANGER, '/status'));
    telegram.pushUpdate(channelPostUpdate('-1001234', '/status'));
    await roundTrip(telegram);
    expect(ignored(runtime)).toMatchObject({ edited: 2, unknownKind: 1, stranger: 0 });
    // Only /help was answered.
    expect(telegram.messages.map((m) => m.chat_id)).toEqual([ALICE]);
    expect(telegram.messages.some((m) => m.reply_markup !== undefined)).toBe(false);
    expect(events).toHaveLength(0);
    expect(restartsOf(runtime, '/http')).toBe(0);
  });
});

describe('ops bot: confirmations', () => {
  it('a confirmation pressed after it expired does nothing but answer "expired"', async () => {
    const { runtime, telegram, events } = await start({ OPS_CONFIRM_TTL_MS: '1000' });
    telegram.pushUpdate(messageUpdate(ALICE, '/restart /http'));
    const { message, confirm } = await question(telegram, ALICE, 'restart /http');
    expect(message.text).toContain('Press within 1s');
    // The bot takes its keyboard back when the time is up.
    await waitFor(() => telegram.callsOf('editMessageText').some((call) => String(call.params?.text).includes('expired')), 30_000, 'the question marked expired');
    telegram.pushUpdate(callbackUpdate(ALICE, confirm, { messageId: message.message_id as number }));
    await waitFor(() => answeredCallbacks(telegram).includes('expired'), 30_000, 'the late press answered "expired"');
    await roundTrip(telegram);
    expect(restartsOf(runtime, '/http')).toBe(0);
    expect(events).toHaveLength(0);
  });

  it("a press in time restarts once, audited once as a bot admin event and log line; another allowed chat's press on it does nothing", async () => {
    const { runtime, telegram, events, lines } = await start();
    telegram.pushUpdate(messageUpdate(ALICE, '/restart /http', { username: 'alice' }));
    const { message, confirm } = await question(telegram, ALICE, 'restart /http');
    const messageId = message.message_id as number;

    // Bob is allowed, but this is Alice's question.
    telegram.pushUpdate(callbackUpdate(BOB, confirm, { messageId }));
    await waitFor(() => answeredCallbacks(telegram).includes('this confirmation belongs to another chat'), 30_000, "Bob's press answered");
    expect(ignored(runtime).callbackForeign).toBe(1);
    expect(restartsOf(runtime, '/http')).toBe(0);
    expect(events).toHaveLength(0);

    telegram.pushUpdate(callbackUpdate(ALICE, confirm, { messageId, username: 'alice' }));
    await reply(telegram, ALICE, (m) => m.text.includes('restarted'), 'the restart answered');
    await waitFor(() => restartsOf(runtime, '/http') === 1, 30_000, '/http restarted');
    await waitFor(() => node(runtime, '/http')?.status === 'running', 30_000, '/http running again');
    // A second press of the same button is spent.
    telegram.pushUpdate(callbackUpdate(ALICE, confirm, { messageId }));
    await waitFor(() => answeredCallbacks(telegram).filter((text) => text === 'expired').length === 1, 30_000, 'the second press answered');
    await roundTrip(telegram);

    expect(restartsOf(runtime, '/http')).toBe(1);
    const admin = events.filter((event) => event.type === 'admin');
    expect(admin).toEqual([expect.objectContaining({ type: 'admin', operation: 'restart', target: '/http', frontEnd: 'bot', by: `bot chat ${ALICE} @alice`, outcome: 'ok' })]);
    const audited = lines().filter((line) => line.includes('admin operation via bot'));
    expect(audited).toHaveLength(1);
    expect(audited[0]).toContain(`"by":"bot chat ${ALICE} @alice"`);
    expect(audited[0]).toContain('"frontEnd":"bot"');
    expect(telegram.callsOf('editMessageText').some((call) => String(call.params?.text).includes('confirmed by bot chat 1001 @alice'))).toBe(true);
  });

  it('cancel runs nothing', async () => {
    const { runtime, telegram, events } = await start();
    telegram.pushUpdate(messageUpdate(ALICE, '/recover batches'));
    const { message, cancel } = await question(telegram, ALICE, 'recover batches');
    telegram.pushUpdate(callbackUpdate(ALICE, cancel, { messageId: message.message_id as number }));
    await waitFor(() => answeredCallbacks(telegram).includes('cancelled'), 30_000, 'the cancel answered');
    await roundTrip(telegram);
    expect(events).toHaveLength(0);
    expect(restartsOf(runtime, '/http')).toBe(0);
  });
});

describe('ops bot: restarting itself', () => {
  it('/restart /ops-bot is answered by the next incarnation, once audited', async () => {
    const { runtime, telegram, events } = await start();
    telegram.pushUpdate(messageUpdate(ALICE, '/restart /ops-bot'));
    const { message, confirm } = await question(telegram, ALICE, 'restart /ops-bot');
    telegram.pushUpdate(callbackUpdate(ALICE, confirm, { messageId: message.message_id as number }));
    await reply(telegram, ALICE, (m) => m.text.includes('restarted <code>/ops-bot</code>'), 'the restart of the bot answered');
    expect(restartsOf(runtime, '/ops-bot')).toBe(1);
    expect(events.filter((event) => event.type === 'admin')).toEqual([expect.objectContaining({ operation: 'restart', target: '/ops-bot', frontEnd: 'bot', outcome: 'ok' })]);
    await waitFor(() => runtime.checks.get('ops-bot')?.status === 'ok', 30_000, 'polling again');
    await roundTrip(telegram);
  });
});

describe('ops bot: long answers', () => {
  it('/logs 5000 over 5,000 warn lines is split into messages each under 4096 characters, escaped, in order', async () => {
    const rings = createLogRings(6_000);
    const { telegram, logger } = await start({}, { rings });
    // Through the runtime's own logger, which writes to the rings `logs` reads.
    for (let i = 0; i < 5_000; i++) logger.warn({ i }, `load line ${i} <b>&`);
    const before = telegram.messages.length;
    telegram.pushUpdate(messageUpdate(ALICE, '/logs 5000'));
    await waitFor(() => telegram.messages.slice(before).some((m) => m.text.includes('load line 4999 ')), 60_000, 'the last log line answered');
    const answers = telegram.messages.slice(before).filter((m) => m.chat_id === ALICE);
    expect(answers.length).toBeGreaterThan(10);
    for (const answer of answers) {
      expect(answer.text.length).toBeLessThan(4096);
      expect(answer.text.match(/<pre>/g)).toHaveLength(1);
      expect(answer.text.match(/<\/pre>/g)).toHaveLength(1);
      expect(answer.text).not.toContain('<b>&');
    }
    const numbers = answers.flatMap((answer) => [...answer.text.matchAll(/load line (\d+) &lt;b&gt;&amp;/g)].map((match) => Number(match[1])));
    // The newest 5,000 warn lines: ours, unless the runtime logged a warning of its own meanwhile.
    expect(numbers.length).toBeGreaterThanOrEqual(4_990);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(numbers.at(-1)).toBe(4_999);
  });
});

describe('ops bot: Telegram trouble is a state', () => {
  it('a 409 from getUpdates is the ops-bot check warn and the node backing off with an outage; the rest stays healthy; then it polls again', async () => {
    const { runtime, telegram, base, lines } = await start({ BACKOFF_INITIAL_MS: '200', BACKOFF_MAX_MS: '1000' });
    telegram.answerAlways(CONFLICT, { method: 'getUpdates' });
    const check = await waitFor(() => {
      const current = runtime.checks.get('ops-bot');
      return current?.status === 'warn' && current;
    }, 30_000, 'the ops-bot check warn');
    expect(check.message).toBe('another client polls with OPS_BOT_TOKEN (409)');
    const down = await waitFor(() => {
      const bot = node(runtime, '/ops-bot');
      return bot?.status === 'backing_off' && bot.outage !== undefined && bot;
    }, 30_000, '/ops-bot backing off with an outage');
    expect(down.outage?.dependency).toBe('telegram-ops');
    expect(down.lastError?.code).toBe('WAR_ERR_OPS_BOT_CONFLICT');

    // The rest of the runtime does not care, and a load balancer probing /health keeps it: degraded, not unhealthy.
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('degraded');
    const accepted = await fetch(`${base}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '79161234567', message: 'hello' }) });
    expect(accepted.status).toBe(202);
    const others = Object.entries(runtime.checks.all()).filter(([name]) => name !== 'ops-bot');
    expect(others.filter(([, result]) => result.status === 'critical')).toEqual([]);
    expect(runtime.system.snapshot().status).toBe('running');
    expect(node(runtime, '/http')?.status).toBe('running');
    // Retried at the backoff, for ever: several 409s, one log line.
    await waitFor(() => telegram.callsOf('getUpdates').filter((call) => call.answer === 409).length >= 3, 30_000, 'retries');
    expect(lines().filter((line) => line.includes('another client polls with OPS_BOT_TOKEN'))).toHaveLength(1);

    telegram.answerAlways(undefined);
    await waitFor(() => runtime.checks.get('ops-bot')?.status === 'ok', 30_000, 'the ops-bot check ok again');
    await waitFor(() => node(runtime, '/ops-bot')?.status === 'running', 30_000, '/ops-bot running again');
    telegram.pushUpdate(messageUpdate(ALICE, '/status'));
    await reply(telegram, ALICE, (m) => m.text.includes('PATH'), '/status answered after the conflict');
    const everything = `${lines().join('\n')}\n${JSON.stringify(runtime.checks.all())}\n${JSON.stringify(runtime.system.snapshot())}`;
    expect(everything).not.toContain(BOT_TOKEN);
    expect(everything).not.toContain('FAKE-ops-bot-token');
  });

  it('a 5xx from getUpdates is an outage too (WAR_ERR_OPS_BOT_UNREACHABLE), and passes', async () => {
    const { runtime, telegram } = await start({ BACKOFF_INITIAL_MS: '200', BACKOFF_MAX_MS: '1000' });
    telegram.answerAlways({ kind: 'error', status: 502 }, { method: 'getUpdates' });
    const down = await waitFor(() => {
      const bot = node(runtime, '/ops-bot');
      return bot?.status === 'backing_off' && bot.outage !== undefined && bot;
    }, 30_000, '/ops-bot backing off with an outage');
    expect(down.lastError?.code).toBe('WAR_ERR_OPS_BOT_UNREACHABLE');
    expect(runtime.checks.get('ops-bot')).toMatchObject({ status: 'warn', message: expect.stringContaining('502') });
    telegram.answerAlways(undefined);
    await waitFor(() => runtime.checks.get('ops-bot')?.status === 'ok', 30_000, 'the ops-bot check ok again');
  });

  it('a refused token (401) is critical and not an outage: the bot gives up and stays down, the runtime runs on', async () => {
    const { runtime, base, lines } = await start({ BACKOFF_INITIAL_MS: '50', BACKOFF_MAX_MS: '100', BACKOFF_MAX_ATTEMPTS: '2' }, { serverToken: '999999:another-token-entirely', waitForPolling: false });
    const check = await waitFor(() => {
      const current = runtime.checks.get('ops-bot');
      return current?.status === 'critical' && current;
    }, 30_000, 'the ops-bot check critical');
    expect(check.message).toContain('Telegram refused OPS_BOT_TOKEN (401');
    const failed = await waitFor(() => {
      const bot = node(runtime, '/ops-bot');
      return bot?.status === 'failed' && bot;
    }, 30_000, '/ops-bot given up');
    expect(failed.outage).toBeUndefined();
    expect(failed.lastError?.code).toBe('WAR_ERR_CONFIG_INVALID');
    expect(runtime.system.snapshot().status).toBe('running');
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect(lines().join('\n')).not.toContain(BOT_TOKEN);
  });

  it('stops promptly while a 25 s long poll is held (the request is aborted)', async () => {
    const { runtime, telegram } = await start({}, { pollTimeoutSeconds: 25, waitForPolling: false });
    // An update ends the first long poll at once; the next one is then held.
    await roundTrip(telegram);
    await waitFor(() => telegram.heldPolls === 1, 30_000, 'a held long poll');
    const startedAt = Date.now();
    await runtime.system.supervisor('/').stopChild('ops-bot');
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(runtime.checks.get('ops-bot')).toBeUndefined();
  });
});
