import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../actors/batcher/memory-store.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import { PiscinaRunner, type HandlerRunner } from '../../actors/pipeline/handler-runner.js';
import { PipelineCounters } from '../../actors/pipeline/pipeline-counters.js';
import { pipeline, type PipelineMessage, type PipelineStatus } from '../../actors/pipeline/pipeline.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { DownstreamError } from '../../src/errors.js';
import type { DeadLetterEvent } from '../../src/events/runtime-events.js';
import { ConditionLog } from '../../src/logging/condition-log.js';
import { ActorSystem } from '../../src/system/actor-system.js';
import { local } from '../../supervisor/child-spec.js';
import { captureLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';
import { closeLocal, listenLocal } from '../support/net.js';

/**
 * The webhook's answers, end to end: a real node:http server as BATCH_WEBHOOK_URL, the real
 * built-in handler (undici) in the real piscina pool, the pipeline deciding from what came
 * back across the worker boundary.
 */

interface Answer {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A webhook target whose answer depends on the batch's text and on how often it has seen the batch. */
class Downstream {
  /** performance.now() of each request, per batchId. */
  readonly arrivals = new Map<string, number[]>();
  readonly #server: Server;

  constructor(answer: (text: string, nth: number) => Answer) {
    this.#server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        const batch = JSON.parse(body) as FlushedBatch;
        const seen = this.arrivals.get(batch.batchId) ?? [];
        seen.push(performance.now());
        this.arrivals.set(batch.batchId, seen);
        const { status, body: text = '{"ok":false}', headers = {} } = answer(batch.text, seen.length);
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(text);
      });
    });
  }

  attempts(batchId: string): number {
    return this.arrivals.get(batchId)?.length ?? 0;
  }

  /** Milliseconds between one request for the batch and the next. */
  gaps(batchId: string): number[] {
    const at = this.arrivals.get(batchId) ?? [];
    return at.slice(1).map((time, index) => time - (at[index] as number));
  }

  listen(): Promise<string> {
    return listenLocal(this.#server);
  }

  close(): Promise<void> {
    return closeLocal(this.#server);
  }
}

const RULES = { windowMs: 1, maxMessages: 10, maxAgeMs: 1_000_000 };

let system: ActorSystem | undefined;
let downstream: Downstream | undefined;
afterEach(async () => {
  await system?.shutdown();
  await downstream?.close();
  system = downstream = undefined;
});

interface Retry {
  readonly maxAttempts: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

async function startPipeline(createRunner: () => HandlerRunner, retry: Retry) {
  const store = new MemoryStore({ seenTtlMs: 60_000 });
  const events: DeadLetterEvent[] = [];
  const log = captureLogger('info');
  system = new ActorSystem(
    {
      strategy: 'one_for_one',
      children: [
        {
          kind: 'actor',
          id: 'pipeline',
          behaviour: local(() =>
            pipeline({
              store,
              createRunner,
              owner: 'test',
              leaseMs: 30_000,
              concurrency: 4,
              handlerTimeoutMs: 10_000,
              ...retry,
              queueMax: 100,
              // Shutdown must not hammer the webhook with the retries still waiting.
              drainOnStop: false,
              drainRemainingMs: () => 10_000,
              replyTo: () => undefined,
              booking: undefined,
              actionTimeoutMs: 1_000,
              counters: new PipelineCounters(),
              conditions: new ConditionLog(log.logger, { now: Date.now }),
              events: { publish: (event) => void (event.type === 'dead_lettered' && events.push(event)) },
            }),
          ),
        },
      ],
    },
    { logger: log.logger },
  );
  await system.start();
  const ref = system.lookup('/pipeline') as ActorRef<PipelineMessage, PipelineStatus | undefined>;
  let conversations = 0;
  /** One conversation per batch, so no batch waits for another's. */
  const deliver = async (text: string) => {
    const conversation = { sessionId: 's1', phone: `7916000${String(++conversations).padStart(4, '0')}` };
    await store.append(conversation, { id: randomUUID(), text, at: Date.now() });
    const now = Date.now() + 10;
    const result = await store.flush(conversation, { now, rules: RULES, batchId: randomUUID(), owner: 'test', leaseUntil: now + 30_000 });
    if (result.status !== 'flushed') throw new Error(result.status);
    ref.tell({ type: 'batch', batch: result.batch });
    return result.batch;
  };
  const letterOf = async (batchId: string) => (await store.deadLetters(100)).find((letter) => letter.batch.batchId === batchId);
  const logged = (message: string, batchId: string) =>
    log
      .lines()
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => typeof line.msg === 'string' && line.msg.startsWith(message) && line.batchId === batchId);
  return { store, ref, deliver, events, letterOf, logged };
}

const webhookRunner = (url: string) => () => new PiscinaRunner({ handlerModule: undefined, webhookUrl: url, concurrency: 4 });

describe('the webhook answers', () => {
  it('a 400 or a 404 is dead-lettered after exactly one attempt, its status and the start of its body in the dead letter', async () => {
    const padding = 'x'.repeat(500);
    downstream = new Downstream((text) => ({ status: Number(text), body: `{"error":"no flow for ${text}"}${padding}` }));
    const { ref, deliver, events, letterOf, logged } = await startPipeline(webhookRunner(await downstream.listen()), { maxAttempts: 5, retryInitialMs: 50, retryMaxMs: 200 });
    const rejected = await deliver('400');
    const missing = await deliver('404');
    for (const [batch, status] of [[rejected, 400], [missing, 404]] as const) {
      const letter = await waitFor(() => letterOf(batch.batchId), 30_000, `the ${status} dead letter`);
      const expected = `webhook answered ${status}: ${`{"error":"no flow for ${status}"}${padding}`.slice(0, 200)}`;
      expect(letter.error).toBe(expected);
      const event = events.find((e) => e.batchId === batch.batchId);
      expect(event).toMatchObject({ attempts: 1, error: `${expected} (refused for good (HTTP ${status}), not retried)` });
      expect(logged('batch dead-lettered', batch.batchId)).toEqual([expect.objectContaining({ status, attempts: 1, why: `refused for good (HTTP ${status}), not retried` })]);
    }
    // Several backoff periods later, still one request each: nothing was retried.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(downstream.attempts(rejected.batchId)).toBe(1);
    expect(downstream.attempts(missing.batchId)).toBe(1);
    expect(await ref.ask({ type: 'status' })).toMatchObject({ retried: 0, deadLettered: 2, delivered: 0 });
  });

  it('a 408, 409, 425 or 429 is retried, and delivered once the webhook takes it', async () => {
    downstream = new Downstream((text, nth) => (nth === 1 ? { status: Number(text) } : { status: 200, body: '{}' }));
    const { store, ref, deliver } = await startPipeline(webhookRunner(await downstream.listen()), { maxAttempts: 3, retryInitialMs: 50, retryMaxMs: 200 });
    const batches = new Map<number, string>();
    for (const status of [408, 409, 425, 429]) batches.set(status, (await deliver(String(status))).batchId);
    await waitFor(async () => (await store.stats(1)).inFlight === 0, 30_000, 'all delivered');
    for (const [status, batchId] of batches) expect(downstream.attempts(batchId), String(status)).toBe(2);
    expect(await ref.ask({ type: 'status' })).toMatchObject({ delivered: 4, retried: 4, deadLettered: 0 });
    expect(await store.deadLetterCount()).toBe(0);
  });

  it('a 503 or 429 with Retry-After (seconds, HTTP-date) is tried again no sooner than it says', async () => {
    downstream = new Downstream((text, nth) => {
      if (nth > 1) return { status: 200, body: '{}' };
      if (text === 'seconds') return { status: 503, headers: { 'retry-after': '2' } };
      // An HTTP-date has whole seconds: 3 s from now is between 2 and 3 s away.
      return { status: 429, headers: { 'retry-after': new Date(Date.now() + 3_000).toUTCString() } };
    });
    const { store, deliver, logged } = await startPipeline(webhookRunner(await downstream.listen()), { maxAttempts: 3, retryInitialMs: 20, retryMaxMs: 100 });
    const seconds = await deliver('seconds');
    const date = await deliver('date');
    await waitFor(async () => (await store.stats(1)).inFlight === 0, 30_000, 'both delivered');
    for (const [what, batch] of [['seconds', seconds], ['date', date]] as const) {
      const [gap] = downstream.gaps(batch.batchId);
      expect(downstream.attempts(batch.batchId), what).toBe(2);
      expect(gap, what).toBeGreaterThanOrEqual(1_900);
      expect(gap, what).toBeLessThan(15_000);
    }
    expect(logged('handler failed; retrying', seconds.batchId)).toEqual([expect.objectContaining({ delayMs: 2_000 })]);
  });

  it('a 500 is retried with backoff (its Retry-After ignored), then dead-lettered after PIPELINE_MAX_ATTEMPTS', async () => {
    downstream = new Downstream(() => ({ status: 500, body: 'upstream exploded', headers: { 'retry-after': '30' } }));
    const { deliver, events, letterOf } = await startPipeline(webhookRunner(await downstream.listen()), { maxAttempts: 4, retryInitialMs: 300, retryMaxMs: 600 });
    const batch = await deliver('boom');
    const letter = await waitFor(() => letterOf(batch.batchId), 30_000, 'the dead letter');
    expect(letter.error).toBe('webhook answered 500: upstream exploded');
    expect(downstream.attempts(batch.batchId)).toBe(4);
    const gaps = downstream.gaps(batch.batchId);
    // 300, 600, 600 (capped); a timer may fire a hair early by the server's clock.
    [300, 600, 600].forEach((delay, index) => {
      expect(gaps[index]).toBeGreaterThanOrEqual(delay * 0.95);
      expect(gaps[index]).toBeLessThan(10_000);
    });
    expect(events.find((e) => e.batchId === batch.batchId)).toMatchObject({ attempts: 4, error: 'webhook answered 500: upstream exploded (failed 4 attempts (PIPELINE_MAX_ATTEMPTS 4))' });
  });
});

describe('the typed error crosses the worker boundary', () => {
  const batch: FlushedBatch = {
    batchId: 'b-1',
    sessionId: 's1',
    phone: '79160000001',
    text: 'hello',
    messages: [{ id: 'm1', text: 'hello', at: '2026-01-15T12:00:00.000Z' }],
    reason: 'quiet',
    firstAt: '2026-01-15T12:00:00.000Z',
    lastAt: '2026-01-15T12:00:00.000Z',
    flushedAt: '2026-01-15T12:00:01.000Z',
  };

  it('a DownstreamError thrown in a piscina worker arrives with its class, code and fields', async () => {
    downstream = new Downstream((text, nth) => (nth === 1 ? { status: 422, body: 'phone missing' } : { status: 503, body: 'later', headers: { 'retry-after': '7' } }));
    const runner = new PiscinaRunner({ handlerModule: undefined, webhookUrl: await downstream.listen(), concurrency: 1 });
    try {
      const rejected = await runner.run(batch, 1, 10_000).catch((error: unknown) => error);
      expect(rejected).toBeInstanceOf(DownstreamError);
      expect(rejected).toMatchObject({ code: 'WAR_ERR_DOWNSTREAM_REJECTED', status: 422, bodyStart: 'phone missing', permanent: true, message: 'webhook answered 422: phone missing' });
      expect((rejected as Error).stack).toContain('default-handler');
      const later = await runner.run(batch, 2, 10_000).catch((error: unknown) => error);
      expect(later).toBeInstanceOf(DownstreamError);
      expect(later).toMatchObject({ code: 'WAR_ERR_DOWNSTREAM_FAILED', status: 503, permanent: false, retryAfterMs: 7_000 });
    } finally {
      await runner.close();
    }
  });

  it('a HANDLER_MODULE says "permanent" or "retry after" with plain properties on what it throws', async () => {
    const handlerModule = new URL('../fixtures/signalling-handler.ts', import.meta.url).pathname;
    const { store, deliver, events, letterOf, logged } = await startPipeline(() => new PiscinaRunner({ handlerModule, webhookUrl: undefined, concurrency: 2 }), {
      maxAttempts: 5,
      retryInitialMs: 20,
      retryMaxMs: 100,
    });
    const started = performance.now();
    const refused = await deliver('permanent');
    const later = await deliver('later');
    const letter = await waitFor(() => letterOf(refused.batchId), 30_000, 'the dead letter');
    expect(letter.error).toBe(`no client ${refused.phone}`);
    expect(events.find((e) => e.batchId === refused.batchId)).toMatchObject({ attempts: 1 });
    await waitFor(async () => (await store.stats(1)).inFlight === 0, 30_000, 'the later one delivered');
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(logged('handler failed; retrying', later.batchId)).toEqual([expect.objectContaining({ attempt: 1, delayMs: 1_500 })]);
    expect(logged('batch delivered', later.batchId)).toHaveLength(1);
  });
});
