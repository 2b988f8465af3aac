/**
 * The batching suite (DESIGN section 14): flush lag, ingest throughput (in process and
 * over HTTP) and memory per pending conversation, for ours on the memory and the Redis
 * store, each beside (a) the Redis poll loop this runtime replaces and (b) a BullMQ
 * debounce, on the same workload and the same Redis. Every measured run checks that each
 * accepted message was delivered exactly once; a run that fails the check is FAILED.
 */
import { makeRow, measure, type Figure, type Row, type Suite, type SuiteResult, type Target, type ThroughputFigure } from '../support/suite.js';
import { startBullmqDebounce, WORKER_CONCURRENCY } from './bullmq-debounce.js';
import type { Contender, ContenderFactory, ContenderKind } from './contender.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { flushLag, type LagPlan } from './flush-lag.js';
import { startHttpFront, type HttpFront } from './http-front.js';
import { directIngest, type IngestPlan } from './ingest-direct.js';
import { httpIngest, type HttpPlan } from './ingest-http.js';
import { memoryFootprint } from './memory-footprint.js';
import { POLL_INTERVAL_MS, startPollLoop } from './poll-loop.js';
import { benchRedisUrl, deleteUnder, redisProblem, suitePrefix } from './redis-env.js';
import { startRuntime } from './runtime-contender.js';
import { pendingSpanMs, RunNumbers, type ConversationShape } from './workload.js';

const KINDS: readonly ContenderKind[] = ['memory', 'redis', 'poll', 'bullmq'];
const LABEL: Record<ContenderKind, string> = { memory: 'ours, memory store', redis: 'ours, Redis store', poll: 'poll loop', bullmq: 'BullMQ debounce' };

const FACTORIES: Record<ContenderKind, ContenderFactory> = {
  memory: (options) => startRuntime({ ...options, store: 'memory' }),
  redis: (options) => startRuntime({ ...options, store: 'redis' }),
  poll: startPollLoop,
  bullmq: startBullmqDebounce,
};

/** Flush lag: a 500 ms window; four messages 350 ms apart per conversation. */
const LAG_WINDOW_MS = 500;
const SHAPE: ConversationShape = { messages: 4, gapMs: 350 };
const CONVERSATION_COUNTS = [1, 1_000, 10_000] as const;
const ROUNDS_OF_ONE = 6;
const WARMUP_CONVERSATIONS = 300;
const LAG_DRAIN_MS = 60_000;

/** Ingest, direct: a window longer than a run; each run's flushes are delivered before the next run. */
const INGEST_WINDOW_MS = 2_000;
const INGEST_PLANS: Record<ContenderKind, Omit<IngestPlan, 'windowMs'>> = {
  memory: { callers: 256, warmupMessages: 20_000, messages: 80_000, runs: 3, drainTimeoutMs: 60_000 },
  redis: { callers: 256, warmupMessages: 5_000, messages: 15_000, runs: 3, drainTimeoutMs: 60_000 },
  poll: { callers: 256, warmupMessages: 5_000, messages: 15_000, runs: 3, drainTimeoutMs: 60_000 },
  bullmq: { callers: 256, warmupMessages: 3_000, messages: 6_000, runs: 3, drainTimeoutMs: 60_000 },
};
/** Ingest over HTTP: sustained, as in production: flushes (window 2 s) run while the load goes on. */
const HTTP_WINDOW_MS = 2_000;
const HTTP_PLAN: HttpPlan = { connections: 50, warmup: 3_000, amount: 15_000, runs: 3, drainTimeoutMs: 60_000 };
const HTTP_PLAN_SLOW: HttpPlan = { ...HTTP_PLAN, amount: 6_000 };

const FOOTPRINT_CONVERSATIONS = 10_000;

const TARGETS = {
  lagMemory: { stat: 'p99', op: '<', value: 2, unit: 'ms' },
  lagRedis: { stat: 'p99', op: '<', value: 5, unit: 'ms' },
  ingestMemory: { stat: 'msgs/s', op: '>=', value: 300_000, unit: 'msgs/s' },
  ingestRedis: { stat: 'msgs/s', op: '>=', value: 40_000, unit: 'msgs/s' },
  httpMemory: { stat: 'req/s', op: '>=', value: 10_000, unit: 'req/s' },
  footprint: { stat: 'bytes', op: '<', value: 2_048, unit: 'B' },
} as const satisfies Record<string, Target>;

