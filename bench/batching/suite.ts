/**
 * The batching suite (DESIGN section 14): flush lag, ingest throughput (in process and
 * over HTTP) and memory per pending conversation, for ours on the memory, the embedded
 * SQLite and the Redis store, each beside (a) the Redis poll loop this runtime replaces and
 * (b) a BullMQ debounce, on the same workload and the same Redis; the SQLite store's
 * fsyncs per second under the ingest load; and the drain of a backlog far larger than the
 * pipeline's queue. Every measured run checks that each accepted message was delivered
 * exactly once; a run that fails the check is FAILED.
 *
 * Parts of the suite can be chosen (see bench/README.md), e.g.
 *   BENCH_BATCHING=lag,ingest BENCH_STORES=memory,redis BENCH_LAG_CONVERSATIONS=10000 node dist/bench/run.js batching
 */
import { makeRow, measure, type Figure, type Row, type Suite, type SuiteResult, type Target, type ThroughputFigure, type Yardstick } from '../support/suite.js';
import { startBullmqDebounce, WORKER_CONCURRENCY } from './bullmq-debounce.js';
import type { Contender, ContenderFactory, ContenderKind } from './contender.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { drain, handlerAlone, idealSeconds, type DrainPlan } from './drain.js';
import { flushLag, type LagPlan } from './flush-lag.js';
import { sqliteFsyncs, type FsyncPlan } from './fsyncs.js';
import { startHttpFront, type HttpFront } from './http-front.js';
import { directIngest, type IngestPlan } from './ingest-direct.js';
import { httpIngest, type HttpPlan } from './ingest-http.js';
import { memoryFootprint } from './memory-footprint.js';
import { POLL_INTERVAL_MS, startPollLoop } from './poll-loop.js';
import { benchRedisUrl, deleteUnder, redisProblem, suitePrefix } from './redis-env.js';
import { startRuntime, type RuntimeStore } from './runtime-contender.js';
import { pendingSpanMs, RunNumbers, type ConversationShape } from './workload.js';

const KINDS: readonly ContenderKind[] = ['memory', 'sqlite', 'redis', 'poll', 'bullmq'];
const OURS: readonly RuntimeStore[] = ['memory', 'sqlite', 'redis'];
const LABEL: Record<ContenderKind, string> = {
  memory: 'ours, memory store',
  sqlite: 'ours, SQLite store',
  redis: 'ours, Redis store',
  poll: 'poll loop',
  bullmq: 'BullMQ debounce',
};
/** As a row names the store. */
const STORE_NAME: Record<RuntimeStore, string> = { memory: 'memory store', sqlite: 'SQLite store', redis: 'Redis store' };

const FACTORIES: Record<ContenderKind, ContenderFactory> = {
  memory: (options) => startRuntime({ ...options, store: 'memory' }),
  sqlite: (options) => startRuntime({ ...options, store: 'sqlite' }),
  redis: (options) => startRuntime({ ...options, store: 'redis' }),
  poll: startPollLoop,
  bullmq: startBullmqDebounce,
};
/** The SQLite store with every commit fsynced (SQLITE_SYNCHRONOUS=full); measured for direct ingest only. */
const SQLITE_FULL: ContenderFactory = (options) => startRuntime({ ...options, store: 'sqlite', env: { SQLITE_SYNCHRONOUS: 'full' } });

/** What BENCH_BATCHING may name. */
const SECTIONS = ['lag', 'ingest', 'fsync', 'http', 'memory', 'drain'] as const;
type Section = (typeof SECTIONS)[number];

/** Flush lag: a 500 ms window; four messages 350 ms apart per conversation. */
const LAG_WINDOW_MS = 500;
const SHAPE: ConversationShape = { messages: 4, gapMs: 350 };
const CONVERSATION_COUNTS = [1, 1_000, 10_000] as const;
const ROUNDS_OF_ONE = 6;
const WARMUP_CONVERSATIONS = 300;
const LAG_DRAIN_MS = 60_000;

/**
 * Ingest, direct: a window longer than a run; each run's flushes are delivered before the
 * next run. The SQLite store's runs take seconds on this VM: a longer window (and fewer
 * messages) keeps its flushes out of the timed runs too.
 */
