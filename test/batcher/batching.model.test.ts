import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BatchStore } from '../../actors/batcher/batch-store.js';
import { conversationKey, type Conversation } from '../../actors/batcher/conversation.js';
import { MemoryStore } from '../../actors/batcher/memory-store.js';
import { RedisStore } from '../../actors/batcher/redis-store.js';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import { ManualClock } from '../../src/clock.js';
import { type LoadedConfig } from '../../src/config/config.js';
import { testConfig } from '../support/config.js';
import { Runtime } from '../../src/runtime.js';
import { walkTree } from '../../supervisor/tree-node.js';
import { InstrumentedStore, type FlushFault } from '../support/instrumented-store.js';
import { silentLogger } from '../support/logger.js';
import { seededRandom } from '../support/random.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';

/**
 * Model-based: random interleavings of messages over several conversations, duplicate ids,
 * clock steps, batcher crashes (before and after a flush moved the batch), handler
 * failures, pipeline restarts and whole-runtime restarts on the same store. After every
 * run, the batching guarantee (DESIGN section 6) must hold.
 */

const WINDOW_MS = 1_000;
const MAX_MESSAGES = 4;
const MAX_AGE_MS = 5_000;
const LEASE_MS = 3_000;

const CONVERSATIONS: Conversation[] = [
  { sessionId: 's1', phone: '79160000001' },
  { sessionId: 's1', phone: '79160000002' },
  { sessionId: 's2', phone: '79160000001' },
];

function config(): LoadedConfig {
  return testConfig({
    PORT: '0',
    BATCH_WINDOW_MS: String(WINDOW_MS),
    BATCH_MAX_MESSAGES: String(MAX_MESSAGES),
    BATCH_MAX_AGE_MS: String(MAX_AGE_MS),
    BATCH_LEASE_MS: String(LEASE_MS),
    BATCH_SWEEP_INTERVAL_MS: '500',
    PIPELINE_MAX_ATTEMPTS: '100',
    PIPELINE_RETRY_INITIAL_MS: '100',
    // The drain at shutdown is bounded in wall time; what it leaves stays in the store.
    SHUTDOWN_TIMEOUT_MS: '2000',
    METRICS_PROCESS: 'false',
  });
}

interface Delivery {
  batch: FlushedBatch;
}

/**
 * The system under test: one or two whole runtimes on one store and one manual clock, with an
 * inline handler that records what reaches it and can be told to fail.
 */
class Harness {
  readonly clock = new ManualClock(1_700_000_000_000);
  readonly deliveries: Delivery[] = [];
  handlerFailures = 0;
  handlerRunning = 0;
  readonly runtimes: Runtime[] = [];
  readonly stores: InstrumentedStore[] = [];
  /** Runtimes left for dead (a kill -9): never shut down cleanly, their store cut off. */
  readonly #crashed: Runtime[] = [];
  #generation = 0;

  constructor(
    private readonly makeStore: () => BatchStore,
    readonly count: number,
  ) {}

  async start(): Promise<void> {
    for (let i = 0; i < this.count; i++) await this.startOne(i);
  }

  async startOne(i: number): Promise<void> {
    const store = new InstrumentedStore(this.makeStore());
    this.stores[i] = store;
    const runtime = new Runtime({
      loaded: config(),
      logger: silentLogger(),
      clock: this.clock,
      random: seededRandom(++this.#generation),
      store,
      handlerRunner: () =>
        new InlineRunner(async (batch) => {
          this.handlerRunning++;
          try {
            await new Promise((resolve) => setImmediate(resolve));
            if (this.handlerFailures > 0) {
              this.handlerFailures--;
              throw new Error('injected handler failure');
            }
            this.deliveries.push({ batch });
            return [];
          } finally {
            this.handlerRunning--;
          }
        }),
    });
    this.runtimes[i] = runtime;
    await runtime.start();
    await this.quiet();
  }

  runtime(i: number): Runtime {
    return this.runtimes[i % this.count] as Runtime;
  }

  async restart(i: number): Promise<void> {
    await this.stopOne(i % this.count);
    await this.startOne(i % this.count);
  }

  /**
   * A kill -9: the runtime's store is cut off at once (it can neither ack nor give a lease
   * back), then its actors are stopped; what it held in flight waits for its lease to run out.
   */
  async crash(i: number): Promise<void> {
    const at = i % this.count;
    (this.stores[at] as InstrumentedStore).sever();
    this.#crashed.push(this.runtime(at));
    await this.#drive(this.runtime(at).shutdown());
    await this.startOne(at);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.count; i++) await this.stopOne(i);
  }

  async stopOne(i: number): Promise<void> {
    await this.#drive(this.runtime(i).shutdown());
  }

