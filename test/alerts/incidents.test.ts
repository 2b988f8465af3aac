import { afterEach, describe, expect, it } from 'vitest';
import { restartsMonitor } from '../../actors/monitors/restarts/restarts-monitor.js';
import { whatsappMonitor } from '../../actors/monitors/whatsapp/whatsapp-monitor.js';
import type { SessionInfo } from '../../actors/whatsapp/session-protocol.js';
import { actorPath } from '../../src/actor/actor-path.js';
import { local } from '../../supervisor/child-spec.js';
import { BOT_TOKEN, startAlertHarness, type AlertHarness } from '../support/alert-harness.js';
import { listeningSink } from '../support/n8n-sink.js';
import { listeningTelegram } from '../support/telegram-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Incidents of the old system, replayed as the monitors report them, through the real
 * notifier and real channels (grammY against a local Bot API server, undici against an n8n
 * sink) on a manual clock with the default grouping: 30 s group wait, 5 min group interval,
 * 4 h repeat.
 */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

async function harness(options: Parameters<typeof startAlertHarness>[0]): Promise<AlertHarness> {
  const h = await startAlertHarness(options);
  cleanups.push(() => h.close());
  return h;
}

/** Lets I/O that is under way (a request to a local server) finish, without moving the clock. */
async function settleIo(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('incident replays', () => {
  it('five sessions dropping within a second give one Telegram message listing all five, and one resolved message when they come back', async () => {
    const telegram = await listeningTelegram(cleanups);
    const h = await harness({ telegramApiRoot: telegram.apiRoot });
    const sessions = ['salon1', 'salon1b', 'salon2', 'salon3', 'salon4'];
    for (const id of sessions) {
      h.report(`whatsapp:${id}`, 'critical', `session ${id} not open for 60 s (reconnecting, last close 428)`);
      await h.advance(200, 200);
    }
    await h.advance(28 * SECOND);
    await settleIo();
    expect(telegram.messages).toEqual([]);
    await h.advance(2 * SECOND);
    await waitFor(() => telegram.messages.length === 1, 10_000, 'the firing message');
    const firing = telegram.messages[0]!;
    expect(firing.chat_id).toBe('1001');
    expect(firing.text.split('\n')[0]).toContain('[FIRING:5] whatsapp session down');
    for (const id of sessions) expect(firing.text).toContain(`session=${id}`);
    // Nothing new for the next hour: no repeat before ALERT_REPEAT_INTERVAL_MS.
    await h.advance(HOUR, 10 * SECOND);
    await settleIo();
    expect(telegram.messages).toHaveLength(1);
    for (const id of sessions) h.report(`whatsapp:${id}`, 'ok', `session ${id} is open`);
    await h.advance(5 * MINUTE, 10 * SECOND);
    await waitFor(() => telegram.messages.length === 2, 10_000, 'the resolved message');
    expect(telegram.messages[1]!.text.split('\n')[0]).toContain('[RESOLVED] whatsapp session down');
    for (const id of sessions) expect(telegram.messages[1]!.text).toContain(`session=${id}`);
    await h.advance(HOUR, 30 * SECOND);
    await settleIo();
    expect(telegram.messages).toHaveLength(2);
    expect(h.offers.access.view().groups).toEqual([]);
  });

  it('Redis down ten minutes gives one firing and one resolved notice; down five hours, a repeat only at the repeat interval', async () => {
    const telegram = await listeningTelegram(cleanups);
    const h = await harness({ telegramApiRoot: telegram.apiRoot });
    // Redis going away turns both checks critical within a ping period: one group, one message.
    h.report('store', 'critical', 'store unreachable: connect ECONNREFUSED 127.0.0.1:6390');
    await h.advance(2 * SECOND);
    h.report('redis', 'critical', 'redis unreachable: connect ECONNREFUSED 127.0.0.1:6390');
    await h.advance(10 * MINUTE, 10 * SECOND);
    h.report('store', 'ok', 'store reachable');
    h.report('redis', 'ok', 'ping 1 ms');
    await h.advance(5 * MINUTE, 10 * SECOND);
    await waitFor(() => telegram.messages.length === 2, 10_000, 'firing and resolved');
    expect(telegram.messages.map((m) => m.text.split('\n')[0])).toEqual([
      expect.stringContaining('[FIRING:2] health check failing'),
      expect.stringContaining('[RESOLVED] health check failing'),
    ]);
    expect(telegram.messages[0]!.text).toContain('check=store');
    expect(telegram.messages[0]!.text).toContain('check=redis');

    // The second outage lasts five hours: firing, one repeat four hours later, resolved.
    h.report('store', 'critical', 'store unreachable');
    await h.advance(5 * HOUR, 30 * SECOND);
    h.report('store', 'ok', 'store reachable');
    await h.advance(6 * MINUTE, 30 * SECOND);
    await waitFor(() => telegram.messages.length === 5, 10_000, 'firing, repeat, resolved');
    const second = telegram.messages.slice(2);
    expect(second.map((m) => m.text.split('\n')[0])).toEqual([
      expect.stringContaining('[FIRING:1] health check failing'),
      expect.stringContaining('[FIRING:1] health check failing'),
      expect.stringContaining('[RESOLVED] health check failing'),
    ]);
    // The repeat comes at the first flush once the repeat interval has passed: not before, and
    // not more than one group interval after.
    const [firstAt, repeatAt] = h.notifications.slice(2).map((n) => Date.parse(n.sentAt));
    expect(repeatAt! - firstAt!).toBeGreaterThanOrEqual(4 * HOUR);
    expect(repeatAt! - firstAt!).toBeLessThanOrEqual(4 * HOUR + 5 * MINUTE);
  });

  it('an alert that resolves within the group wait sends nothing', async () => {
    const telegram = await listeningTelegram(cleanups);
    const h = await harness({ telegramApiRoot: telegram.apiRoot });
    h.report('whatsapp:salon1', 'critical', 'session salon1 was logged out');
    await h.advance(20 * SECOND);
    h.report('whatsapp:salon1', 'ok', 'session salon1 is open');
    h.report('queue', 'warn', 'pipeline depth 1200 ≥ 1000');
    await h.advance(10 * SECOND);
    h.report('queue', 'ok', 'pipeline depth 3');
    await h.advance(HOUR, 30 * SECOND);
    await settleIo();
    expect(telegram.messages).toEqual([]);
    expect(h.notifications).toEqual([]);
    expect(h.offers.access.view().groups).toEqual([]);
  });

  it('162 batches dead-lettered for one client are one alert line with the count, not 162 messages', async () => {
    const telegram = await listeningTelegram(cleanups);
    const h = await harness({ telegramApiRoot: telegram.apiRoot });
    for (let i = 0; i < 162; i++) {
      h.events.publish({ type: 'dead_lettered', at: h.clock.now(), batchId: `b-${i}`, sessionId: 'salon1', phone: '79161234567', attempts: 5, error: 'webhook answered 500' });
    }
    await h.advance(31 * SECOND);
    await waitFor(() => telegram.messages.length === 1, 10_000, 'one dead-letter message');
    expect(telegram.messages[0]!.text).toContain('[FIRING:1] batch dead-lettered');
    expect(telegram.messages[0]!.text).toContain('×162');
    // A client's number leaves the server masked.
    expect(telegram.messages[0]!.text).toContain('phone=79***4567');
    expect(telegram.messages[0]!.text).not.toContain('79161234567');
    // Told once: an event alert leaves its group without a resolved notice.
    await h.advance(HOUR, 30 * SECOND);
    await settleIo();
    expect(telegram.messages).toHaveLength(1);
  });

  it('Telegram down for the whole incident: n8n gets every notification, the Telegram channel is a failing check of its own and that alert goes out through n8n', async () => {
    const telegram = await listeningTelegram(cleanups);
    telegram.answerAlways({ kind: 'error', status: 502 });
    const { sink, url } = await listeningSink(cleanups);
    const h = await harness({ telegramApiRoot: telegram.apiRoot, n8nUrl: url });
    h.report('whatsapp:salon1', 'critical', 'session salon1 not open for 60 s');
    h.report('whatsapp:salon2', 'critical', 'session salon2 not open for 60 s');
    await h.advance(31 * SECOND);
    await waitFor(() => sink.received.length >= 1, 10_000, 'n8n firing');
    const first = sink.received[0]!;
    expect(first.body).toMatchObject({ status: 'firing', groupKey: 'whatsapp session down', alerts: [expect.objectContaining({ labels: { session: 'salon1' } }), expect.objectContaining({ labels: { session: 'salon2' } })] });
    expect(first.headers['idempotency-key']).toEqual(expect.any(String));
    // Telegram keeps failing: its channel goes down, which is an alert of its own, sent through n8n.
    await h.advance(10 * MINUTE, 5 * SECOND);
    await waitFor(() => h.checks.get('alert-channel:telegram')?.status === 'critical', 10_000, 'telegram channel down');
    await h.advance(MINUTE, 5 * SECOND);
    await waitFor(
      () => sink.received.some((request) => (request.body as { groupKey?: string }).groupKey === 'alert channel failing'),
      10_000,
      'the channel alert through n8n',
    );
    h.report('whatsapp:salon1', 'ok', 'open');
    h.report('whatsapp:salon2', 'ok', 'open');
    await h.advance(6 * MINUTE, 5 * SECOND);
    await waitFor(
      () => sink.received.some((request) => (request.body as { groupKey?: string; status?: string }).groupKey === 'whatsapp session down' && (request.body as { status?: string }).status === 'resolved'),
      10_000,
      'n8n resolved',
    );
    expect(telegram.messages).toEqual([]);
    // Every check but the failing channel's own is fine: the tree did not suffer for it.
    const failing = Object.entries(h.checks.all()).filter(([, check]) => check.status !== 'ok').map(([name]) => name);
    expect(failing).toEqual(['alert-channel:telegram']);
    expect(h.logText()).not.toContain(BOT_TOKEN);
  });
  it('283 restarts of one actor give one alert naming the actor and the count', async () => {
    const telegram = await listeningTelegram(cleanups);
    const h = await harness({
      telegramApiRoot: telegram.apiRoot,
      env: { RESTART_ALERT_COUNT: '10', RESTART_ALERT_WINDOW_MS: '600000' },
      children: (ctx) => [
        { kind: 'actor', id: 'restarts', behaviour: local(() => restartsMonitor({ ...ctx.config.monitors.restarts, intervalMs: 10_000, checks: ctx.checks, events: ctx.events })) },
        {
          kind: 'supervisor',
          id: 'api',
          strategy: 'one_for_one',
          intensity: { maxRestarts: 10_000, withinMs: 60_000 },
          children: [
            {
              kind: 'actor',
              id: 'worker',
              backoff: { initialMs: 10, maxMs: 10, maxAttempts: 100_000 },
              behaviour: local(() => ({
                receive(): void {
                  throw new Error('ECONNRESET from the old API');
                },
              })),
            },
          ],
        },
      ],
    });
    const worker = actorPath<string, void>('/api/worker');
    for (let i = 0; i < 283; i++) {
      h.system.lookup(worker)?.tell('crash');
      await h.advance(20, 20);
    }
    await h.advance(31 * SECOND);
    await waitFor(() => telegram.messages.length === 1, 10_000, 'the restart storm message');
    const lines = telegram.messages[0]!.text.split('\n');
    expect(lines[0]).toContain('[FIRING:1] restart storm');
    expect(lines[1]).toContain('actor=/api/worker');
    expect(lines[1]).toContain('restarted 283 times');
    await h.advance(5 * MINUTE, 10 * SECOND);
    await settleIo();
    expect(telegram.messages).toHaveLength(1);
  });

  it('a decrypt-error storm of 100,000 errors gives bounded log lines and one alert', async () => {
    const telegram = await listeningTelegram(cleanups);
    let decryptErrors = 0;
    const sessions = {
      ids: ['salon1'],
      // What the gateway answers: open, its decrypt-error counter climbing.
      sample: async () => [{ id: 'salon1', info: { id: 'salon1', status: 'open', lastCloseCode: null, alert: null, decryptErrors: { badMac: decryptErrors, decrypt: 0, suppressed: 0 } } as unknown as SessionInfo }],
    };
    const h = await harness({
      telegramApiRoot: telegram.apiRoot,
      children: (ctx) => [
        {
          kind: 'actor',
          id: 'whatsapp',
          behaviour: local(() => whatsappMonitor({ sessions, events: ctx.events, intervalMs: 10_000, waDownAlertMs: 60_000, decryptErrorsWarnPerMinute: 60, checks: ctx.checks })),
        },
      ],
    });
    const linesBefore = h.logLines().length;
    for (let i = 1; i <= 12; i++) {
      decryptErrors = Math.round((100_000 * i) / 12);
      await h.advance(10 * SECOND, 10 * SECOND);
    }
    await waitFor(() => telegram.messages.length === 1, 10_000, 'the decrypt-error message');
    expect(telegram.messages[0]!.text.split('\n')[0]).toContain('[FIRING:1] decrypt errors');
    expect(telegram.messages[0]!.text).toContain('session=salon1');
    expect(h.checks.get('whatsapp:salon1')?.status).toBe('ok');
    // The storm ends: one resolved notice, and the whole storm cost a handful of log lines.
    for (let i = 0; i < 40; i++) await h.advance(10 * SECOND, 10 * SECOND);
    await waitFor(() => telegram.messages.length === 2, 10_000, 'the resolved message');
    expect(telegram.messages[1]!.text.split('\n')[0]).toContain('[RESOLVED] decrypt errors');
    expect(h.logLines().length - linesBefore).toBeLessThanOrEqual(10);
  });
});
