import { afterEach, describe, expect, it } from 'vitest';
import type { AlertNotification } from '../../actors/alerts/alert.js';
import { channelActor } from '../../actors/alerts/channels/channel-actor.js';
import { channelCheckName, type ChannelMessage, type ChannelStatus, type ChannelTransport } from '../../actors/alerts/channels/channel.js';
import { n8nTransport } from '../../actors/alerts/channels/n8n-transport.js';
import { telegramTransport } from '../../actors/alerts/channels/telegram-transport.js';
import { ManualClock } from '../../src/clock.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { local } from '../../supervisor/child-spec.js';
import { walkTree } from '../../supervisor/tree-node.js';
import { captureLogger } from '../support/logger.js';
import { listeningSink } from '../support/n8n-sink.js';
import { startSystem } from '../support/system.js';
import { listeningTelegram } from '../support/telegram-server.js';
import { waitFor } from '../support/wait.js';
import { testAlert, testNotification } from '../support/alert-fixtures.js';

const TOKEN = '987654321:FAKE-isolation-test-token_abcdefghij';
const CHAT = '-100555';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function notification(index: number): AlertNotification {
  return testNotification([testAlert({ fingerprint: `f${index}`, labels: { session: `salon${index}` }, summary: `salon${index} dropped` })], { id: `n${index}` });
}

/** Moves the manual clock in steps while real requests run, until `done`. */
async function driveUntil(clock: ManualClock, done: () => boolean | Promise<boolean>, what: string, stepMs = 250): Promise<void> {
  await waitFor(
    async () => {
      if (await done()) return true;
      await clock.advanceAsync(stepMs);
      return false;
    },
    30_000,
    what,
  );
}

async function twoChannels() {
  const telegram = await listeningTelegram(cleanups, { token: TOKEN });
  const { sink, url } = await listeningSink(cleanups);
  const checks = new HealthChecks();
  const log = captureLogger();
  // The channels' backoff and Telegram's pacing run on the system's manual clock.
  const clock = new ManualClock(1_700_000_000_000);
  // One transport per channel for the system's lifetime, as the runtime wires them.
  const transports: ChannelTransport[] = [
    telegramTransport({ botToken: TOKEN, chatIds: [CHAT], apiRoot: telegram.apiRoot, requestTimeoutMs: 300, perChatIntervalMs: 1_000, clock }),
    n8nTransport({ webhookUrl: url }),
  ];
  const { system } = await startSystem(
    transports.map((transport) => ({
      kind: 'actor' as const,
      id: transport.name,
      behaviour: local(() => channelActor({ transport, queueMax: 100, retry: { initialMs: 500, maxMs: 5_000 }, checks })),
    })),
    { logger: log.logger, clock },
  );
  cleanups.push(() => system.shutdown());
  const ref = (id: string) => system.lookup<ChannelMessage, ChannelStatus | undefined>(`/${id}`);
  const status = async (id: string) => (await ref(id)?.ask({ type: 'status' })) as ChannelStatus;
  const notifyBoth = (n: AlertNotification) => {
    ref('telegram')?.tell({ type: 'notify', notification: n });
    ref('n8n')?.tell({ type: 'notify', notification: n });
  };
  return { telegram, sink, checks, log, system, clock, status, notifyBoth };
}

describe('alert channels are isolated', () => {
  it('n8n delivers every notification while Telegram is down (5xx, then hanging), and only the Telegram check goes critical', async () => {
    const { telegram, sink, checks, log, system, clock, status, notifyBoth } = await twoChannels();
    // A proxy's HTML 502 first: node-fetch's error for it names the URL, bot token included.
    telegram.answerNext(1, { kind: 'html', status: 502 });
    telegram.answerNext(1, { kind: 'error', status: 500 });
    telegram.answerAlways({ kind: 'hang' });
    for (let i = 1; i <= 5; i++) notifyBoth(notification(i));

    await driveUntil(clock, async () => sink.received.length === 5 && (await status('telegram')).state === 'down', 'n8n to deliver and Telegram to be down');
    expect(sink.received.map((request) => request.headers['idempotency-key'])).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(await status('n8n')).toMatchObject({ state: 'ok', sent: 5, queued: 0 });

    const telegramStatus = await status('telegram');
    expect(telegramStatus).toMatchObject({ state: 'down', sent: 0, queued: 4, dropped: 0 });
    expect(telegramStatus.consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(telegram.messages).toHaveLength(0);
    const answers = telegram.calls.map((call) => call.answer);
    expect(answers.slice(0, 3)).toEqual([502, 500, 'hang']);

    const failing = Object.entries(checks.all()).filter(([, check]) => check.status !== 'ok').map(([name, check]) => [name, check.status]);
    expect(failing).toEqual([[channelCheckName('telegram'), 'critical']]);
    expect(checks.get(channelCheckName('n8n'))?.status).toBe('ok');
    // Neither actor failed: a dead service is a state, and the tree is as it was.
    for (const node of walkTree(system.snapshot())) expect([node.path, node.status, node.restarts]).toEqual([node.path, 'running', 0]);

    // The token is in no log line, status, check or tree detail.
    for (const text of [log.text(), JSON.stringify(telegramStatus), JSON.stringify(checks.all()), JSON.stringify(system.snapshot())]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('FAKE-isolation');
    }
    expect(log.text()).toContain('alert channel is down');
  });

  it('sends what Telegram missed, in order and once each, when it comes back', async () => {
    const { telegram, checks, clock, status, notifyBoth } = await twoChannels();
    telegram.answerAlways({ kind: 'error', status: 502 });
    for (let i = 1; i <= 4; i++) notifyBoth(notification(i));
    await driveUntil(clock, async () => (await status('telegram')).state === 'down', 'Telegram to be down');
    expect(checks.get(channelCheckName('telegram'))?.status).toBe('critical');

    telegram.answerAlways(undefined);
    await driveUntil(clock, () => telegram.messages.length === 4, 'Telegram to catch up');
    expect(telegram.textsFor(CHAT).map((text) => /salon\d/.exec(text)?.[0])).toEqual(['salon1', 'salon2', 'salon3', 'salon4']);
    await driveUntil(clock, async () => (await status('telegram')).state === 'ok', 'Telegram ok');
    expect(checks.get(channelCheckName('telegram'))?.status).toBe('ok');
    expect(await status('telegram')).toMatchObject({ sent: 4, queued: 0, consecutiveFailures: 0 });
    expect(telegram.messages).toHaveLength(4);
  });
});
