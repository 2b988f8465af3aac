import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Conversation } from '../../actors/batcher/conversation.js';
import { MemoryStore } from '../../actors/batcher/memory-store.js';
import defaultHandler from '../../actors/pipeline/default-handler.js';
import { InlineRunner, PiscinaRunner, type HandlerRunner } from '../../actors/pipeline/handler-runner.js';
import { pipeline, type PipelineMessage, type PipelineStatus } from '../../actors/pipeline/pipeline.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ActionFailedEvent, DeadLetterEvent } from '../../src/events/runtime-events.js';
import { ConditionLog } from '../../src/logging/condition-log.js';
import { sessionPaths } from '../../src/tree-paths.js';
import { PipelineCounters } from '../../actors/pipeline/pipeline-counters.js';
import { ActorSystem } from '../../src/system/actor-system.js';
import { local } from '../../supervisor/child-spec.js';
import { silentLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const alice: Conversation = { sessionId: 's1', phone: '79161234567' };
const RULES = { windowMs: 1, maxMessages: 10, maxAgeMs: 1_000_000 };

let system: ActorSystem | undefined;
let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await system?.shutdown();
  await receiver?.close();
  system = receiver = undefined;
});

async function setUp(createRunner: () => HandlerRunner, overrides: { maxAttempts?: number; handlerTimeoutMs?: number } = {}) {
  const store = new MemoryStore({ seenTtlMs: 60_000 });
  const sent: unknown[] = [];
  const events: (ActionFailedEvent | DeadLetterEvent)[] = [];
  const counters = new PipelineCounters();
  system = new ActorSystem(
    {
      strategy: 'one_for_one',
      children: [
        // Stands in for the gateway (send queue) of the WhatsApp session the reply action is addressed to.
        {
          kind: 'supervisor',
          id: 'whatsapp',
          strategy: 'one_for_one',
          children: [
            {
              kind: 'supervisor',
              id: 's1',
              strategy: 'one_for_one',
              children: [
                {
                  kind: 'actor',
                  id: 'gateway',
                  behaviour: local<unknown, unknown>(() => ({
                    receive: (m) => {
                      sent.push(m);
                      return { ok: true, value: { id: `out-${sent.length}`, queueDepth: 1 } };
                    },
                  })),
                },
              ],
            },
          ],
        },
        {
          kind: 'actor',
          id: 'pipeline',
          behaviour: local(() =>
            pipeline({
              store,
              createRunner,
              owner: 'test',
              leaseMs: 30_000,
              concurrency: 2,
              handlerTimeoutMs: overrides.handlerTimeoutMs ?? 2_000,
              maxAttempts: overrides.maxAttempts ?? 5,
              retryInitialMs: 20,
              retryMaxMs: 100,
              queueMax: 100,
              drainOnStop: true,
              drainRemainingMs: () => 10_000,
              replyTo: (sessionId) => (sessionId === 's1' ? system?.lookup(sessionPaths('s1').gateway) : undefined),
              booking: undefined,
              actionTimeoutMs: 1_000,
              counters,
              conditions: new ConditionLog(silentLogger(), { now: Date.now }),
              events: { publish: (event) => void events.push(event) },
            }),
          ),
        },
      ],
    },
    { logger: silentLogger() },
  );
  await system.start();
  const ref = system.lookup('/pipeline') as ActorRef<PipelineMessage, PipelineStatus | undefined>;
  /** Stores messages and cuts them into a batch, as a batcher would, then hands it over. */
  const deliver = async (...texts: string[]) => {
    for (const text of texts) await store.append(alice, { id: randomUUID(), text, at: Date.now() });
    const now = Date.now() + 10;
    const result = await store.flush(alice, { now, rules: RULES, batchId: randomUUID(), owner: 'test', leaseUntil: now + 30_000 });
    if (result.status !== 'flushed') throw new Error(result.status);
    ref.tell({ type: 'batch', batch: result.batch });
    return result.batch;
  };
  return { store, ref, deliver, sent, events, counters };
}