  /** Shutdown waits on timers of the manual clock (stop timeouts): keep it moving. */
  async #drive(stopping: Promise<unknown>): Promise<void> {
    let done = false;
    void stopping.finally(() => (done = true));
    while (!done) {
      await this.quiet();
      if (!done) this.clock.advance(100);
    }
    await stopping;
  }

  /** Waits until nothing is in flight: no store call, no handler, no queued message anywhere in the trees. */
  async quiet(): Promise<void> {
    let calm = 0;
    for (let round = 0; round < 2_000 && calm < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const busy =
        this.stores.some((store) => store.inFlight > 0) ||
        this.handlerRunning > 0 ||
        this.runtimes.some((runtime) => runtime.system.isRunning && [...walkTree(runtime.system.snapshot())].some((node) => node.mailbox.depth > 0));
      calm = busy ? 0 : calm + 1;
    }
  }

  /** Moves the manual clock timer by timer, letting the runtimes settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    for (;;) {
      const next = this.clock.nextDueAt();
      if (next === undefined || next > target) break;
      this.clock.advance(Math.max(0, next - this.clock.now()));
      await this.quiet();
    }
    this.clock.advance(target - this.clock.now());
    await this.quiet();
  }
}

interface Model {
  /** Accepted message keys (`<conversation>/<id>`) per conversation, in acceptance order. */
  accepted: Map<string, string[]>;
  seen: Set<string>;
}

type Command = fc.AsyncCommand<Model, Harness>;

class Send implements Command {
  constructor(readonly conversation: number, readonly id: number, readonly via = 0) {}
  check = () => true;
  async run(model: Model, h: Harness): Promise<void> {
    const conversation = CONVERSATIONS[this.conversation] as Conversation;
    const key = `${conversationKey(conversation)}/m${this.id}`;
    const result = await h.runtime(this.via).ingest.accept({ ...conversation, id: `m${this.id}`, text: `text ${this.id}` });
    const duplicate = model.seen.has(key);
    expect(result.status).toBe(duplicate ? 'duplicate' : 'accepted');
    if (!duplicate) {
      model.seen.add(key);
      const list = model.accepted.get(conversationKey(conversation)) ?? [];
      list.push(key);
      model.accepted.set(conversationKey(conversation), list);
    }
    await h.quiet();
  }
  toString = () => `send(c${this.conversation}, m${this.id}, via r${this.via})`;
}

class Advance implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  run = async (_model: Model, h: Harness) => h.advance(this.ms);
  toString = () => `advance(${this.ms})`;
}

class CrashBatcher implements Command {
  constructor(readonly conversation: number, readonly when: FlushFault, readonly via = 0) {}
  check = () => true;
  async run(_model: Model, h: Harness): Promise<void> {
    (h.stores[this.via % h.count] as InstrumentedStore).failNextFlush(CONVERSATIONS[this.conversation] as Conversation, this.when);
    await h.quiet();
  }
  toString = () => `crashBatcher(c${this.conversation}, ${this.when} flush)`;
}

class FailHandler implements Command {
  constructor(readonly times: number) {}
  check = () => true;
  async run(_model: Model, h: Harness): Promise<void> {
    h.handlerFailures += this.times;
  }
  toString = () => `failHandler(${this.times})`;
}

class RestartPipeline implements Command {
  constructor(readonly via = 0) {}
  check = () => true;
  async run(_model: Model, h: Harness): Promise<void> {
    await h.runtime(this.via).system.restart('/pipeline');
    await h.quiet();
  }
  toString = () => `restartPipeline(r${this.via})`;
}

class RestartRuntime implements Command {
  constructor(readonly via = 0) {}
  check = () => true;
  run = async (_model: Model, h: Harness) => h.restart(this.via);
  toString = () => `restartRuntime(r${this.via})`;
}

/** A kill -9 with batches in flight: only for stores that outlive a process (not memory). */
class CrashRuntime implements Command {
  constructor(readonly via = 0) {}
  check = () => true;
  run = async (_model: Model, h: Harness) => h.crash(this.via);
  toString = () => `crashRuntime(r${this.via})`;
}

/** Conversation 0 is the busy one, so batches fill up and crashes find messages piling up. */
const conversationIndex = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat(CONVERSATIONS.length - 1) });
/** Ids from a small range: mostly new messages, now and then a redelivery of an earlier one. */
/** Which runtime a command goes to (with one runtime, always the one). */
const via = fc.nat(1);
const send = fc.tuple(conversationIndex, fc.nat(29), via).map(([c, id, r]) => new Send(c, id, r));

function commandsFor(options: { crashes: boolean }) {
  return [
    send,
    send,
    send,
    send,
    fc.constantFrom(10, 300, 900, 1_000, 2_500, 6_000).map((ms) => new Advance(ms)),
    fc.tuple(conversationIndex, fc.constantFrom<FlushFault>('before', 'after'), via).map(([c, when, r]) => new CrashBatcher(c, when, r)),
    fc.integer({ min: 1, max: 3 }).map((n) => new FailHandler(n)),
    via.map((r) => new RestartPipeline(r)),
    via.map((r) => new RestartRuntime(r)),
    ...(options.crashes ? [via.map((r) => new CrashRuntime(r))] : []),
  ];
}

