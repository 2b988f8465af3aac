import { afterEach, describe, expect, it } from 'vitest';
import type { PendingSummary } from '../../actors/batcher/batch.js';
import type { Conversation } from '../../actors/batcher/conversation.js';
import { MemoryStore } from '../../actors/batcher/memory-store.js';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import { ManualClock } from '../../src/clock.js';
import { testConfig } from '../support/config.js';
import { Runtime } from '../../src/runtime.js';
import { silentLogger } from '../support/logger.js';

/**
 * A batcher that ingress starts is not a recovery: however late its start runs (a busy
 * `/batchers` supervisor, a slow store), its flush follows the rule. Before the fix a
 * start that read the store after the window had passed flushed `recovered` (the batching
 * bench saw 681 of 10,000 batches so labelled on Redis under load).
 */

const WINDOW_MS = 1_000;
const CONVERSATION: Conversation = { sessionId: 'default', phone: '79160000001' };

/** A memory store whose `pending` reads wait while the gate is closed, as a loaded Redis would. */
class SlowPendingStore extends MemoryStore {
  pendingReads = 0;
  #open: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  closeGate(): void {
    this.#open = new Promise((resolve) => (this.#release = resolve));
  }

  openGate(): void {
    this.#release?.();
  }

  override async pending(conversation: Conversation): Promise<PendingSummary | undefined> {
    this.pendingReads++;
    await this.#open;
    return super.pending(conversation);
  }
}

const settle = async (rounds = 20): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('batcher start', () => {
  let runtime: Runtime | undefined;
  afterEach(async () => {
    await runtime?.shutdown();
    runtime = undefined;
  });

  async function start(store: MemoryStore, clock: ManualClock, delivered: FlushedBatch[]): Promise<Runtime> {
    const r = new Runtime({
      loaded: testConfig({ PORT: '0', BATCH_WINDOW_MS: String(WINDOW_MS), METRICS_PROCESS: 'false', BATCH_SWEEP_INTERVAL_MS: '600000' }),
      logger: silentLogger(),
      clock,
      store,
      handlerRunner: () => new InlineRunner((batch) => void delivered.push(batch)),
    });
    runtime = r;
    const started = r.start();
    while (!r.system.isRunning) {
      await settle(1);
      clock.advance(0);
    }
    await started;
    return r;
  }

  it('a batcher ingress started flushes `quiet` even when the window passed before it could read the store', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new SlowPendingStore({ seenTtlMs: 86_400_000 });
    const delivered: FlushedBatch[] = [];
    const r = await start(store, clock, delivered);
    store.closeGate();
    const accepting = r.ingest.accept({ ...CONVERSATION, text: 'Запишите на стрижку меня', id: 'm1' });
    await settle();
    // The window runs out while the batcher is (or, before the fix, was) still starting.
    clock.advance(WINDOW_MS + 500);
    store.openGate();
    await accepting;
    await settle();
    await clock.advanceAsync(WINDOW_MS);
    await settle();
    expect(delivered.map((batch) => batch.reason)).toEqual(['quiet']);
    expect(delivered[0]?.messages.map((message) => message.id)).toEqual(['m1']);
  });

  it('concurrent accepts to a new conversation start one batcher, which arms from the summary without a store read', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new SlowPendingStore({ seenTtlMs: 86_400_000 });
    const delivered: FlushedBatch[] = [];
    const r = await start(store, clock, delivered);
    const started: string[] = [];
    r.system.events.subscribe((event) => void started.push(event.path), { types: ['started'] });
    store.pendingReads = 0;
    await Promise.all([1, 2, 3].map((n) => r.ingest.accept({ ...CONVERSATION, text: `part ${n}`, id: `m${n}` })));
    await settle();
    expect(started.filter((path) => path.startsWith('/batchers/'))).toEqual([`/batchers/default:${CONVERSATION.phone}`]);
    expect(store.pendingReads).toBe(0);
    await clock.advanceAsync(WINDOW_MS + 1);
    await settle();
    expect(delivered.map((batch) => [batch.reason, batch.text])).toEqual([['quiet', 'part 1 part 2 part 3']]);
  });

  it('a batcher the recovery sweep starts for an overdue conversation still flushes `recovered`', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new MemoryStore({ seenTtlMs: 86_400_000 });
    // Left by an earlier run of the runtime: pending, with no batcher, long overdue.
    await store.append(CONVERSATION, { id: 'old-1', text: 'left over', at: clock.now() - 10 * WINDOW_MS });
    const delivered: FlushedBatch[] = [];
    await start(store, clock, delivered);
    await settle();
    await clock.advanceAsync(1);
    await settle();
    expect(delivered.map((batch) => [batch.reason, batch.text])).toEqual([['recovered', 'left over']]);
  });
});

describe('a conversation due on its first message (BATCH_MAX_MESSAGES=1)', () => {
  it('passivates after its flush; a restart for the mail it was told meanwhile finds nothing and stops without looping', async () => {
    // Before the fix, the batcher restarted for that mail stopped in its start, before taking
    // the mail, and was restarted for it again, for ever: a microtask loop that starved the
    // event loop (no timer fired again, not even the test's own timeout).
    const delivered: FlushedBatch[] = [];
    const runtime = new Runtime({
      loaded: testConfig({ BATCH_STORE: 'memory', BATCH_MAX_MESSAGES: '1', BATCH_SWEEP_INTERVAL_MS: '600000' }),
      logger: silentLogger(),
      handlerRunner: () => new InlineRunner((batch) => void delivered.push(batch)),
    });
    await runtime.start();
    try {
      await Promise.all(Array.from({ length: 200 }, (_, i) => runtime.ingest.accept({ sessionId: 'default', phone: String(79_160_100_000 + i), text: `m${i}`, id: `m${i}` })));
      const timerFired = await new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 50));
      expect(timerFired).toBe(true);
      const deadline = Date.now() + 20_000;
      while (delivered.length < 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(delivered).toHaveLength(200);
      expect(delivered.every((batch) => batch.reason === 'size')).toBe(true);
      // Every batcher passivated: none is left running (or restarting) for stale mail.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const batchers = runtime.system.snapshot().children.find((node) => node.path === '/batchers');
      expect(batchers?.kind).toBe('supervisor');
      expect(batchers?.children).toHaveLength(0);
    } finally {
      await runtime.shutdown();
    }
  });
});
