import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { Runtime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { silentLogger } from '../support/logger.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

/**
 * Backpressure without stalls (issue: at 16k requests/s batches beyond PIPELINE_QUEUE_MAX
 * waited for their lease to expire, and deliveries stalled for seconds): 30,000 batches cut
 * at once behind a queue of 100 drain at the handler's pace. The recovery sweep is set far
 * apart, so only the pipeline pulling waiting batches as room frees can keep the gaps short.
 */

const BATCHES = 30_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const stores: [string, () => Record<string, string>][] = [
  ['memory', () => ({ BATCH_STORE: 'memory' })],
  ['sqlite', () => ({ BATCH_STORE: 'sqlite' })],
  [
    'redis',
    () => {
      const prefix = testPrefix('backpressure');
      cleanups.push(() => deletePrefix(prefix));
      return { BATCH_STORE: 'redis', REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix };
    },
  ],
];

interface DrainRun {
  readonly widestGapMs: number;
  readonly delivered: number;
}

/** Cuts `batches` batches at once (one message per conversation, BATCH_MAX_MESSAGES=1) and waits until a 1 ms handler has them all. */
async function drain(env: Record<string, string>, batches: number, queueMax: number, concurrency: number): Promise<DrainRun> {
  const deliveredAt: number[] = [];
  const seen = new Set<string>();
  const runtime = new Runtime({
    loaded: testConfig({
      ...env,
      BATCH_MAX_MESSAGES: '1',
      PIPELINE_QUEUE_MAX: String(queueMax),
      PIPELINE_CONCURRENCY: String(concurrency),
      BATCH_SWEEP_INTERVAL_MS: '600000',
      LOG_LEVEL: 'silent',
    }),
    logger: silentLogger(),
    handlerRunner: () =>
      new InlineRunner(async (batch) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        expect(seen.has(batch.batchId), `${batch.batchId} delivered twice`).toBe(false);
        seen.add(batch.batchId);
        deliveredAt.push(performance.now());
        return [];
      }),
  });
  await runtime.start();
  cleanups.push(async () => {
    await runtime.shutdown();
  });
  for (let from = 0; from < batches; from += 1_000) {
    const accepted = await Promise.all(
      Array.from({ length: Math.min(1_000, batches - from) }, (_, i) =>
        runtime.ingest.accept({ sessionId: 'bp', phone: String(79_000_000_000 + from + i), text: `m${from + i}`, id: `m${from + i}` }),
      ),
    );
    expect(accepted.every((result) => result.status === 'accepted')).toBe(true);
  }
  await waitFor(() => deliveredAt.length === batches, 200_000, `all ${batches} batches delivered (${deliveredAt.length} so far)`);
  let widestGapMs = 0;
  for (let i = 1; i < deliveredAt.length; i++) widestGapMs = Math.max(widestGapMs, (deliveredAt[i] as number) - (deliveredAt[i - 1] as number));
  return { widestGapMs, delivered: seen.size };
}

describe('backpressure', () => {
  for (const [name, storeEnv] of stores) {
    it(`${name}: ${BATCHES} batches behind PIPELINE_QUEUE_MAX=100 drain at the handler's pace, no gap over one second`, { timeout: 240_000 }, async () => {
      const run = await drain(storeEnv(), BATCHES, 100, 4);
      expect(run.widestGapMs, 'the widest gap between two deliveries, ms').toBeLessThan(1_000);
      expect(run.delivered).toBe(BATCHES);
    });
  }

  // A queue of one: every slot frees only when its ack lands, which must pull the next waiting batch itself.
  it('memory: 500 batches behind PIPELINE_QUEUE_MAX=1 drain without waiting for a tick or a sweep', { timeout: 60_000 }, async () => {
    const run = await drain({ BATCH_STORE: 'memory' }, 500, 1, 1);
    expect(run.widestGapMs).toBeLessThan(1_000);
    expect(run.delivered).toBe(500);
  });
});
