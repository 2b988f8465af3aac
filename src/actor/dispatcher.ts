import { RingQueue } from './ring-queue.js';

/** Something with messages to process: an actor cell. */
export interface Runnable {
  /** Processes at most `max` messages. */
  runSlice(max: number): void;
  /** True when it still has messages and is not waiting on an async receive. */
  readonly wantsMore: boolean;
  /** Owned by the dispatcher: true while the runnable sits in the ready queue or runs. */
  scheduled: boolean;
}

export interface DispatcherOptions {
  /** Messages one actor may process before the next ready actor gets a turn. */
  throughput: number;
  /** Actor turns per event-loop pass before yielding to I/O with setImmediate. */
  turnsPerPass: number;
}

export const DEFAULT_DISPATCHER: DispatcherOptions = { throughput: 128, turnsPerPass: 256 };

/**
 * Runs ready actors. The first pass after idle starts on a microtask (low latency for a
 * lone message); long runs yield with setImmediate so a busy actor graph cannot starve
 * sockets and timers. One dispatcher per ActorSystem (and one per worker thread).
 */
export class Dispatcher {
  readonly #ready = new RingQueue<Runnable>(64);
  readonly #options: DispatcherOptions;
  #scheduled = false;
  #turnsThisPass = 0;

  constructor(options: Partial<DispatcherOptions> = {}) {
    this.#options = { ...DEFAULT_DISPATCHER, ...options };
  }

  schedule(runnable: Runnable): void {
    if (runnable.scheduled) return;
    runnable.scheduled = true;
    this.#ready.push(runnable);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#pass);
    }
  }

  readonly #pass = (): void => {
    const { throughput, turnsPerPass } = this.#options;
    const ready = this.#ready;
    this.#turnsThisPass = 0;
    while (ready.length > 0 && this.#turnsThisPass < turnsPerPass) {
      const runnable = ready.shift() as Runnable;
      this.#turnsThisPass++;
      runnable.runSlice(throughput);
      if (runnable.wantsMore) ready.push(runnable);
      else runnable.scheduled = false;
    }
    if (ready.length > 0) setImmediate(this.#pass);
    else this.#scheduled = false;
  };
}
