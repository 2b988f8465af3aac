/**
 * Yardstick: a bare worker_threads Worker and its MessagePort, no runtime. Throughput with
 * one message per postMessage and with a hand-batched array of 100; a request/response
 * round trip.
 */
import { Worker } from 'node:worker_threads';
import type { ThroughputFigure } from '../../support/suite.js';
import { nowNs, yieldToLoop } from '../../support/timing.js';
import { measureRoundTrips, type RoundTripPlan } from '../cross-thread.js';
import { COUNT, inc, ping, type Inc, type Ping } from '../messages.js';
import { throughput, type ThroughputPlan } from '../produce.js';

// Plain CommonJS, evaluated in the worker: the same under tsx and compiled.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
let count = 0;
const handle = (message) => {
  if (message.type === 'inc') count++;
  else if (message.type === 'count') parentPort.postMessage(count);
  else parentPort.postMessage(message);
};
parentPort.on('message', (message) => {
  if (Array.isArray(message)) for (const item of message) handle(item);
  else handle(message);
});
`;

class BareWorker {
  readonly #worker = new Worker(WORKER_SOURCE, { eval: true });
  #waiting: ((value: unknown) => void) | undefined;

  constructor() {
    this.#worker.on('message', (value: unknown) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.(value);
    });
  }

  post(message: unknown): void {
    this.#worker.postMessage(message);
  }

  request(message: unknown): Promise<unknown> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.#worker.postMessage(message);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

export interface BareTellPlan extends ThroughputPlan {
  perPost: number;
  chunk: number;
}

export async function bareWorkerTell(plan: BareTellPlan): Promise<ThroughputFigure> {
  const worker = new BareWorker();
  try {
    let counted = (await worker.request(COUNT)) as number;
    return await throughput(plan, async (messages) => {
      const started = nowNs();
      let sent = 0;
      while (sent < messages) {
        const end = Math.min(messages, sent + plan.chunk);
        if (plan.perPost === 1) {
          for (; sent < end; sent++) worker.post(inc(sent));
        } else {
          while (sent < end) {
            const batch: Inc[] = [];
            for (let i = 0; i < plan.perPost && sent < end; i++, sent++) batch.push(inc(sent));
            worker.post(batch);
          }
        }
        await yieldToLoop();
      }
      const count = (await worker.request(COUNT)) as number;
      const elapsedNs = nowNs() - started;
      if (count - counted !== messages) throw new Error(`bare worker counted ${count - counted} of ${messages}`);
      counted = count;
      return elapsedNs;
    });
  } finally {
    await worker.close();
  }
}

/** Round trips of one message through a bare worker that echoes it, in µs. */
export async function bareWorkerRoundTripSamples(plan: RoundTripPlan): Promise<number[]> {
  const worker = new BareWorker();
  try {
    return await measureRoundTrips(plan, async (seq) => {
      const reply = (await worker.request(ping(seq))) as Ping;
      if (reply.seq !== seq) throw new Error(`bare echo answered ${reply.seq} to ${seq}`);
    });
  } finally {
    await worker.close();
  }
}