const INGEST_WINDOW_MS = 2_000;
const INGEST_PLANS: Record<ContenderKind, Omit<IngestPlan, 'windowMs'> & { readonly windowMs?: number }> = {
  memory: { callers: 256, warmupMessages: 20_000, messages: 80_000, runs: 3, drainTimeoutMs: 60_000 },
  sqlite: { callers: 256, warmupMessages: 20_000, messages: 40_000, runs: 3, drainTimeoutMs: 60_000, windowMs: 6_000 },
  redis: { callers: 256, warmupMessages: 5_000, messages: 15_000, runs: 3, drainTimeoutMs: 60_000 },
  poll: { callers: 256, warmupMessages: 5_000, messages: 15_000, runs: 3, drainTimeoutMs: 60_000 },
  bullmq: { callers: 256, warmupMessages: 3_000, messages: 6_000, runs: 3, drainTimeoutMs: 60_000 },
};
/** Ingest over HTTP: sustained, as in production: flushes (window 2 s) run while the load goes on. */
const HTTP_WINDOW_MS = 2_000;
const HTTP_PLAN: HttpPlan = { connections: 50, warmup: 3_000, amount: 15_000, runs: 3, drainTimeoutMs: 60_000 };
const HTTP_PLAN_SLOW: HttpPlan = { ...HTTP_PLAN, amount: 6_000 };

const FOOTPRINT_CONVERSATIONS = 10_000;

/** fsyncs of the SQLite store: the direct-ingest load (one warm-up, one timed run), under strace. */
const FSYNC_PLAN: FsyncPlan = { callers: 256, warmupMessages: 20_000, messages: 40_000, windowMs: 8_000, drainTimeoutMs: 60_000 };

/**
 * Drain: 30,000 batches cut at once behind a queue of 100, through a 1 ms handler at
 * concurrency 4: ideally 7.5 s. The recovery sweep keeps its default (BATCH_SWEEP_INTERVAL_MS
 * 5,000), as it runs in production. Two shapes: one message per batch (BATCH_MAX_MESSAGES=1,
 * cut on the first message, as the test does), and two (cut on the second message
 * to a running batcher: the shape the build before this issue could take, see bench/README.md).
 */
const DRAIN_PLAN: DrainPlan = { batches: 30_000, messagesPerBatch: 1, queueMax: 100, concurrency: 4, handlerMs: 1, chunk: 1_000, timeoutMs: 180_000 };
const DRAIN_MESSAGES_PER_BATCH = [1, 2] as const;

const TARGETS = {
  lagMemory: { stat: 'p99', op: '<', value: 2, unit: 'ms' },
  lagRedis: { stat: 'p99', op: '<', value: 5, unit: 'ms' },
  lagSqlite: { stat: 'p99', op: '<', value: 5, unit: 'ms' },
  ingestMemory: { stat: 'msgs/s', op: '>=', value: 300_000, unit: 'msgs/s' },
  ingestSqlite: { stat: 'msgs/s', op: '>=', value: 100_000, unit: 'msgs/s' },
  ingestRedis: { stat: 'msgs/s', op: '>=', value: 40_000, unit: 'msgs/s' },
  httpMemory: { stat: 'req/s', op: '>=', value: 10_000, unit: 'req/s' },
  footprint: { stat: 'bytes', op: '<', value: 2_048, unit: 'B' },
  // Within 20% of the ideal 7.5 s.
  drain: { stat: 'value', op: '<=', value: 1.2 * idealSeconds(DRAIN_PLAN), unit: 's' },
} as const satisfies Record<string, Target>;

const LAG_TARGETS: Record<RuntimeStore, Target> = { memory: TARGETS.lagMemory, sqlite: TARGETS.lagSqlite, redis: TARGETS.lagRedis };
const INGEST_TARGETS: Record<RuntimeStore, Target> = { memory: TARGETS.ingestMemory, sqlite: TARGETS.ingestSqlite, redis: TARGETS.ingestRedis };

