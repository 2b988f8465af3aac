import { afterEach, describe, expect, it } from 'vitest';
import type { AlertNotification, AlertView } from '../../actors/alerts/alert.js';
import type { SendOutcome } from '../../actors/alerts/channels/channel.js';
import { renderTelegram } from '../../actors/alerts/channels/telegram-format.js';
import { telegramTransport, type TelegramTransportOptions } from '../../actors/alerts/channels/telegram-transport.js';
import { ManualClock } from '../../src/clock.js';
import { freePort } from '../support/net.js';
import { listeningTelegram, type TelegramServer } from '../support/telegram-server.js';
import { waitFor } from '../support/wait.js';

const TOKEN = '123456789:FAKE-test-token_0123456789abcdef';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function notification(id: string, alertCount = 1, summary = 'session is not connected'): AlertNotification {
  const alerts: AlertView[] = Array.from({ length: alertCount }, (_, i) => ({
    fingerprint: `f${i}`,
    rule: 'whatsapp session down',
    severity: 'critical',
    labels: { session: `salon${i}` },
    summary,
    status: 'firing',
    startsAt: '2024-05-01T10:03:00.000Z',
    endsAt: null,
    count: 1,
  }));
  return { status: 'firing', groupKey: 'whatsapp session down', rule: 'whatsapp session down', alerts, sentAt: '2024-05-01T10:04:00.000Z', id };
}

/** A notification of exactly three parts. */
function threeParts(id: string): AlertNotification {
  for (let count = 60; ; count += 10) {
    const candidate = notification(id, count, 'x'.repeat(150));
    if (renderTelegram(candidate).length === 3) return candidate;
  }
}

async function transportFor(server: TelegramServer, options: Partial<TelegramTransportOptions> = {}) {
  const transport = telegramTransport({ botToken: TOKEN, chatIds: ['1001'], apiRoot: server.apiRoot, perChatIntervalMs: 0, requestTimeoutMs: 2_000, ...options });
  cleanups.push(() => transport.close?.());
  return transport;
}

const send = (transport: Awaited<ReturnType<typeof transportFor>>, n: AlertNotification): Promise<SendOutcome> => transport.send(n, new AbortController().signal);

