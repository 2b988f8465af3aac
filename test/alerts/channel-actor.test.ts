import { afterEach, describe, expect, it } from 'vitest';
import type { AlertNotification } from '../../actors/alerts/alert.js';
import { channelActor, type ChannelActorOptions } from '../../actors/alerts/channels/channel-actor.js';
import { channelCheckName, type ChannelMessage, type ChannelStatus, type ChannelTransport, type NotificationOutcome } from '../../actors/alerts/channels/channel.js';
import { n8nTransport } from '../../actors/alerts/channels/n8n-transport.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { local } from '../../supervisor/child-spec.js';
import { captureLogger } from '../support/logger.js';
import { listeningSink, type N8nSink } from '../support/n8n-sink.js';
import { nodeAt, startSystem } from '../support/system.js';
import { waitFor } from '../support/wait.js';
import { testAlert, testNotification } from '../support/alert-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function notification(id: string): AlertNotification {
  const alert = testAlert({ fingerprint: `f-${id}`, rule: 'queue stuck', severity: 'warning', labels: { queue: 'pipeline' }, summary: '162 batches waiting' });
  return testNotification([alert], { groupKey: `group-${id}`, id });
}

const CHECK = channelCheckName('n8n');
const idsOf = (sink: N8nSink, which: 'received' | 'attempts' = 'received') => sink[which].map((request) => request.headers['idempotency-key']);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function channel(options: Partial<ChannelActorOptions> & { transport?: ChannelTransport; headersTimeoutMs?: number } = {}) {
  const { sink, url } = await listeningSink(cleanups);
  const transport = options.transport ?? n8nTransport({ webhookUrl: url, headersTimeoutMs: options.headersTimeoutMs ?? 30_000 });
  const checks = new HealthChecks();
  const outcomes: NotificationOutcome[] = [];
  const log = captureLogger();
  const { system, clock } = await startSystem(
    [
      {
        kind: 'actor',
        id: transport.name,
        behaviour: local(() =>
          channelActor({ transport, queueMax: 10, retry: { initialMs: 100, maxMs: 1_000 }, checks, onOutcome: (outcome) => outcomes.push(outcome), ...options }),
        ),
      },
    ],
    { logger: log.logger },
  );
  cleanups.push(() => system.shutdown());
  const ref = system.lookup<ChannelMessage, ChannelStatus | undefined>(`/${transport.name}`);
  if (!ref) throw new Error('channel actor not found');
  const status = async (): Promise<ChannelStatus> => (await ref.ask({ type: 'status' })) as ChannelStatus;
  const notify = (n: AlertNotification) => ref.tell({ type: 'notify', notification: n });
  return { sink, checks, outcomes, log, system, clock, status, notify };
}

