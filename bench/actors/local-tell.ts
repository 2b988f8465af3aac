/**
 * Ours: local `tell` throughput, to one actor or round-robin over many, on the main
 * event loop, default mailboxes (capacity 10,000, policy reject).
 */
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ThroughputFigure } from '../support/suite.js';
import { nowNs } from '../support/timing.js';
import { startBenchSystem } from './bench-system.js';
import { inc, type CounterMessage } from './messages.js';
import { produce, throughput, type ThroughputPlan } from './produce.js';

/** What every counter actor of one bench adds to, so the producer can tell when all is processed. */
export interface Tally {
  total: number;
  perActor: number[];
}

export function counterSpec(id: string, index: number, tally: Tally): ChildSpec {
  return {
    kind: 'actor',
    id,
    behaviour: local<CounterMessage, number>(() => {
      let count = 0;
      return {
        receive(message) {
          if (message.type === 'inc') {
            count++;
            tally.total++;
            tally.perActor[index] = (tally.perActor[index] ?? 0) + 1;
          }
          return count;
        },
      };
    }),
  };
}

export interface LocalTellPlan extends ThroughputPlan {
  actors: number;
  chunk: number;
  maxBacklog: number;
}

/** Each run's message count must be a multiple of `actors` so every actor gets the same share. */
export async function localTell(plan: LocalTellPlan): Promise<ThroughputFigure> {
  const { actors } = plan;
  const tally: Tally = { total: 0, perActor: new Array<number>(actors).fill(0) };
  const ids = Array.from({ length: actors }, (_, i) => `a${i}`);
  const spawnStarted = nowNs();
  const system = await startBenchSystem(
    actors === 1
      ? [counterSpec('a0', 0, tally)]
      : [{ kind: 'supervisor', id: 'pool', strategy: 'one_for_one', children: ids.map((id, i) => counterSpec(id, i, tally)) }],
  );
  const spawnMs = (nowNs() - spawnStarted) / 1e6;
  try {
    const refs = ids.map((id) => system.lookup<CounterMessage, number>(actors === 1 ? `/${id}` : `/pool/${id}`) as ActorRef<CounterMessage, number>);
    let sentTotal = 0;
    let refusedTotal = 0;
    const run = async (messages: number): Promise<number> => {
      const { elapsedNs, refused } = await produce({
        total: messages,
        chunk: plan.chunk,
        maxBacklog: plan.maxBacklog,
        send: actors === 1 ? (seq) => (refs[0] as ActorRef<CounterMessage, number>).tell(inc(seq)) : (seq) => (refs[seq % actors] as ActorRef<CounterMessage, number>).tell(inc(seq)),
        processed: () => tally.total,
      });
      sentTotal += messages;
      refusedTotal += refused;
      if (refused > 0) throw new Error(`invalid: ${refused} of ${messages} tells were refused`);
      return elapsedNs;
    };
    const figure = await throughput(plan, run, () => ({ actors, spawnMs: Math.round(spawnMs), refused: refusedTotal }));
    const expected = sentTotal / actors;
    const wrong = tally.perActor.findIndex((count) => count !== expected);
    if (tally.total !== sentTotal || wrong >= 0) {
      throw new Error(`invalid: actors counted ${tally.total} of ${sentTotal} messages (actor a${wrong} has ${tally.perActor[wrong]}, expected ${expected})`);
    }
    return figure;
  } finally {
    await system.shutdown();
  }
}