describe('Telegram transport (real grammY against a local Bot API)', () => {
  it('sends every part to every chat as HTML, with the bot token in the path', async () => {
    const server = await listeningTelegram(cleanups, { token: TOKEN });
    const transport = await transportFor(server, { chatIds: ['1001', '-1002'] });
    const n = threeParts('n1');
    expect(await send(transport, n)).toEqual({ kind: 'sent' });
    const parts = renderTelegram(n);
    expect(server.textsFor('1001')).toEqual(parts);
    expect(server.textsFor('-1002')).toEqual(parts);
    expect(server.messages.every((message) => message.parse_mode === 'HTML' && message.token === TOKEN)).toBe(true);
    // Part by part across the chats: part 2 goes to the first chat while the second gets part 1's turn.
    expect(server.messages.map((message) => message.chat_id)).toEqual(['1001', '-1002', '1001', '-1002', '1001', '-1002']);
  });

  it('waits out a short retry_after inside the attempt (auto-retry) and loses nothing', async () => {
    const server = await listeningTelegram(cleanups);
    const transport = await transportFor(server);
    server.answerNext(1, { kind: 'rate-limit', retryAfterS: 1 });
    expect(await send(transport, notification('a'))).toEqual({ kind: 'sent' });
    expect(await send(transport, notification('b'))).toEqual({ kind: 'sent' });
    const sends = server.calls.filter((call) => call.method === 'sendMessage');
    expect(sends.map((call) => call.answer)).toEqual([429, 200, 200]);
    expect((sends[1]?.at ?? 0) - (sends[0]?.at ?? 0)).toBeGreaterThanOrEqual(1_000 - 5);
    expect(server.messages).toHaveLength(2);
  });

  it('hands a long retry_after back as a retry with afterMs instead of blocking', async () => {
    const server = await listeningTelegram(cleanups);
    const transport = await transportFor(server, { autoRetryMaxDelaySeconds: 3 });
    server.answerNext(1, { kind: 'rate-limit', retryAfterS: 30 });
    const started = Date.now();
    const outcome = await send(transport, notification('a'));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outcome).toMatchObject({ kind: 'retry', afterMs: 30_000, error: expect.stringContaining('429') });
  });

  it('classifies 5xx and non-JSON answers as retry, other 4xx as rejected', async () => {
    const server = await listeningTelegram(cleanups);
    const transport = await transportFor(server);
    server.answerNext(1, { kind: 'error', status: 500 });
    expect(await send(transport, notification('a'))).toMatchObject({ kind: 'retry', error: 'Telegram answered 500: Internal Server Error' });
    server.answerNext(1, { kind: 'html', status: 502 });
    const proxied = await send(transport, notification('b'));
    expect(proxied.kind).toBe('retry');
    expect(JSON.stringify(proxied)).not.toContain(TOKEN);
    server.answerNext(1, { kind: 'error', status: 400, description: "Bad Request: can't parse entities" });
    expect(await send(transport, notification('c'))).toEqual({ kind: 'rejected', error: "chat 1001: Telegram answered 400: Bad Request: can't parse entities" });
    server.answerNext(1, { kind: 'error', status: 403 });
    expect(await send(transport, notification('d'))).toMatchObject({ kind: 'rejected', error: expect.stringContaining('403: Forbidden') });
  });

  it('gives up on a hung Bot API after its request timeout, as a retry', async () => {
    const server = await listeningTelegram(cleanups);
    const transport = await transportFor(server, { requestTimeoutMs: 300 });
    server.answerNext(1, { kind: 'hang' });
    const started = Date.now();
    const outcome = await send(transport, notification('a'));
    expect(outcome).toMatchObject({ kind: 'retry', error: expect.stringContaining('timed out') });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('ends a hung request when its signal aborts', async () => {
    const server = await listeningTelegram(cleanups);
    const transport = await transportFor(server, { requestTimeoutMs: 30_000 });
    server.answerNext(1, { kind: 'hang' });
    const controller = new AbortController();
    const sending = transport.send(notification('a'), controller.signal);
    await waitFor(() => server.calls.length === 1, 10_000, 'the hung call');
    const started = Date.now();
    controller.abort();
    expect(await sending).toMatchObject({ kind: 'retry' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('never puts the bot token in an error, even where node-fetch names the URL', async () => {
    const port = await freePort();
    const transport = telegramTransport({ botToken: TOKEN, chatIds: ['1001'], apiRoot: `http://127.0.0.1:${port}`, perChatIntervalMs: 0 });
    cleanups.push(() => transport.close?.());
    const outcome = await send(transport, notification('a'));
    expect(outcome).toMatchObject({ kind: 'retry', error: expect.stringContaining('ECONNREFUSED') });
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
    expect(JSON.stringify(outcome)).not.toContain('FAKE-test-token');
    // The URL is there, with the token taken out.
    expect(JSON.stringify(outcome)).toContain('/bot<token>/sendMessage');
  });

  it('does not resend to one chat the parts it took while another chat failed', async () => {
    const server = await listeningTelegram(cleanups);
    const transport = await transportFor(server, { chatIds: ['1001', '1002'] });
    const n = threeParts('n1');
    // Chat 1002 takes part 1, then fails part 2 twice: by then chat 1001 has parts 1 and 2.
    server.answerNext(2, { kind: 'error', status: 500 }, { chatId: '1002', method: 'sendMessage', skip: 1 });
    expect((await send(transport, n)).kind).toBe('retry');
    expect(server.textsFor('1001')).toHaveLength(2);
    expect((await send(transport, n)).kind).toBe('retry');
    expect(await send(transport, n)).toEqual({ kind: 'sent' });
    const parts = renderTelegram(n);
    expect(server.textsFor('1001')).toEqual(parts);
    expect(server.textsFor('1002')).toEqual(parts);
    expect(server.calls.filter((call) => call.chatId === '1001')).toHaveLength(3);
    expect(server.calls.filter((call) => call.chatId === '1002').map((call) => call.answer)).toEqual([200, 500, 500, 200, 200]);
  });

  it('delivers to the other chats when one refuses, and reports the refusal', async () => {
    const server = await listeningTelegram(cleanups);
    const transport = await transportFor(server, { chatIds: ['1001', '1002'] });
    server.answerNext(1, { kind: 'error', status: 403 }, { chatId: '1002' });
    const n = threeParts('n1');
    const outcome = await send(transport, n);
    expect(outcome).toEqual({ kind: 'rejected', error: 'chat 1002: Telegram answered 403: Forbidden: bot was kicked from the group chat (delivered to 1001)' });
    expect(server.textsFor('1001')).toEqual(renderTelegram(n));
    // A refusing chat is not asked again for the later parts of the same notification.
    expect(server.calls.filter((call) => call.chatId === '1002')).toHaveLength(1);
  });

  it('paces messages to one chat on its clock, and does not make other chats wait for it', async () => {
    const server = await listeningTelegram(cleanups);
    const clock = new ManualClock(1_000_000);
    const transport = await transportFor(server, { chatIds: ['1001', '1002'], perChatIntervalMs: 1_000, clock });
    const n = threeParts('n1');
    const sending = send(transport, n);
    // Part 1 goes to both chats at once; part 2 to the first chat waits for its interval.
    await waitFor(() => server.messages.length === 2 && clock.pendingTimers() === 1, 10_000, 'part 1 to both chats');
    clock.advance(999);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(server.messages).toHaveLength(2);
    clock.advance(1);
    // The second chat's interval ran out with the first's: part 2 reaches it without another wait.
    await waitFor(() => server.messages.length === 4 && clock.pendingTimers() === 1, 10_000, 'part 2 to both chats');
    clock.advance(1_000);
    expect(await sending).toEqual({ kind: 'sent' });
    expect(server.messages.map((message) => message.chat_id)).toEqual(['1001', '1002', '1001', '1002', '1001', '1002']);
  });
});