function checkGuarantee(model: Model, h: Harness): void {
  const byBatch = new Map<string, FlushedBatch>();
  for (const { batch } of h.deliveries) {
    const earlier = byBatch.get(batch.batchId);
    // A repeated delivery carries the same batchId and the same messages.
    if (earlier) expect(batch.messages.map((m) => m.id)).toEqual(earlier.messages.map((m) => m.id));
    else byBatch.set(batch.batchId, batch);
  }
  const batchOf = new Map<string, string>();
  for (const batch of byBatch.values()) {
    const conversation = `${batch.sessionId}:${batch.phone}`;
    // Never mixed, never larger than the cap.
    expect(batch.messages.length).toBeGreaterThan(0);
    expect(batch.messages.length).toBeLessThanOrEqual(MAX_MESSAGES);
    for (const message of batch.messages) {
      const key = `${conversation}/${message.id}`;
      expect(model.seen.has(key), `${key} was delivered but never accepted`).toBe(true);
      // Each accepted message in exactly one batch.
      expect(batchOf.get(key), `${key} is in two batches`).toBeUndefined();
      batchOf.set(key, batch.batchId);
    }
    const flushedAt = Date.parse(batch.flushedAt);
    if (batch.reason === 'quiet') expect(flushedAt).toBeGreaterThanOrEqual(Date.parse(batch.lastAt) + WINDOW_MS);
    if (batch.reason === 'age') expect(flushedAt).toBeGreaterThanOrEqual(Date.parse(batch.firstAt) + MAX_AGE_MS);
    if (batch.reason === 'size') expect(batch.messages.length).toBe(MAX_MESSAGES);
  }
  for (const [conversation, keys] of model.accepted) {
    for (const key of keys) expect(batchOf.has(key), `${key} was accepted but never delivered`).toBe(true);
    // A conversation's batches reach the handler in the order they were cut (ordering.ts):
    // in the order of their first deliveries (byBatch keeps it), its messages come out in
    // acceptance order, within and across its batches. (A repeat, same batchId, may come later.)
    const delivered = [...byBatch.values()]
      .filter((batch) => `${batch.sessionId}:${batch.phone}` === conversation)
      .flatMap((batch) => batch.messages.map((message) => `${conversation}/${message.id}`));
    expect(delivered).toEqual(keys);
  }
}

interface StoreKind {
  readonly fresh: () => { make: () => BatchStore; cleanup: () => Promise<void> };
  /** Runtimes on the store at once: Redis is shared by processes; memory lives in one. */
  readonly runtimes: number;
  /** It outlives a killed process, so a kill -9 with batches in flight is part of the model. */
  readonly crashes: boolean;
}

const stores: [string, StoreKind][] = [
  [
    'memory',
    {
      fresh: () => {
        // The memory store lives in the process: a runtime restart in the same process keeps it.
        const store = new MemoryStore({ seenTtlMs: 86_400_000 });
        return { make: () => store, cleanup: async () => undefined };
      },
      runtimes: 1,
      crashes: false,
    },
  ],
  [
    'redis',
    {
      fresh: () => {
        const keyPrefix = testPrefix('model');
        return { make: () => new RedisStore({ url: redisUrl(), keyPrefix, ttlSeconds: 3_600 }), cleanup: () => deletePrefix(keyPrefix) };
      },
      runtimes: 1,
      crashes: true,
    },
  ],
  [
    'redis, two runtimes',
    {
      fresh: () => {
        const keyPrefix = testPrefix('model2');
        return { make: () => new RedisStore({ url: redisUrl(), keyPrefix, ttlSeconds: 3_600 }), cleanup: () => deletePrefix(keyPrefix) };
      },
      runtimes: 2,
      crashes: true,
    },
  ],
];

async function runScenario(kind: StoreKind, cmds: Iterable<Command>): Promise<Harness> {
  const { make, cleanup } = kind.fresh();
  const harness = new Harness(make, kind.runtimes);
  await harness.start();
  const model: Model = { accepted: new Map(), seen: new Set() };
  try {
    await fc.asyncModelRun(() => ({ model, real: harness }), cmds);
    // Let everything due come due: windows, ages, lease expiry, retries.
    harness.handlerFailures = 0;
    for (let i = 0; i < 15; i++) await harness.advance(2_000);
    checkGuarantee(model, harness);
  } finally {
    await harness.stop();
    await cleanup();
  }
  return harness;
}

describe('batching guarantee (model-based)', () => {
  for (const [name, kind] of stores) {
    it(`${name} store: messages that pile up while a batcher is down come out in batches of at most BATCH_MAX_MESSAGES, in order`, async () => {
      const sends = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => new Send(0, from + i));
      const harness = await runScenario(kind, [new CrashBatcher(0, 'before'), ...sends(0, 7), new Advance(300), ...sends(7, 9), new Advance(6_000)]);
      const sizes = harness.deliveries.map((d) => d.batch.messages.length);
      expect(sizes).toEqual([4, 4, 1]);
    });

    it(`${name} store: every accepted message is delivered in exactly one batch, batches in cut order, never mixed or oversized`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.commands(commandsFor(kind), { maxCommands: 40 }), async (cmds) => {
          await runScenario(kind, cmds);
        }),
        { numRuns: name === 'memory' ? 40 : 20 },
      );
    });
  }
});
