/**
 * Yardstick: the least an actor can cost on one event loop. A hand-written array queue
 * per actor, drained in one go on a microtask; no supervision, bounds, asks or fairness.
 */
import type { ThroughputFigure } from '../../support/suite.js';
import { inc, type CounterMessage } from '../messages.js';
import { produce, throughput, type ThroughputPlan } from '../produce.js';

class BareActor<M> {
  readonly #queue: (M | undefined)[] = [];
  readonly #handle: (message: M) => void;
  #scheduled = false;

  constructor(handle: (message: M) => void) {
    this.#handle = handle;
  }

  tell(message: M): boolean {
    this.#queue.push(message);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#drain);
    }
    return true;
  }

  readonly #drain = (): void => {
    const queue = this.#queue;
    for (let i = 0; i < queue.length; i++) {
      const message = queue[i] as M;
      queue[i] = undefined;
      this.#handle(message);
    }
    queue.length = 0;
    this.#scheduled = false;
  };
}

export interface BareLoopPlan extends ThroughputPlan {
  actors: number;
  chunk: number;
  maxBacklog: number;
}

export async function bareLoopTell(plan: BareLoopPlan): Promise<ThroughputFigure> {
  const { actors } = plan;
  let total = 0;
  const perActor = new Array<number>(actors).fill(0);
  const refs = Array.from({ length: actors }, (_, index) => {
    let count = 0;
    return new BareActor<CounterMessage>((message) => {
      if (message.type === 'inc') {
        count++;
        total++;
        perActor[index] = count;
      }
    });
  });
  let sent = 0;
  const figure = await throughput(plan, async (messages) => {
    const { elapsedNs } = await produce({
      total: messages,
      chunk: plan.chunk,
      maxBacklog: plan.maxBacklog,
      send: actors === 1 ? (seq) => (refs[0] as BareActor<CounterMessage>).tell(inc(seq)) : (seq) => (refs[seq % actors] as BareActor<CounterMessage>).tell(inc(seq)),
      processed: () => total,
    });
    sent += messages;
    return elapsedNs;
  });
  if (total !== sent || perActor.some((count) => count !== sent / actors)) throw new Error(`bare loop counted ${total} of ${sent}`);
  return figure;
}
