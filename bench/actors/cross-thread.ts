/**
 * Ours: messages from the main thread to an actor placed in a worker thread. The runtime
 * coalesces the posts of one microtask (up to 4,096 tells) into one postMessage.
 */
import { thread } from '../../supervisor/child-spec.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { siblingModule } from '../../src/thread/module-url.js';
import type { ThroughputFigure } from '../support/suite.js';
import { nowNs, within, yieldToLoop } from '../support/timing.js';
import { startBenchSystem } from './bench-system.js';
import { COUNT, inc, ping, type CounterMessage, type Ping } from './messages.js';
import { throughput, type ThroughputPlan } from './produce.js';

const THREAD_ACTORS = siblingModule(import.meta.url, './thread-actors.js');

export interface CrossThreadTellPlan extends ThroughputPlan {
  chunk: number;
}

/** Tells in chunks (yielding between them), then asks the actor its count: the run ends when it has processed all. */
export async function crossThreadTell(plan: CrossThreadTellPlan): Promise<ThroughputFigure> {
  const system = await startBenchSystem([
    { kind: 'actor', id: 'counter', behaviour: thread({ module: THREAD_ACTORS, exportName: 'counterActor' }) },
  ]);
  try {
    const ref = system.lookup<CounterMessage, number>('/counter') as ActorRef<CounterMessage, number>;
    let counted = await ref.ask(COUNT);
    return await throughput(plan, async (messages) => {
      const started = nowNs();
      // No flow control across the thread: the count asked at the end is the measure.
      let refused = 0;
      for (let sent = 0; sent < messages; ) {
        const end = Math.min(messages, sent + plan.chunk);
        for (; sent < end; sent++) if (!ref.tell(inc(sent))) refused++;
        await yieldToLoop();
      }
      const count = await ref.ask(COUNT, { timeoutMs: 120_000 });
      const elapsedNs = nowNs() - started;
      if (refused > 0) throw new Error(`invalid: ${refused} tells refused on the main thread`);
      if (count - counted !== messages) {
        throw new Error(`invalid: the thread actor counted ${count - counted} of ${messages} (its worker-side mailbox refused the rest)`);
      }
      counted = count;
      return elapsedNs;
    });
  } finally {
    await system.shutdown();
  }
}

export interface RoundTripPlan {
  warmup: number;
  samples: number;
}

/** Sequential request/replies, one in flight at a time, after `warmup` untimed ones; the latency of each in µs. */
export async function measureRoundTrips(plan: RoundTripPlan, roundTrip: (seq: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < plan.warmup; i++) await roundTrip(i);
  const samples = new Array<number>(plan.samples);
  for (let i = 0; i < plan.samples; i++) {
    const started = nowNs();
    await roundTrip(i);
    samples[i] = (nowNs() - started) / 1e3;
  }
  return samples;
}

/** Round trips of `ask` to an echoing thread actor, in µs. */
export async function crossThreadAskSamples(plan: RoundTripPlan): Promise<number[]> {
  const system = await startBenchSystem([
    { kind: 'actor', id: 'echo', behaviour: thread({ module: THREAD_ACTORS, exportName: 'echoActor' }) },
  ]);
  try {
    const ref = system.lookup<Ping, Ping>('/echo') as ActorRef<Ping, Ping>;
    return await within(
      measureRoundTrips(plan, async (seq) => {
        const reply = await ref.ask(ping(seq));
        if (reply.seq !== seq) throw new Error(`echo answered ${reply.seq} to ${seq}`);
      }),
      120_000,
      'cross-thread ask round trips',
    );
  } finally {
    await system.shutdown();
  }
}
