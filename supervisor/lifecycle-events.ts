import type { Logger } from 'pino';
import type { ActorRef } from '../src/actor/actor-ref.js';
import type { NodeError } from './tree-node.js';

export type LifecycleEvent =
  | { readonly type: 'started'; readonly path: string; readonly at: number; readonly restarts: number }
  | { readonly type: 'failed'; readonly path: string; readonly at: number; readonly error: NodeError }
  | {
      readonly type: 'restarting';
      readonly path: string;
      readonly at: number;
      readonly attempt: number;
      readonly delayMs: number;
      /** Every child this restart takes down and brings back (the strategy's set), in start order. */
      readonly members: readonly string[];
      readonly manual: boolean;
    }
  | { readonly type: 'stopped'; readonly path: string; readonly at: number; readonly reason: 'normal' | 'failure' }
  | { readonly type: 'gave_up'; readonly path: string; readonly at: number; readonly attempts: number }
  | { readonly type: 'escalated'; readonly path: string; readonly at: number; readonly reason: string };

export type LifecycleEventType = LifecycleEvent['type'];

type Listener = (event: LifecycleEvent) => void;

/**
 * Lifecycle events of one runtime. A listener is a function or an actor (the event is
 * told to it); a listener that throws is logged and kept, never allowed to break a restart.
 */
export class LifecycleEvents {
  readonly #listeners = new Set<Listener>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  subscribe(
    listener: Listener | ActorRef<LifecycleEvent, unknown>,
    types?: readonly LifecycleEventType[],
  ): () => void {
    const deliver: Listener = typeof listener === 'function' ? listener : (event) => void listener.tell(event);
    const filtered: Listener = types ? (event) => types.includes(event.type) && deliver(event) : deliver;
    this.#listeners.add(filtered);
    return () => this.#listeners.delete(filtered);
  }

  publish(event: LifecycleEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.warn({ err: error, event: event.type }, 'lifecycle listener threw');
      }
    }
  }
}