/** Ours behind its own HTTP server, or a baseline behind the fastify front; checked delivered once. */
async function httpFor(kind: ContenderKind, prefix: string, redisUrl: string, plan: HttpPlan, run: number): Promise<ThroughputFigure> {
  const ledger = new DeliveryLedger(HTTP_WINDOW_MS);
  const options = { windowMs: HTTP_WINDOW_MS, ledger, redisUrl, prefix };
  let baseUrl: string;
  let contender: Contender;
  let front: HttpFront | undefined;
  if (kind === 'memory' || kind === 'redis') {
    const runtime = await startRuntime({ ...options, store: kind });
    contender = runtime;
    baseUrl = runtime.baseUrl;
  } else {
    contender = await FACTORIES[kind](options);
    try {
      front = await startHttpFront(contender);
    } catch (error) {
      await contender.close();
      throw error;
    }
    baseUrl = front.baseUrl;
  }
  let closed = false;
  try {
    const figure = await httpIngest({ baseUrl, ledger }, plan, run);
    await front?.close();
    front = undefined;
    closed = true;
    await contender.close();
    ledger.verify();
    return figure;
  } finally {
    await front?.close();
    if (!closed) await contender.close().catch(() => undefined);
  }
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

async function run(): Promise<SuiteResult> {
  const redisUrl = benchRedisUrl();
  const root = suitePrefix();
  const problem = await redisProblem(redisUrl);
  const runs = new RunNumbers();
  const notes: string[] = [];
  const rows: Row[] = [];
  const needsRedis = (kind: ContenderKind): boolean => kind !== 'memory';
  /** A measure of `kind`, or skipped when it needs a Redis that does not answer. */
  const take = (kind: ContenderKind, what: string, fn: () => Promise<Figure>): Promise<Figure> =>
    needsRedis(kind) && problem !== undefined ? Promise.resolve({ kind: 'skipped', reason: problem }) : measure(what, fn);
  const target = (kind: ContenderKind, label: string) => ({ factory: FACTORIES[kind], redisUrl, prefix: `${root}${kind}-${label}:` });

  if (problem) notes.push(`Redis: ${problem}; every Redis row is skipped.`);
  let deleted = 0;
  try {
    // ---- 1. flush lag ------------------------------------------------------------------
    const lagPlan = (conversations: number): LagPlan => ({
      windowMs: LAG_WINDOW_MS,
      shape: SHAPE,
      conversations,
      rounds: conversations === 1 ? ROUNDS_OF_ONE : 1,
      drainTimeoutMs: LAG_DRAIN_MS,
    });
    for (const kind of KINDS) {
      await take(kind, `flush lag warm-up, ${LABEL[kind]}`, () => flushLag(target(kind, 'warmup'), lagPlan(WARMUP_CONVERSATIONS), runs.take()));
    }
    for (const conversations of CONVERSATION_COUNTS) {
      const figures = {} as Record<ContenderKind, Figure>;
      for (const kind of KINDS) {
        figures[kind] = await take(kind, `flush lag, ${LABEL[kind]}, ${count(conversations)} conversations`, () =>
          flushLag(target(kind, `lag${conversations}`), lagPlan(conversations), runs.take()),
        );
      }
      const baselines = [
        { name: 'poll loop', figure: figures.poll },
        { name: 'BullMQ', figure: figures.bullmq },
      ];
      const at10k = conversations === 10_000;
      rows.push(makeRow(`flush lag, memory store, ${count(conversations)} conv.`, figures.memory, baselines, at10k ? TARGETS.lagMemory : null));
      rows.push(makeRow(`flush lag, Redis store, ${count(conversations)} conv.`, figures.redis, baselines, at10k ? TARGETS.lagRedis : null));
    }

    // ---- 2a. ingest, in process ---------------------------------------------------------
    const ingest = {} as Record<ContenderKind, Figure>;
    for (const kind of KINDS) {
      ingest[kind] = await take(kind, `ingest, direct, ${LABEL[kind]}`, () =>
        directIngest(target(kind, 'ingest'), { ...INGEST_PLANS[kind], windowMs: INGEST_WINDOW_MS }, () => runs.take()),
      );
    }
    const ingestBaselines = [
      { name: 'poll loop', figure: ingest.poll },
      { name: 'BullMQ', figure: ingest.bullmq },
    ];
    rows.push(makeRow('ingest, direct accept(), memory store', ingest.memory, ingestBaselines, TARGETS.ingestMemory));
    rows.push(makeRow('ingest, direct accept(), Redis store', ingest.redis, ingestBaselines, TARGETS.ingestRedis));

    // ---- 2b. ingest over HTTP -------------------------------------------------------------
    const http = {} as Record<ContenderKind, Figure>;
    for (const kind of KINDS) {
      http[kind] = await take(kind, `ingest over HTTP, ${LABEL[kind]}`, () =>
        httpFor(kind, target(kind, 'http').prefix, redisUrl, kind === 'bullmq' ? HTTP_PLAN_SLOW : HTTP_PLAN, runs.take()),
      );
    }
    const ceiling = await measure('ingest over HTTP, fastify alone (no store)', async () => {
      const front = await startHttpFront(undefined);
      try {
        return await httpIngest({ baseUrl: front.baseUrl, ledger: undefined }, HTTP_PLAN, runs.take());
      } finally {
        await front.close();
      }
    });
    const httpBaselines = [
      { name: 'poll loop behind fastify', figure: http.poll },
      { name: 'BullMQ behind fastify', figure: http.bullmq },
      { name: 'fastify alone, no store', figure: ceiling },
    ];
    rows.push(makeRow('ingest over HTTP, memory store', http.memory, httpBaselines, TARGETS.httpMemory));
    rows.push(makeRow('ingest over HTTP, Redis store', http.redis, httpBaselines, null));

    // ---- 3. memory per pending conversation ----------------------------------------------
    const footprint = {} as Record<ContenderKind, Figure>;
    for (const kind of KINDS) {
      footprint[kind] = await take(kind, `memory per pending conversation, ${LABEL[kind]}`, () =>
        memoryFootprint(kind, redisUrl, `${root}${kind}-memory:`, runs.take(), FOOTPRINT_CONVERSATIONS),
      );
    }
    const footprintBaselines = [
      { name: 'poll loop', figure: footprint.poll },
      { name: 'BullMQ', figure: footprint.bullmq },
    ];
    rows.push(makeRow('memory per pending conversation, memory store', footprint.memory, footprintBaselines, TARGETS.footprint));
    rows.push(makeRow('memory per pending conversation, Redis store', footprint.redis, footprintBaselines, null));
  } finally {
    if (!problem) deleted = await deleteUnder(redisUrl, root).catch(() => -1);
  }

  notes.push(
    `Flush lag = handler entry (Date.now()) - (batch lastAt + window), quiet flushes only; p50 / p99 / max, ms (Date.now() resolution: 1 ms).`,
    `  Window ${LAG_WINDOW_MS} ms; each conversation sends ${SHAPE.messages} messages ${SHAPE.gapMs} ms apart ("Запишите на стрижку меня" / "На завтра" / "В 18:00" / "К Бари"),`,
    `  conversation starts spread evenly over one pending span (${pendingSpanMs(SHAPE, LAG_WINDOW_MS)} ms), sent open-loop, so all N are pending at once`,
    `  (peakPendingConversations in the JSON) and N/${pendingSpanMs(SHAPE, LAG_WINDOW_MS) / 1000} s conversations come due per second. 1 conversation: ${ROUNDS_OF_ONE} rounds, one at a time,`,
    `  each after a pause spread over 0-1 s (so the 1 s poll loop is not sampled at one phase).`,
    `  Ours: a whole Runtime per run (default config but the window; silent logger), InlineRunner handler in the same process.`,
    `  Baselines are measured once per N and shown beside both stores. Each contender had one unrecorded warm-up run of ${WARMUP_CONVERSATIONS} conversations.`,
    `Poll loop: RPUSH + SET last-timestamp (MULTI, TTL), a loop every ${POLL_INTERVAL_MS} ms SCANs the timestamps and takes due lists (LRANGE+DEL in MULTI).`,
    `BullMQ: RPUSH to a list + queue.add(delay = window, deduplication {id: conversation, ttl: window, extend, replace}); Worker (concurrency ${WORKER_CONCURRENCY}) takes the list.`,
    `Ingest, direct: ${INGEST_PLANS.memory.callers} closed-loop callers; message n to conversation n/4; one warm-up then the median of ${INGEST_PLANS.memory.runs} runs`,
    `  (memory ${count(INGEST_PLANS.memory.messages)}, Redis and poll ${count(INGEST_PLANS.redis.messages)}, BullMQ ${count(INGEST_PLANS.bullmq.messages)} messages per run); window ${INGEST_WINDOW_MS} ms, and each run's`,
    `  batches delivered before the next, so the runs time ingest alone (deliveredDuringRuns in the JSON: 0 when no flush overlapped).`,
    `Ingest over HTTP: autocannon in a separate process, ${HTTP_PLAN.connections} connections, pipelining 1, one fresh message per request; warm-up ${count(HTTP_PLAN.warmup)} then median of`,
    `  ${HTTP_PLAN.runs} runs of ${count(HTTP_PLAN.amount)} (BullMQ ${count(HTTP_PLAN_SLOW.amount)}), back to back: sustained, window ${HTTP_WINDOW_MS} ms, so flushing runs during the load.`,
    `  Baselines behind a fastify app with the runtime's route schema; every 2xx checked delivered once.`,
    `Memory: a child node --expose-gc per contender; growth after full GC for ${count(FOOTPRINT_CONVERSATIONS)} conversations with one distinct 23-byte message each, text bytes`,
    `  subtracted; ours: Node heap (+ Redis used_memory for the Redis store); baselines: Redis used_memory (their process keeps nothing per conversation).`,
    `Redis: ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}, keys under ${root} deleted afterwards with SCAN (${deleted} keys).`,
  );
  return {
    rows,
    notes,
    info: {
      redis: problem ? { skipped: problem } : { prefix: root, keysDeleted: deleted },
      lag: { windowMs: LAG_WINDOW_MS, shape: SHAPE, conversationCounts: CONVERSATION_COUNTS, roundsOfOne: ROUNDS_OF_ONE },
      ingest: { windowMs: INGEST_WINDOW_MS, plans: INGEST_PLANS, httpWindowMs: HTTP_WINDOW_MS, http: HTTP_PLAN, httpBullmq: HTTP_PLAN_SLOW },
      footprint: { conversations: FOOTPRINT_CONVERSATIONS },
    },
  };
}

export const batchingSuite: Suite = {
  name: 'batching',
  title: 'Batching: flush lag, ingest, memory per conversation (memory and Redis stores vs a poll loop and BullMQ)',
  run,
};
