import { afterEach, describe, expect, it } from 'vitest';
import { QUEUE_CHECK } from '../../actors/monitors/queue/queue-monitor.js';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { ManualClock, settle } from '../../src/clock.js';
import type { CheckEvent } from '../../src/events/runtime-events.js';
import { Runtime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { silentLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';
import { telegramTransport } from '../../actors/alerts/channels/telegram-transport.js';
import { listeningTelegram } from '../support/telegram-server.js';

/**
 * Incident replay: 162 jobs piled up behind a handler that kept failing, and nobody heard.
 * A real runtime (SQLite store, batchers, pipeline, monitors) whose inline handler always
 * fails, with retries far apart: the queue check turns once, and stays turned.
 */

const INTERVAL_MS = 1_000;
let runtime: Runtime | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function start(env: Record<string, string>, clock: ManualClock, telegramApiRoot?: string) {
  const attempts: string[] = [];
  const r = new Runtime({
    loaded: testConfig({
      METRICS_PROCESS: 'false',
      // Every message is a batch of its own, cut as it is accepted.
      BATCH_MAX_MESSAGES: '1',
      BATCH_SWEEP_INTERVAL_MS: '600000',
      PIPELINE_MAX_ATTEMPTS: '100',
      PIPELINE_RETRY_INITIAL_MS: '600000',
      PIPELINE_RETRY_MAX_MS: '3600000',
      MONITOR_INTERVAL_MS: String(INTERVAL_MS),
      ...env,
    }),
    logger: silentLogger(),
    clock,
    ...(telegramApiRoot
      ? { alerts: { transports: [telegramTransport({ botToken: '123:QUEUE-token', chatIds: ['1001'], apiRoot: telegramApiRoot, perChatIntervalMs: 0, clock })] } }
      : {}),
    handlerRunner: () =>
      new InlineRunner((batch) => {
        attempts.push(batch.batchId);
        throw new Error('downstream is down');
      }),
  });
  runtime = r;
  const queueEvents: CheckEvent[] = [];
  r.events.subscribe((event) => void (event.name === QUEUE_CHECK && queueEvents.push(event)), { types: ['check'] });
  const started = r.start();
  while (!r.system.isRunning) {
    await settle(1);
    clock.advance(0);
  }
  await started;
  const accept = async (count: number): Promise<void> => {
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) => r.ingest.accept({ sessionId: 'stuck', phone: String(79_160_000_000 + i), text: `job ${i}`, id: `job-${i}` })),
    );
    expect(results.every((result) => result.status === 'accepted')).toBe(true);
    await waitFor(() => attempts.length === count, 20_000, `${count} first attempts (${attempts.length} so far)`);
  };
  return { runtime: r, queueEvents, attempts, accept };
}

describe('queue monitor on a real runtime', () => {
  it('162 batches stuck behind a failing handler give ONE queue transition (to warn), not one per batch or per round', async () => {
    const clock = new ManualClock(Date.parse('2026-11-23T12:00:00Z'));
    const { runtime: r, queueEvents, accept } = await start({ QUEUE_WARN_DEPTH: '100', QUEUE_CRITICAL_DEPTH: '1000', QUEUE_MAX_AGE_MS: '86400000' }, clock);
    await clock.advanceAsync(INTERVAL_MS);
    expect(r.checks.get(QUEUE_CHECK)?.status).toBe('ok');

    await accept(162);
    // Two minutes of rounds while they wait for their retry.
    for (let i = 0; i < 120; i++) await clock.advanceAsync(INTERVAL_MS);
    const check = r.checks.get(QUEUE_CHECK);
    expect(check).toMatchObject({ status: 'warn' });
    expect(check?.message).toContain('162 batches undelivered (queued 0, running 0, waiting for a retry 162) is at or above the warning depth 100');
    expect(check?.data).toMatchObject({ depth: 162, waitingRetry: 162, deadLetters: 0, storeAnswered: true, pipelineAnswered: true });
    expect(check?.data?.oldestAgeMs).toBeGreaterThanOrEqual(120_000);

    const turns = queueEvents.filter((event) => event.status === 'warn' || event.status === 'critical');
    expect(turns).toHaveLength(1);
    expect(queueEvents.map((event) => `${event.previous}->${event.status}`)).toEqual(['absent->ok', 'ok->warn']);
  });

  it('a few batches stuck past QUEUE_MAX_AGE_MS turn it critical, aged from the pipeline’s oldest cut time', async () => {
    const clock = new ManualClock(Date.parse('2026-11-23T12:00:00Z'));
    const { runtime: r, queueEvents, accept } = await start({ QUEUE_WARN_DEPTH: '100', QUEUE_MAX_AGE_MS: '60000' }, clock);
    const cutAt = clock.now();
    await accept(3);
    for (let i = 0; i < 59; i++) await clock.advanceAsync(INTERVAL_MS);
    expect(r.checks.get(QUEUE_CHECK)).toMatchObject({ status: 'ok', message: '3 batches undelivered, the oldest 59 s old' });
    await clock.advanceAsync(INTERVAL_MS);
    expect(clock.now() - cutAt).toBe(60_000);
    expect(r.checks.get(QUEUE_CHECK)).toMatchObject({ status: 'critical', message: 'the oldest undelivered batch is 1 min old, at or above the limit of 1 min' });
    expect(queueEvents.map((event) => event.status)).toEqual(['ok', 'critical']);
  });
  it('the same incident reaches the operator as ONE Telegram message naming the queue and the count', async () => {
    const telegram = await listeningTelegram(cleanups);
    const clock = new ManualClock(Date.parse('2026-11-23T12:00:00Z'));
    // Only the queue may speak: the event loop of a loaded test machine is not the incident.
    const quiet = { EVENT_LOOP_WARN_MS: '599999', EVENT_LOOP_CRITICAL_MS: '600000', MEMORY_RSS_WARN_MB: '100000', MEMORY_RSS_CRITICAL_MB: '100001' };
    const { accept } = await start({ ...quiet, QUEUE_WARN_DEPTH: '100', QUEUE_CRITICAL_DEPTH: '1000', QUEUE_MAX_AGE_MS: '86400000' }, clock, telegram.apiRoot);
    await accept(162);
    for (let i = 0; i < 120; i++) await clock.advanceAsync(INTERVAL_MS);
    await waitFor(() => telegram.messages.length >= 1, 10_000, 'the Telegram message');
    for (let i = 0; i < 600; i++) await clock.advanceAsync(INTERVAL_MS);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(telegram.messages).toHaveLength(1);
    const lines = telegram.messages[0]!.text.split('\n');
    expect(lines[0]).toContain('[FIRING:1] health check failing');
    expect(lines[1]).toContain('check=queue');
    expect(lines[1]).toContain('162 batches undelivered');
  });
});
