/**
 * The actor-core suite: our figures beside what a user would otherwise use (a bare loop,
 * nact, bare worker_threads, piscina, PM2), each with its target.
 */
import { summarize } from '../support/stats.js';
import { makeRow, measure, type Figure, type Row, type Suite, type SuiteResult } from '../support/suite.js';
import { crashToServing } from './crash-to-serving.js';
import { crossThreadAskSamples, crossThreadTell, type RoundTripPlan } from './cross-thread.js';
import { localTell } from './local-tell.js';
import { bareLoopTell } from './yardsticks/bare-loop.js';
import { bareWorkerRoundTripSamples, bareWorkerTell } from './yardsticks/bare-port.js';
import { nactTell } from './yardsticks/nact-tell.js';
import { piscinaRoundTripSamples } from './yardsticks/piscina-rtt.js';
import { pm2KillToServing } from './yardsticks/pm2-restart.js';

const MANY = 10_000;
const ONE_ACTOR = { actors: 1, chunk: 5_000, maxBacklog: 5_000 } as const;
const MANY_ACTORS = { actors: MANY, chunk: MANY, maxBacklog: 10 * MANY, multipleOf: MANY } as const;
/** Runs are sized from the warm-up's rate to last ≥ 300 ms each. */
const FAST = { warmupMessages: 2_000_000, messages: 2_000_000, runs: 5, minRunMs: 300 } as const;
const NACT = { warmupMessages: 50_000, messages: 300_000, runs: 3 } as const;
const RTT_ROUNDS = 3;
const RTT: RoundTripPlan = { warmup: 2_000, samples: 4_000 };
/** Stay under 1,024 restarts per child: see the report on backoffDelay with initialMs 0. */
const CRASHES = { warmup: 20, crashes: 200 } as const;

/**
 * Latency contestants take turns, round after round, each with a fresh worker, so drift
 * of the machine (heap, CPU frequency, neighbours) spreads evenly over them.
 */
async function interleavedLatency(
  contestants: readonly { name: string; samples: () => Promise<number[]> }[],
): Promise<Figure[]> {
  const pooled = contestants.map(() => [] as number[]);
  const errors: (string | undefined)[] = contestants.map(() => undefined);
  for (let round = 0; round < RTT_ROUNDS; round++) {
    for (const [index, contestant] of contestants.entries()) {
      if (errors[index] !== undefined) continue;
      const figure = await measure(`${contestant.name}, round ${round + 1}/${RTT_ROUNDS}`, async () => {
        pooled[index]?.push(...(await contestant.samples()));
        return { kind: 'latency', unit: 'µs', summary: summarize([]) };
      });
      if (figure.kind === 'failed') errors[index] = figure.error;
    }
  }
  return contestants.map((_, index) => {
    const error = errors[index];
    return error !== undefined
      ? { kind: 'failed', error }
      : { kind: 'latency', unit: 'µs', summary: summarize(pooled[index] ?? []), extra: { rounds: RTT_ROUNDS } };
  });
}

function extra(figure: Figure, key: string): string {
  return figure.kind !== 'failed' && figure.kind !== 'skipped' && figure.extra && key in figure.extra ? String(figure.extra[key]) : '?';
}

