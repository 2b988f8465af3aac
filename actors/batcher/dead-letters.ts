import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { Clock } from '../../src/clock.js';
import type { Batch } from './batch.js';
import type { BatchStore, DeadLetter } from './batch-store.js';
import type { BatchHandoff } from './batcher.js';

/**
 * What an operator can do with dead letters (batches whose handler kept failing): list them,
 * deliver one again (it goes back in flight, leased to this runtime, and to the pipeline with
 * a fresh attempt count), or drop one for good.
 */
export class DeadLetters {
  readonly #store: BatchStore;
  readonly #pipeline: ActorRef<BatchHandoff, unknown>;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #clock: Clock;

  constructor(deps: { store: BatchStore; pipeline: ActorRef<BatchHandoff, unknown>; owner: string; leaseMs: number; clock: Clock }) {
    this.#store = deps.store;
    this.#pipeline = deps.pipeline;
    this.#owner = deps.owner;
    this.#leaseMs = deps.leaseMs;
    this.#clock = deps.clock;
  }

  list(limit: number): Promise<DeadLetter[]> {
    return this.#store.deadLetters(limit);
  }

  count(): Promise<number> {
    return this.#store.deadLetterCount();
  }

  /**
   * The batch back in flight, or undefined if there is no such dead letter. It joins the end
   * of its conversation's batches (ordering.ts): handed to the pipeline now if it is the
   * oldest, else delivered once the earlier ones are. If the pipeline does not take it now,
   * it stays in flight and the recovery sweep delivers it once its lease runs out: it is
   * never lost.
   */
  async retry(batchId: string): Promise<{ batch: Batch; queued: boolean } | undefined> {
    const retried = await this.#store.retryDeadLetter(batchId, { owner: this.#owner, leaseUntil: this.#clock.now() + this.#leaseMs });
    if (!retried) return undefined;
    const { batch } = retried;
    return { batch, queued: retried.deliverable && this.#pipeline.tell({ type: 'batch', batch }) };
  }

  drop(batchId: string): Promise<boolean> {
    return this.#store.dropDeadLetter(batchId);
  }
}