describe('channel actor', () => {
  it('sends one notification at a time, in order, and answers status while a send hangs', async () => {
    const { sink, checks, status, notify, system } = await channel();
    expect(checks.get(CHECK)).toMatchObject({ status: 'ok', message: 'idle' });
    sink.failNext(1, 'hang');
    for (const id of ['a', 'b', 'c']) notify(notification(id));
    await waitFor(() => sink.held === 1, 10_000, 'the first send to hang');
    await pause(100);
    // Nothing overtakes the hung send.
    expect(sink.attempts).toHaveLength(1);
    expect(await status()).toMatchObject({ state: 'sending', queued: 2, sent: 0 });
    expect(nodeAt(system.snapshot(), '/n8n')?.detail).toMatchObject({ state: 'sending', queued: 2 });
    sink.release();
    await waitFor(() => sink.received.length === 3, 10_000, 'all three delivered');
    expect(idsOf(sink)).toEqual(['a', 'b', 'c']);
    await waitFor(async () => (await status()).state === 'ok', 10_000, 'idle again');
    expect(await status()).toMatchObject({ state: 'ok', queued: 0, sent: 3, retried: 0, rejected: 0, dropped: 0 });
    expect(checks.get(CHECK)?.status).toBe('ok');
  });

  it('sends a notification the webhook refuses (400) once, counts it rejected, and moves on', async () => {
    const { sink, checks, outcomes, log, status, notify, clock } = await channel();
    sink.failNext(1, 400, { body: 'unknown workflow' });
    notify(notification('a'));
    notify(notification('b'));
    await waitFor(() => sink.received.length === 1, 10_000, 'the next notification');
    await clock.advanceAsync(60_000);
    await pause(50);
    expect(idsOf(sink, 'attempts')).toEqual(['a', 'b']);
    expect(idsOf(sink)).toEqual(['b']);
    expect(outcomes).toEqual(['rejected', 'sent']);
    expect(await status()).toMatchObject({ state: 'ok', sent: 1, rejected: 1, retried: 0, lastError: 'n8n webhook answered 400: unknown workflow' });
    expect(log.lines().filter((line) => line.includes('refused a notification'))).toHaveLength(1);
    expect(log.text()).toContain('unknown workflow');
    // The delivery after the refusal cleared the warning; a refusal as the last word leaves one.
    expect(checks.get(CHECK)?.status).toBe('ok');
    sink.failNext(1, 401, { body: 'bad credentials' });
    notify(notification('c'));
    await waitFor(() => checks.get(CHECK)?.status === 'warn', 10_000, 'a refusal to show');
    expect(checks.get(CHECK)?.message).toContain('refused');
  });

  it('retries a 503 with exponential backoff on its clock, with the same Idempotency-Key, until it goes through', async () => {
    const { sink, checks, outcomes, status, notify, clock } = await channel({ downAfter: 3 });
    sink.failNext(3, 503);
    notify(notification('a'));
    notify(notification('b'));
    await waitFor(async () => (await status()).consecutiveFailures === 1, 10_000, 'the first failure');
    expect(checks.get(CHECK)?.status).toBe('warn');
    expect(await status()).toMatchObject({ state: 'retrying', nextAttemptAt: new Date(clock.now() + 100).toISOString(), queued: 1 });

    // 100 ms, then 200 ms: nothing goes out a millisecond early.
    for (const [failures, backoffMs] of [[1, 100], [2, 200]] as const) {
      await clock.advanceAsync(backoffMs - 1);
      await pause(50);
      expect(sink.attempts).toHaveLength(failures);
      await clock.advanceAsync(1);
      await waitFor(async () => (await status()).consecutiveFailures === failures + 1, 10_000, `failure ${failures + 1}`);
    }
    // Three in a row: down, and the check is critical.
    expect(await status()).toMatchObject({ state: 'down', consecutiveFailures: 3, retried: 3 });
    expect(checks.get(CHECK)).toMatchObject({ status: 'critical', message: expect.stringContaining('down: 3 failed attempts in a row') });

    await clock.advanceAsync(400);
    await waitFor(() => sink.received.length === 2, 10_000, 'both delivered');
    expect(idsOf(sink, 'attempts')).toEqual(['a', 'a', 'a', 'a', 'b']);
    expect(idsOf(sink)).toEqual(['a', 'b']);
    expect(outcomes).toEqual(['retried', 'retried', 'retried', 'sent', 'sent']);
    await waitFor(async () => (await status()).state === 'ok', 10_000, 'ok again');
    expect(await status()).toMatchObject({ consecutiveFailures: 0, nextAttemptAt: null, sent: 2, retried: 3 });
    expect(checks.get(CHECK)?.status).toBe('ok');
  });

  it('waits for a Retry-After longer than its backoff, and caps the backoff at maxMs', async () => {
    const { sink, status, notify, clock } = await channel({ retry: { initialMs: 100, maxMs: 300 }, downAfter: 100 });
    sink.failNext(1, 503, { headers: { 'retry-after': '5' } });
    notify(notification('a'));
    await waitFor(async () => (await status()).consecutiveFailures === 1, 10_000, 'the first failure');
    expect((await status()).nextAttemptAt).toBe(new Date(clock.now() + 5_000).toISOString());
    await clock.advanceAsync(4_999);
    await pause(50);
    expect(sink.attempts).toHaveLength(1);
    sink.failNext(5, 500);
    await clock.advanceAsync(1);
    const backoffs: number[] = [];
    for (let failures = 2; failures <= 6; failures++) {
      await waitFor(async () => (await status()).consecutiveFailures === failures, 10_000, `failure ${failures}`);
      const next = Date.parse((await status()).nextAttemptAt as string);
      backoffs.push(next - clock.now());
      await clock.advanceAsync(next - clock.now());
    }
    expect(backoffs).toEqual([200, 300, 300, 300, 300]);
    await waitFor(() => sink.received.length === 1, 10_000, 'delivered');
  });

  it('drops the oldest waiting notification when its queue is full, logging once per burst', async () => {
    const { sink, outcomes, log, status, notify } = await channel({ queueMax: 2 });
    sink.failNext(1, 'hang');
    notify(notification('n1'));
    await waitFor(() => sink.held === 1, 10_000, 'n1 in hand');
    for (const id of ['n2', 'n3', 'n4', 'n5', 'n6']) notify(notification(id));
    expect(await status()).toMatchObject({ queued: 2, dropped: 3 });
    expect(log.lines().filter((line) => line.includes('queue is full'))).toHaveLength(1);
    sink.release();
    await waitFor(() => sink.received.length === 3, 10_000, 'what was kept');
    expect(idsOf(sink)).toEqual(['n1', 'n5', 'n6']);
    expect(outcomes.filter((outcome) => outcome === 'dropped')).toHaveLength(3);
    const summary = log.lines().filter((line) => line.includes('dropped notifications while its queue was full'));
    expect(summary).toHaveLength(1);
    expect(JSON.parse(summary[0] as string)).toMatchObject({ dropped: 3, queueMax: 2 });
  });

  it('on stop aborts the send in progress, logs what it could not send, and withdraws its check', async () => {
    const { sink, checks, log, notify, system } = await channel();
    sink.failNext(1, 'hang');
    for (const id of ['a', 'b', 'c']) notify(notification(id));
    await waitFor(() => sink.held === 1, 10_000, 'a send in progress');
    const started = Date.now();
    await system.shutdown();
    // The hung request is aborted, not waited for (its headers timeout is 30 s).
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(checks.get(CHECK)).toBeUndefined();
    const line = log.lines().find((entry) => entry.includes('stopping with notifications not sent'));
    expect(JSON.parse(line as string)).toMatchObject({ unsent: 3, channel: 'n8n' });
  });

  it('treats a transport that throws as a failed attempt, never as a crash', async () => {
    let calls = 0;
    const broken: ChannelTransport = {
      name: 'broken',
      send: () => {
        calls++;
        if (calls === 1) throw new Error('synchronous bug');
        return Promise.reject(new Error('asynchronous bug'));
      },
    };
    const { status, notify, clock, system } = await channel({ transport: broken });
    notify(notification('a'));
    await waitFor(async () => (await status()).consecutiveFailures === 1, 10_000, 'the first failure');
    await clock.advanceAsync(100);
    await waitFor(async () => (await status()).consecutiveFailures === 2, 10_000, 'the second failure');
    expect(await status()).toMatchObject({ state: 'retrying', lastError: 'the transport threw (Error) instead of answering' });
    expect(nodeAt(system.snapshot(), '/broken')).toMatchObject({ status: 'running', restarts: 0 });
  });
});
