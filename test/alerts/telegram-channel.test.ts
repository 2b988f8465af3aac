import { afterEach, describe, expect, it } from 'vitest';
import type { AlertNotification } from '../../actors/alerts/alert.js';
import { channelActor } from '../../actors/alerts/channels/channel-actor.js';
import type { ChannelMessage, ChannelStatus } from '../../actors/alerts/channels/channel.js';
import { telegramTransport } from '../../actors/alerts/channels/telegram-transport.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { local } from '../../supervisor/child-spec.js';
import { captureLogger } from '../support/logger.js';
import { startSystem } from '../support/system.js';
import { listeningTelegram } from '../support/telegram-server.js';
import { waitFor } from '../support/wait.js';
import { testAlert, testNotification } from '../support/alert-fixtures.js';

const TOKEN = '555000111:FAKE-channel-test-token_zyxwvutsrq';
const CHAT = '4242';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function notification(index: number): AlertNotification {
  return testNotification([testAlert({ fingerprint: `f${index}`, rule: 'redis down', labels: { check: `redis${index}` }, summary: 'ping failed' })], { id: `n${index}` });
}

async function telegramChannel(autoRetryMaxDelaySeconds = 3) {
  const server = await listeningTelegram(cleanups, { token: TOKEN });
  const checks = new HealthChecks();
  const log = captureLogger();
  // Pacing off here (its own test is in telegram-transport.test.ts): what is measured is the 429's wait.
  const transport = telegramTransport({ botToken: TOKEN, chatIds: [CHAT], apiRoot: server.apiRoot, perChatIntervalMs: 0, autoRetryMaxDelaySeconds });
  const { system, clock } = await startSystem(
    [{ kind: 'actor', id: 'telegram', behaviour: local(() => channelActor({ transport, queueMax: 10, retry: { initialMs: 1_000, maxMs: 60_000 }, checks })) }],
    { logger: log.logger },
  );
  cleanups.push(() => system.shutdown());
  const ref = system.lookup<ChannelMessage, ChannelStatus | undefined>('/telegram');
  const status = async () => (await ref?.ask({ type: 'status' })) as ChannelStatus;
  const notify = (n: AlertNotification) => ref?.tell({ type: 'notify', notification: n });
  return { server, checks, log, clock, status, notify };
}

const labelOf = (text: string) => /check=(redis\d)/.exec(text)?.[1];

describe('Telegram channel (actor, grammY, local Bot API)', () => {
  it('on a 429 with retry_after=1 waits at least a second before the next send, and loses nothing', async () => {
    const { server, status, notify } = await telegramChannel();
    server.answerNext(1, { kind: 'rate-limit', retryAfterS: 1 });
    for (let i = 1; i <= 3; i++) notify(notification(i));
    await waitFor(() => server.messages.length === 3, 20_000, 'all three');
    const sends = server.calls.filter((call) => call.method === 'sendMessage');
    expect(sends.map((call) => call.answer)).toEqual([429, 200, 200, 200]);
    expect((sends[1]?.at ?? 0) - (sends[0]?.at ?? 0)).toBeGreaterThanOrEqual(1_000 - 5);
    expect(server.textsFor(CHAT).map(labelOf)).toEqual(['redis1', 'redis2', 'redis3']);
    await waitFor(async () => (await status()).state === 'ok', 10_000, 'idle');
    expect(await status()).toMatchObject({ sent: 3, retried: 0, dropped: 0 });
  });

  it('on a 429 longer than auto-retry waits, holds the notification on its own clock for retry_after, then sends it', async () => {
    const { server, checks, log, clock, status, notify } = await telegramChannel(3);
    server.answerNext(1, { kind: 'rate-limit', retryAfterS: 30 });
    notify(notification(1));
    notify(notification(2));
    await waitFor(async () => (await status()).consecutiveFailures === 1, 10_000, 'the 429');
    expect(await status()).toMatchObject({ state: 'retrying', nextAttemptAt: new Date(clock.now() + 30_000).toISOString(), lastError: 'Telegram answered 429: Too Many Requests: retry after 30' });
    expect(checks.get('alert-channel:telegram')?.status).toBe('warn');
    await clock.advanceAsync(29_999);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.calls).toHaveLength(1);
    await clock.advanceAsync(1);
    await waitFor(() => server.messages.length === 2, 10_000, 'both sent');
    expect(server.textsFor(CHAT).map(labelOf)).toEqual(['redis1', 'redis2']);
    expect(log.text()).not.toContain(TOKEN);
  });

  it('keeps the bot token out of logs, status and checks when the token is refused', async () => {
    const server = await listeningTelegram(cleanups, { token: 'a-different-token' });
    const checks = new HealthChecks();
    const log = captureLogger();
    const transport = telegramTransport({ botToken: TOKEN, chatIds: [CHAT], apiRoot: server.apiRoot, perChatIntervalMs: 0 });
    const { system } = await startSystem(
      [{ kind: 'actor', id: 'telegram', behaviour: local(() => channelActor({ transport, queueMax: 10, retry: { initialMs: 1_000, maxMs: 60_000 }, checks })) }],
      { logger: log.logger },
    );
    cleanups.push(() => system.shutdown());
    const ref = system.lookup<ChannelMessage, ChannelStatus | undefined>('/telegram');
    ref?.tell({ type: 'notify', notification: notification(1) });
    await waitFor(() => checks.get('alert-channel:telegram')?.status === 'warn', 10_000, 'the refusal');
    const channelStatus = await ref?.ask({ type: 'status' });
    expect(channelStatus).toMatchObject({ rejected: 1, lastError: 'chat 4242: Telegram answered 401: Unauthorized' });
    // It did reach the server with the token, so a leak would have had something to leak.
    expect(server.calls[0]?.token).toBe(TOKEN);
    for (const text of [log.text(), JSON.stringify(channelStatus), JSON.stringify(checks.all()), JSON.stringify(system.snapshot())]) {
      expect(text).not.toContain(TOKEN);
    }
    expect(log.text()).toContain('401: Unauthorized');
  });
});