describe('pipeline', () => {
  it('forwards with the built-in handler (undici, Idempotency-Key), turns the answer into a reply, and acks', async () => {
    receiver = new WebhookReceiver();
    receiver.replyText = 'Записала вас на завтра в 18:00';
    const url = await receiver.listen();
    const { store, ref, deliver, sent } = await setUp(() => new InlineRunner(defaultHandler, url));
    const batch = await deliver('Запишите на стрижку меня', 'На завтра');
    await waitFor(() => receiver?.received.length === 1);
    const [received] = receiver.received;
    expect(received?.headers['idempotency-key']).toBe(batch.batchId);
    expect(received?.batch).toMatchObject({
      batchId: batch.batchId,
      sessionId: 's1',
      phone: '79161234567',
      text: 'Запишите на стрижку меня На завтра',
      reason: 'quiet',
      messages: [{ text: 'Запишите на стрижку меня' }, { text: 'На завтра' }],
    });
    expect(Object.keys(received?.batch ?? {}).sort()).toEqual(['batchId', 'firstAt', 'flushedAt', 'lastAt', 'messages', 'phone', 'reason', 'sessionId', 'text']);
    await waitFor(() => sent.length === 1);
    expect(sent[0]).toEqual({ type: 'send', to: '79161234567', text: 'Записала вас на завтра в 18:00', source: `batch ${batch.batchId}` });
    await waitFor(async () => (await store.stats(1)).inFlight === 0);
    expect(await ref.ask({ type: 'status' })).toMatchObject({ delivered: 1, retried: 0, deadLettered: 0 });
  });

  it('retries a failing webhook with backoff and the same batchId until it succeeds', async () => {
    receiver = new WebhookReceiver();
    receiver.script.push(500, 503);
    const url = await receiver.listen();
    const { store, ref, deliver } = await setUp(() => new InlineRunner(defaultHandler, url));
    const batch = await deliver('hello');
    await waitFor(() => receiver?.received.length === 1);
    expect(receiver.received[0]?.headers['idempotency-key']).toBe(batch.batchId);
    await waitFor(async () => (await store.stats(1)).inFlight === 0);
    expect(await ref.ask({ type: 'status' })).toMatchObject({ delivered: 1, retried: 2 });
  });

  it('parks a batch that keeps failing as a dead letter, never drops it, and keeps serving', async () => {
    receiver = new WebhookReceiver();
    receiver.fallback = 500;
    const url = await receiver.listen();
    const { store, ref, deliver } = await setUp(() => new InlineRunner(defaultHandler, url), { maxAttempts: 3 });
    const batch = await deliver('doomed');
    await waitFor(async () => (await store.stats(1)).deadLetters === 1);
    const [letter] = await store.deadLetters(10);
    expect(letter?.batch.batchId).toBe(batch.batchId);
    expect(letter?.error).toContain('webhook answered 500');
    expect(await ref.ask({ type: 'status' })).toMatchObject({ deadLettered: 1, retried: 2, delivered: 0 });
    receiver.fallback = 200;
    await deliver('next one');
    await waitFor(() => receiver?.received.length === 1);
  });

  it('a handler that overruns HANDLER_TIMEOUT_MS is retried, not lost', async () => {
    receiver = new WebhookReceiver();
    receiver.delayMs = 1_000;
    const url = await receiver.listen();
    const { store, ref, deliver } = await setUp(() => new InlineRunner(defaultHandler, url), { handlerTimeoutMs: 200 });
    await deliver('slow');
    await waitFor(async () => ((await ref.ask({ type: 'status' }))?.retried ?? 0) >= 1);
    receiver.delayMs = 0;
    await waitFor(async () => (await store.stats(1)).inFlight === 0);
    expect((await ref.ask({ type: 'status' }))?.delivered).toBe(1);
  });

  it('runs HANDLER_MODULE on a piscina pool; a handler stuck in a loop has its worker killed and the batch dead-lettered', async () => {
    const handlerModule = new URL('../fixtures/custom-handler.ts', import.meta.url).pathname;
    const { store, ref, deliver, sent } = await setUp(() => new PiscinaRunner({ handlerModule, webhookUrl: undefined, concurrency: 2 }), {
      maxAttempts: 2,
      handlerTimeoutMs: 3_000,
    });
    await deliver('spin');
    await deliver('hi');
    await waitFor(() => sent.length === 1, 30_000);
    expect(sent[0]).toMatchObject({ type: 'send', text: 'echo: hi' });
    await waitFor(async () => (await store.stats(1)).deadLetters === 1, 30_000);
    expect((await store.deadLetters(1))[0]?.error).toContain('did not finish within 3000 ms');
    await deliver('after');
    await waitFor(() => sent.length === 2, 30_000);
    expect(await ref.ask({ type: 'status' })).toMatchObject({ delivered: 2, deadLettered: 1 });
  });
});
