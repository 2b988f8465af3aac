/** Yardstick: the same counting actors in nact 7.6.2 (one message per setImmediate per actor). */
import { dispatch, spawn, start, stop } from 'nact';
import type { ThroughputFigure } from '../../support/suite.js';
import { inc, type CounterMessage } from '../messages.js';
import { produce, throughput, type ThroughputPlan } from '../produce.js';

export interface NactPlan extends ThroughputPlan {
  actors: number;
  chunk: number;
  maxBacklog: number;
}

export async function nactTell(plan: NactPlan): Promise<ThroughputFigure> {
  const { actors } = plan;
  const system = start();
  let total = 0;
  const perActor = new Array<number>(actors).fill(0);
  try {
    const refs = Array.from({ length: actors }, (_, index) =>
      spawn(
        system,
        (count: number, message: CounterMessage) => {
          if (message.type !== 'inc') return count;
          total++;
          perActor[index] = count + 1;
          return count + 1;
        },
        `a${index}`,
        { initialState: 0 },
      ),
    );
    let sent = 0;
    const figure = await throughput(plan, async (messages) => {
      const { elapsedNs } = await produce({
        total: messages,
        chunk: plan.chunk,
        maxBacklog: plan.maxBacklog,
        send: (seq) => {
          dispatch(refs[seq % actors] as (typeof refs)[number], inc(seq));
          return true;
        },
        processed: () => total,
      });
      sent += messages;
      return elapsedNs;
    });
    if (total !== sent || perActor.some((count) => count !== sent / actors)) throw new Error(`nact counted ${total} of ${sent}`);
    return figure;
  } finally {
    stop(system);
  }
}