async function run(): Promise<SuiteResult> {
  const rows: Row[] = [];

  const local1 = await measure('local tell, 1 actor (ours)', () => localTell({ ...FAST, ...ONE_ACTOR }));
  rows.push(
    makeRow(
      'local tell, 1 actor',
      local1,
      [
        { name: 'bare loop', figure: await measure('bare loop, 1 actor', () => bareLoopTell({ ...FAST, ...ONE_ACTOR })) },
        { name: 'nact', figure: await measure('nact, 1 actor', () => nactTell({ ...NACT, ...ONE_ACTOR })) },
      ],
      { stat: 'msgs/s', op: '>=', value: 3_000_000, unit: 'msgs/s' },
    ),
  );

  const localMany = await measure(`local tell, ${MANY} actors (ours)`, () => localTell({ ...FAST, ...MANY_ACTORS }));
  rows.push(
    makeRow(
      `local tell, ${MANY.toLocaleString('en-US')} actors`,
      localMany,
      [
        { name: 'bare loop', figure: await measure(`bare loop, ${MANY} actors`, () => bareLoopTell({ ...FAST, ...MANY_ACTORS })) },
        { name: 'nact', figure: await measure(`nact, ${MANY} actors`, () => nactTell({ ...NACT, ...MANY_ACTORS })) },
      ],
      { stat: 'msgs/s', op: '>=', value: 2_000_000, unit: 'msgs/s' },
    ),
  );

  rows.push(
    makeRow(
      'cross-thread tell, 1 thread actor',
      await measure('cross-thread tell (ours)', () => crossThreadTell({ warmupMessages: 200_000, messages: 1_000_000, runs: 3, chunk: 10_000 })),
      [
        {
          name: 'bare port, 1 msg/post',
          figure: await measure('bare port, 1 msg/post', () =>
            bareWorkerTell({ warmupMessages: 50_000, messages: 300_000, runs: 3, chunk: 10_000, perPost: 1 }),
          ),
        },
        {
          name: 'bare port, 100 msgs/post',
          figure: await measure('bare port, 100 msgs/post', () =>
            bareWorkerTell({ warmupMessages: 200_000, messages: 1_000_000, runs: 3, chunk: 10_000, perPost: 100 }),
          ),
        },
      ],
      { stat: 'msgs/s', op: '>=', value: 1_000_000, unit: 'msgs/s' },
    ),
  );

  const [askOurs, askBare, askPiscina] = await interleavedLatency([
    { name: 'cross-thread ask (ours)', samples: () => crossThreadAskSamples(RTT) },
    { name: 'bare port round trip', samples: () => bareWorkerRoundTripSamples(RTT) },
    { name: 'piscina run() round trip', samples: () => piscinaRoundTripSamples(RTT) },
  ]);
  rows.push(
    makeRow(
      'cross-thread ask round trip',
      askOurs as Figure,
      [
        { name: 'bare port', figure: askBare as Figure },
        { name: 'piscina run()', figure: askPiscina as Figure },
      ],
      { stat: 'p50', op: '<', value: 60, unit: 'µs' },
    ),
  );

  const localCrash = await measure('crash → serving, local throw', () => crashToServing('local-throw', CRASHES));
  const threadCrash = await measure('crash → serving, thread throw', () => crashToServing('thread-throw', CRASHES));
  const workerCrash = await measure('crash → serving, worker exit', () => crashToServing('worker-exit', CRASHES));
  const pm2 = await measure('PM2 kill -9 → serving', () => pm2KillToServing({ warmup: 2, kills: 20, settleMs: 150 }));
  const pm2Yardstick = [{ name: 'PM2 kill -9 → HTTP', figure: pm2 }];
  rows.push(makeRow('crash → serving: local actor throws', localCrash, pm2Yardstick, { stat: 'p99', op: '<', value: 1, unit: 'ms' }));
  rows.push(makeRow('crash → serving: thread actor throws', threadCrash, pm2Yardstick, null));
  rows.push(makeRow('crash → serving: worker dies', workerCrash, pm2Yardstick, { stat: 'p99', op: '<', value: 80, unit: 'ms' }));

  const notes = [
    'Throughput: one warm-up run, then the MEDIAN of the timed runs (every run is in the JSON). A run lasts from the first',
    'send until the actors have processed every message (counted by the actors, or asked of the thread actor at the end).',
    `Local tells use default mailboxes (capacity 10,000, reject), sent in chunks with a setImmediate yield between them and`,
    `flow control (≤ ${ONE_ACTOR.maxBacklog.toLocaleString('en-US')} / ${MANY_ACTORS.maxBacklog.toLocaleString('en-US')} unprocessed); ${MANY.toLocaleString('en-US')} actors are targeted round-robin. Zero refusals and exact per-actor counts are asserted.`,
    'Every message is a fresh {type, seq} object, for ours and the yardsticks alike.',
    `Round trips: ${RTT_ROUNDS} interleaved rounds per contestant, each a fresh worker, ${RTT.warmup.toLocaleString('en-US')} warm-up then ${RTT.samples.toLocaleString('en-US')} timed sequential request/replies of a {type, seq} object (samples pooled).`,
    `Crash → serving: ${CRASHES.crashes} crashes after ${CRASHES.warmup} warm-up, backoff 0; from the crash message until the first ask answered by`,
    `a new incarnation (asks retried; failed asks: local ${extra(localCrash, 'failedAsks')}, thread ${extra(threadCrash, 'failedAsks')}, worker ${extra(workerCrash, 'failedAsks')}).`,
    'PM2: kill -9 of a PM2-managed node HTTP server until a new pid answers HTTP (20 kills after 2 warm-up).',
  ];
  return {
    rows,
    notes,
    info: {
      spawnMs: { oneActor: extra(local1, 'spawnMs'), manyActors: extra(localMany, 'spawnMs') },
    },
  };
}

export const actorSuite: Suite = { name: 'actors', title: 'Actor core: messaging and crash recovery', run };
