import { afterEach, describe, expect, it } from 'vitest';
import type { StoreCounts } from '../../actors/batcher/batch-store.js';
import { MemoryStore } from '../../actors/batcher/memory-store.js';
import { RedisStore } from '../../actors/batcher/redis-store.js';
import { classifyQueue, QUEUE_CHECK, queueMonitor, type QueueSample } from '../../actors/monitors/queue/queue-monitor.js';
import type { MonitorMessage, MonitorResults } from '../../actors/monitors/periodic-check.js';
import type { PipelineStatus } from '../../actors/pipeline/pipeline.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { local } from '../../supervisor/child-spec.js';
import { captureLogger } from '../support/logger.js';
import { freePort } from '../support/net.js';
import { nodeAt, startSystem } from '../support/system.js';

const T = { warnDepth: 100, criticalDepth: 1_000, maxAgeMs: 300_000 };
const NOW = Date.parse('2026-11-23T12:00:00Z');
const idlePipeline = { queued: 0, running: 0, waitingRetry: 0, oldestSince: null };
const emptyStore: StoreCounts = { pendingConversations: 0, inFlightConversations: 0, inFlightBatches: 0, deadLetters: 0, oldestPendingAt: null };
const sample = (pipeline: Partial<QueueSample['pipeline']> | undefined, store: Partial<StoreCounts> | undefined): QueueSample => ({
  pipeline: pipeline ? { ...idlePipeline, ...pipeline } : undefined,
  store: store ? { ...emptyStore, ...store } : undefined,
});

describe('classifyQueue', () => {
  it('is ok below every line, and says how much waits', () => {
    const report = classifyQueue(sample({ queued: 3, running: 2, oldestSince: NOW - 4_000 }, { inFlightBatches: 5 }), T, NOW);
    expect(report).toMatchObject({ status: 'ok', message: '5 batches undelivered, the oldest 4 s old', at: new Date(NOW).toISOString() });
    expect(report.data).toMatchObject({ depth: 5, queued: 3, running: 2, waitingRetry: 0, oldestAgeMs: 4_000, deadLetters: 0, storeAnswered: true, pipelineAnswered: true });
  });

  it('counts batches waiting for a retry as undelivered, and warns at the warning depth (not below)', () => {
    expect(classifyQueue(sample({ running: 4, waitingRetry: 95 }, {}), T, NOW).status).toBe('ok');
    const report = classifyQueue(sample({ running: 4, waitingRetry: 96 }, {}), T, NOW);
    expect(report.status).toBe('warn');
    expect(report.message).toBe('100 batches undelivered (queued 0, running 4, waiting for a retry 96) is at or above the warning depth 100');
  });

  it('is critical at the critical depth, taking the store’s in-flight batches when they are more (waiting in the store for room)', () => {
    const report = classifyQueue(sample({ queued: 10 }, { inFlightBatches: 1_200 }), T, NOW);
    expect(report.status).toBe('critical');
    expect(report.message).toContain('1200 batches undelivered');
    expect(report.message).toContain('at or above the critical depth 1000');
    expect(report.data).toMatchObject({ depth: 1_200, inFlightBatches: 1_200, queued: 10 });
  });

  it('is critical when the oldest undelivered batch reaches the max age, taking the older of the pipeline’s and the store’s', () => {
    const young = classifyQueue(sample({ queued: 1, oldestSince: NOW - 299_999 }, {}), T, NOW);
    expect(young.status).toBe('ok');
    const fromPipeline = classifyQueue(sample({ queued: 1, oldestSince: NOW - 300_000 }, { oldestPendingAt: NOW - 10_000 }), T, NOW);
    expect(fromPipeline).toMatchObject({ status: 'critical', message: 'the oldest undelivered batch is 5 min old, at or above the limit of 5 min' });
    const fromStore = classifyQueue(sample({ queued: 1, oldestSince: NOW - 10_000 }, { oldestPendingAt: NOW - 600_000 }), T, NOW);
    expect(fromStore.status).toBe('critical');
    expect(fromStore.data).toMatchObject({ oldestAgeMs: 600_000 });
  });

  it('warns on any dead letter, and lists every line crossed, the most severe first', () => {
    expect(classifyQueue(sample({}, { deadLetters: 1 }), T, NOW)).toMatchObject({ status: 'warn', message: '1 dead letter waits for an operator (GET /admin/dead-letters)' });
    const report = classifyQueue(sample({ waitingRetry: 150, oldestSince: NOW - 400_000 }, { deadLetters: 2 }), T, NOW);
    expect(report.status).toBe('critical');
    expect(report.message.split('; ')).toEqual([
      'the oldest undelivered batch is 6.7 min old, at or above the limit of 5 min',
      '150 batches undelivered (queued 0, running 0, waiting for a retry 150) is at or above the warning depth 100',
      '2 dead letters wait for an operator (GET /admin/dead-letters)',
    ]);
  });

  it('says what did not answer, and judges on what did', () => {
    const noStore = classifyQueue(sample({ waitingRetry: 120 }, undefined), T, NOW);
    expect(noStore.status).toBe('warn');
    expect(noStore.message).toMatch(/^120 batches undelivered .* warning depth 100; the store did not answer$/);
    expect(noStore.data).toMatchObject({ storeAnswered: false, deadLetters: null, inFlightBatches: null });
    const nothing = classifyQueue(sample(undefined, undefined), T, NOW);
    expect(nothing).toMatchObject({ status: 'ok', message: 'queue depth unknown; the pipeline did not answer; the store did not answer' });
    expect(nothing.data).toMatchObject({ depth: null, pipelineAnswered: false });
  });
});