/** A comma-separated choice from `allowed` in the environment variable `name`; all of them when unset. */
function chosen<T extends string>(name: string, allowed: readonly T[]): readonly T[] {
  const raw = process.env[name]?.trim();
  if (!raw) return allowed;
  const picked = raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const unknown = picked.filter((part) => !(allowed as readonly string[]).includes(part));
  if (unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ')}; known: ${allowed.join(', ')}`);
  return allowed.filter((value) => picked.includes(value));
}

/** Ours behind its own HTTP server, or a baseline behind the fastify front; checked delivered once. */
async function httpFor(kind: ContenderKind, prefix: string, redisUrl: string, plan: HttpPlan, run: number): Promise<ThroughputFigure> {
  const ledger = new DeliveryLedger(HTTP_WINDOW_MS);
  const options = { windowMs: HTTP_WINDOW_MS, ledger, redisUrl, prefix };
  let baseUrl: string;
  let contender: Contender;
  let front: HttpFront | undefined;
  if (kind === 'memory' || kind === 'sqlite' || kind === 'redis') {
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
  const sections = new Set<Section>(chosen('BENCH_BATCHING', SECTIONS));
  const kinds = new Set<ContenderKind>(chosen('BENCH_STORES', KINDS));
  const lagCounts = chosen('BENCH_LAG_CONVERSATIONS', CONVERSATION_COUNTS.map(String)).map(Number);
  const drainShapes = chosen('BENCH_DRAIN_MESSAGES', DRAIN_MESSAGES_PER_BATCH.map(String)).map(Number);
  const ours = OURS.filter((store) => kinds.has(store));
  const redisUrl = benchRedisUrl();
  const root = suitePrefix();
  const needsRedis = (kind: ContenderKind): boolean => kind !== 'memory' && kind !== 'sqlite';
  const usesRedis = [...kinds].some(needsRedis) && [...sections].some((section) => section !== 'fsync');
  const problem = usesRedis ? await redisProblem(redisUrl) : undefined;
  const runs = new RunNumbers();
  const notes: string[] = [];
  const rows: Row[] = [];
  /** A measure of `kind`, or skipped when it was not chosen or needs a Redis that does not answer. */
  const take = (kind: ContenderKind, what: string, fn: () => Promise<Figure>): Promise<Figure> => {
    if (!kinds.has(kind)) return Promise.resolve({ kind: 'skipped', reason: 'not chosen (BENCH_STORES)' });
    if (needsRedis(kind) && problem !== undefined) return Promise.resolve({ kind: 'skipped', reason: problem });
    return measure(what, fn);
  };
  const target = (kind: ContenderKind, label: string) => ({ factory: FACTORIES[kind], redisUrl, prefix: `${root}${kind}-${label}:` });
  const baselinesOf = (figures: Partial<Record<ContenderKind, Figure>>, suffix = ''): Yardstick[] =>
    (['poll', 'bullmq'] as const)
      .filter((kind) => kinds.has(kind))
      .map((kind) => ({ name: `${kind === 'poll' ? 'poll loop' : 'BullMQ'}${suffix}`, figure: figures[kind] as Figure }));

  if (problem) notes.push(`Redis: ${problem}; every Redis row is skipped.`);
  if (sections.size < SECTIONS.length || kinds.size < KINDS.length || lagCounts.length < CONVERSATION_COUNTS.length || drainShapes.length < DRAIN_MESSAGES_PER_BATCH.length) {
    notes.push(
      `Chosen: BENCH_BATCHING=${[...sections].join(',')} BENCH_STORES=${[...kinds].join(',')} BENCH_LAG_CONVERSATIONS=${lagCounts.join(',')} BENCH_DRAIN_MESSAGES=${drainShapes.join(',')}.`,
    );
  }
  let deleted = 0;
  try {
    // ---- 1. flush lag ------------------------------------------------------------------
    if (sections.has('lag')) {
      const lagPlan = (conversations: number): LagPlan => ({
        windowMs: LAG_WINDOW_MS,
        shape: SHAPE,
        conversations,
        rounds: conversations === 1 ? ROUNDS_OF_ONE : 1,
        drainTimeoutMs: LAG_DRAIN_MS,
      });
      for (const kind of KINDS) {
        if (!kinds.has(kind)) continue;
        await take(kind, `flush lag warm-up, ${LABEL[kind]}`, () => flushLag(target(kind, 'warmup'), lagPlan(WARMUP_CONVERSATIONS), runs.take()));
      }
      for (const conversations of lagCounts) {
        const figures = {} as Record<ContenderKind, Figure>;
        for (const kind of KINDS) {
          figures[kind] = await take(kind, `flush lag, ${LABEL[kind]}, ${count(conversations)} conversations`, () =>
            flushLag(target(kind, `lag${conversations}`), lagPlan(conversations), runs.take()),
          );
        }
        const at10k = conversations === 10_000;
        for (const store of ours) {
          rows.push(makeRow(`flush lag, ${STORE_NAME[store]}, ${count(conversations)} conv.`, figures[store], baselinesOf(figures), at10k ? LAG_TARGETS[store] : null));
        }
      }
    }

    // ---- 2a. ingest, in process ---------------------------------------------------------
    if (sections.has('ingest')) {
      const ingest = {} as Record<ContenderKind, Figure>;
      for (const kind of KINDS) {
        ingest[kind] = await take(kind, `ingest, direct, ${LABEL[kind]}`, () =>
          directIngest(target(kind, 'ingest'), { windowMs: INGEST_WINDOW_MS, ...INGEST_PLANS[kind] }, () => runs.take()),
        );
      }
      const sqliteFull = await take('sqlite', 'ingest, direct, ours, SQLite store, synchronous=full', () =>
        directIngest({ ...target('sqlite', 'ingest-full'), factory: SQLITE_FULL }, { windowMs: INGEST_WINDOW_MS, ...INGEST_PLANS.sqlite }, () => runs.take()),
      );
      for (const store of ours) {
        rows.push(makeRow(`ingest, direct accept(), ${STORE_NAME[store]}`, ingest[store], baselinesOf(ingest), INGEST_TARGETS[store]));
        if (store === 'sqlite') rows.push(makeRow('ingest, direct accept(), SQLite store, synchronous=full', sqliteFull, baselinesOf(ingest), null));
      }
    }

    // ---- 2c. fsyncs of the SQLite store under the ingest load --------------------------------
    if (sections.has('fsync') && kinds.has('sqlite')) {
      for (const synchronous of ['normal', 'full'] as const) {
        const figure = await take('sqlite', `fsyncs, ours, SQLite store, synchronous=${synchronous}, direct ingest (under strace)`, () =>
          sqliteFsyncs(FSYNC_PLAN, synchronous, runs.take(), runs.take()),
        );
        rows.push(makeRow(`fsyncs/s, SQLite store, synchronous=${synchronous}, direct ingest`, figure, [], null));
      }
    }

    // ---- 2b. ingest over HTTP -------------------------------------------------------------
    if (sections.has('http')) {
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
      const httpBaselines = [...baselinesOf(http, ' behind fastify'), { name: 'fastify alone, no store', figure: ceiling }];
      for (const store of ours) {
        rows.push(makeRow(`ingest over HTTP, ${STORE_NAME[store]}`, http[store], httpBaselines, store === 'memory' ? TARGETS.httpMemory : null));
      }
    }

    // ---- 3. memory per pending conversation ----------------------------------------------
    if (sections.has('memory')) {
      const footprint = {} as Record<ContenderKind, Figure>;
      for (const kind of KINDS) {
        footprint[kind] = await take(kind, `memory per pending conversation, ${LABEL[kind]}`, () =>
          memoryFootprint(kind, redisUrl, `${root}${kind}-memory:`, runs.take(), FOOTPRINT_CONVERSATIONS),
        );
      }
      for (const store of ours) {
        rows.push(makeRow(`memory per pending conversation, ${STORE_NAME[store]}`, footprint[store], baselinesOf(footprint), store === 'memory' ? TARGETS.footprint : null));
      }
    }

    // ---- 4. drain of a backlog behind a full pipeline --------------------------------------
    if (sections.has('drain') && ours.length > 0) {
      const alone = await measure(`drain yardstick: ${DRAIN_PLAN.concurrency} loops of setTimeout(${DRAIN_PLAN.handlerMs}) alone`, () => handlerAlone(DRAIN_PLAN));
      const ideal = idealSeconds(DRAIN_PLAN);
      const drainYardsticks: Yardstick[] = [
        { name: 'ideal', figure: { kind: 'value', value: ideal, unit: 's', text: `${ideal.toFixed(2)} s (${count(DRAIN_PLAN.batches)} × ${DRAIN_PLAN.handlerMs} ms / ${DRAIN_PLAN.concurrency})` } },
        { name: 'the handler alone', figure: alone },
      ];
      for (const perBatch of drainShapes) {
        const plan: DrainPlan = { ...DRAIN_PLAN, messagesPerBatch: perBatch };
        const shape = `${count(plan.batches)} batches of ${perBatch} message${perBatch === 1 ? '' : 's'}`;
        for (const store of ours) {
          const figure = await take(store, `drain, ${LABEL[store]}, ${shape}`, () => drain({ store, redisUrl, prefix: `${root}${store}-drain${perBatch}:` }, plan, runs.take()));
          rows.push(makeRow(`drain ${shape} behind a queue of ${plan.queueMax}, ${STORE_NAME[store]}`, figure, drainYardsticks, TARGETS.drain));
        }
      }
    }
  } finally {
    if (usesRedis && !problem) deleted = await deleteUnder(redisUrl, root).catch(() => -1);
  }

  /** The notes of the chosen sections only (poll loop, BullMQ and Redis: whenever chosen). */
  const note = (when: boolean, ...lines: string[]): void => {
    if (when) notes.push(...lines);
  };
  note(
    ours.length > 0,
    `Ours: a whole Runtime per run (default config but the window, the store and what a measure names; silent logger; a temp DATA_DIR of its own, removed after),`,
    `  InlineRunner handler in the same process. SQLite store: DATA_DIR/batches.sqlite, WAL, SQLITE_SYNCHRONOUS=normal unless a row says full.`,
  );
  note(
    sections.has('lag'),
    `Flush lag = handler entry (Date.now()) - (batch lastAt + window), quiet flushes only; p50 / p99 / max, ms (Date.now() resolution: 1 ms).`,
    `  Window ${LAG_WINDOW_MS} ms; each conversation sends ${SHAPE.messages} messages ${SHAPE.gapMs} ms apart ("Запишите на стрижку меня" / "На завтра" / "В 18:00" / "К Бари"),`,
    `  conversation starts spread evenly over one pending span (${pendingSpanMs(SHAPE, LAG_WINDOW_MS)} ms), sent open-loop, so all N are pending at once`,
    `  (peakPendingConversations in the JSON) and N/${pendingSpanMs(SHAPE, LAG_WINDOW_MS) / 1000} s conversations come due per second. 1 conversation: ${ROUNDS_OF_ONE} rounds, one at a time,`,
    `  each after a pause spread over 0-1 s (so the 1 s poll loop is not sampled at one phase).`,
    `  Baselines are measured once per N and shown beside every store. Each contender had one unrecorded warm-up run of ${WARMUP_CONVERSATIONS} conversations.`,
  );
  note(
    kinds.has('poll'),
    `Poll loop: RPUSH + SET last-timestamp (MULTI, TTL), a loop every ${POLL_INTERVAL_MS} ms SCANs the timestamps and takes due lists (LRANGE+DEL in MULTI).`,
  );
  note(
    kinds.has('bullmq'),
    `BullMQ: RPUSH to a list + queue.add(delay = window, deduplication {id: conversation, ttl: window, extend, replace}); Worker (concurrency ${WORKER_CONCURRENCY}) takes the list.`,
  );
  note(
    sections.has('ingest'),
    `Ingest, direct: ${INGEST_PLANS.memory.callers} closed-loop callers; message n to conversation n/4; one warm-up then the median of ${INGEST_PLANS.memory.runs} runs`,
    `  (memory ${count(INGEST_PLANS.memory.messages)}, SQLite ${count(INGEST_PLANS.sqlite.messages)}, Redis and poll ${count(INGEST_PLANS.redis.messages)}, BullMQ ${count(INGEST_PLANS.bullmq.messages)} messages per run);`,
    `  window ${INGEST_WINDOW_MS} ms (SQLite ${INGEST_PLANS.sqlite.windowMs ?? INGEST_WINDOW_MS} ms), and each run's`,
    `  batches delivered before the next, so the runs time ingest alone (deliveredDuringRuns in the JSON: 0 when no flush overlapped).`,
  );
  note(
    sections.has('fsync'),
    `fsyncs/s: the direct-ingest load on the SQLite store (${count(FSYNC_PLAN.warmupMessages)} warm-up, then ${count(FSYNC_PLAN.messages)} timed messages, ${FSYNC_PLAN.callers} callers, window ${FSYNC_PLAN.windowMs} ms) in a child process under`,
    `  strace -f --seccomp-bpf -ttt -y -e trace=fsync,fdatasync; fsync+fdatasync calls counted in the timed ingest window (by file: WAL, database), and in the drain`,
    `  of its batches after it (flushes and acks). In WAL mode synchronous=normal fsyncs at checkpoints only, full also at every commit (one commit per event-loop turn).`,
  );
  note(
    sections.has('http'),
    `Ingest over HTTP: autocannon in a separate process, ${HTTP_PLAN.connections} connections, pipelining 1, one fresh message per request; warm-up ${count(HTTP_PLAN.warmup)} then median of`,
    `  ${HTTP_PLAN.runs} runs of ${count(HTTP_PLAN.amount)} (BullMQ ${count(HTTP_PLAN_SLOW.amount)}), back to back: sustained, window ${HTTP_WINDOW_MS} ms, so flushing runs during the load.`,
    `  Baselines behind a fastify app with the runtime's route schema; every 2xx checked delivered once.`,
  );
  note(
    sections.has('memory'),
    `Memory: a child node --expose-gc per contender; growth after full GC for ${count(FOOTPRINT_CONVERSATIONS)} conversations with one distinct 23-byte message each, text bytes`,
    `  subtracted; ours: Node heap (+ Redis used_memory for the Redis store; for the SQLite store the text is in the file, whose growth is diskPerConversation in the JSON);`,
    `  baselines: Redis used_memory (their process keeps nothing per conversation).`,
  );
  note(
    sections.has('drain'),
    `Drain (a child process per run): ${count(DRAIN_PLAN.batches)} conversations accepted through ingest.accept in chunks of ${count(DRAIN_PLAN.chunk)} conversations, each`,
    `  sending m messages with BATCH_MAX_MESSAGES=m (m = ${drainShapes.join(', ')}; in a chunk every conversation's k-th message before any (k+1)-th): a batch cut on each last message,`,
    `  PIPELINE_QUEUE_MAX=${DRAIN_PLAN.queueMax}, PIPELINE_CONCURRENCY=${DRAIN_PLAN.concurrency}, BATCH_SWEEP_INTERVAL_MS and BATCH_LEASE_MS at their defaults; InlineRunner handler awaiting`,
    `  setTimeout(${DRAIN_PLAN.handlerMs}). Time from the first accept to the last delivery (handler done), held to the target; in brackets how long the accepts took`,
    `  and the pace of the batches left once all were accepted; widest gap between two deliveries; deliveries/s over the whole time.`,
    `  Target: within 20% of the ideal ${idealSeconds(DRAIN_PLAN)} s. The handler alone: ${DRAIN_PLAN.concurrency} concurrent loops of await setTimeout(${DRAIN_PLAN.handlerMs}), ${count(DRAIN_PLAN.batches / DRAIN_PLAN.concurrency)} each.`,
    `  Unfinished ${DRAIN_PLAN.timeoutMs / 1_000} s after the first accept: reported with how many were delivered (a child whose event loop no longer turns is killed).`,
  );
  note(
    usesRedis,
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
      fsync: FSYNC_PLAN,
      drain: DRAIN_PLAN,
      drainMessagesPerBatch: drainShapes,
      chosen: { sections: [...sections], stores: [...kinds], lagConversations: lagCounts, drainMessagesPerBatch: drainShapes },
    },
  };
}

export const batchingSuite: Suite = {
  name: 'batching',
  title: 'Batching: flush lag, ingest, fsyncs, memory per conversation, drain (memory, SQLite and Redis stores vs a poll loop and BullMQ)',
  run,
};