function status(overrides: Partial<PipelineStatus>): PipelineStatus {
  return { queued: 0, running: 0, waitingRetry: 0, delivered: 0, deliveredWithFailedActions: 0, retried: 0, deadLettered: 0, oldestSince: null, actions: { reply: {}, book: {} }, ...overrides };
}

describe('queue monitor actor', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('reports on start and every interval, logs once per change, and removes its check when it stops', async () => {
    const checks = new HealthChecks();
    const store = new MemoryStore({ seenTtlMs: 60_000 });
    let pipeline = status({});
    const log = captureLogger('info');
    const { system, clock } = await startSystem(
      [{ kind: 'actor', id: 'queue', behaviour: local(() => queueMonitor({ ...T, intervalMs: 10_000, checks, store, pipelineStatus: async () => pipeline })) }],
      { logger: log.logger },
    );
    stops.push(() => system.shutdown());
    const ref = system.lookup('/queue') as ActorRef<MonitorMessage, MonitorResults>;
    await ref.ask({ type: 'status' });
    expect(checks.get(QUEUE_CHECK)).toMatchObject({ status: 'ok', message: '0 batches undelivered' });

    pipeline = status({ waitingRetry: 162, oldestSince: clock.now() - 1_000 });
    await clock.advanceAsync(10_000);
    await ref.ask({ type: 'status' });
    expect(checks.get(QUEUE_CHECK)).toMatchObject({ status: 'warn', at: new Date(clock.now()).toISOString() });
    for (let i = 0; i < 3; i++) await clock.advanceAsync(10_000);
    await ref.ask({ type: 'status' });
    expect(checks.get(QUEUE_CHECK)?.data).toMatchObject({ depth: 162, oldestAgeMs: 41_000 });
    expect(nodeAt(system.snapshot(), '/queue')?.detail).toMatchObject({ status: 'warn', depth: 162 });
    const warnings = log.lines().filter((line) => line.includes('162 batches undelivered'));
    expect(warnings).toHaveLength(1);

    await system.shutdown();
    stops.length = 0;
    expect(checks.get(QUEUE_CHECK)).toBeUndefined();
  });

  it('does not fail when the store does not answer: the check says so, with the pipeline’s numbers', async () => {
    const checks = new HealthChecks();
    // A real Redis store pointed at a port nothing listens on: counts() rejects as it does in an outage.
    const store = new RedisStore({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: 'test:queue-monitor:', ttlSeconds: 60 });
    await expect(store.counts()).rejects.toThrow(/unavailable/);
    const { system } = await startSystem([
      { kind: 'actor', id: 'queue', behaviour: local(() => queueMonitor({ ...T, intervalMs: 10_000, checks, store, pipelineStatus: async () => status({ queued: 7 }) })) },
    ]);
    stops.push(() => system.shutdown());
    const ref = system.lookup('/queue') as ActorRef<MonitorMessage, MonitorResults>;
    const results = await ref.ask({ type: 'check' });
    expect(results[QUEUE_CHECK]).toMatchObject({ status: 'ok', message: '7 batches undelivered; the store did not answer' });
    expect(results[QUEUE_CHECK]?.data).toMatchObject({ storeAnswered: false, queued: 7 });
    const node = nodeAt(system.snapshot(), '/queue');
    expect(node).toMatchObject({ status: 'running', restarts: 0 });
  });
});
