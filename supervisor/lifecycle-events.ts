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

const ALL_TYPES: readonly LifecycleEventType[] = ['started', 'failed', 'restarting', 'stopped', 'gave_up', 'escalated'];

/**
 * Lifecycle events of one runtime. A listener is a function or an actor (the event is
 * told to it); a listener that throws is logged and kept, never allowed to break a restart.
 */
export class LifecycleEvents {
  readonly #listeners = new Set<Listener>();
  /** How many listeners take each type: an event nobody takes is not even built (see `wants`). */
  readonly #takers = new Map<LifecycleEventType, number>();
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
    const taken = types ?? ALL_TYPES;
    this.#listeners.add(filtered);
    for (const type of taken) this.#takers.set(type, (this.#takers.get(type) ?? 0) + 1);
    return () => {
      if (!this.#listeners.delete(filtered)) return false;
      for (const type of taken) this.#takers.set(type, (this.#takers.get(type) ?? 1) - 1);
      return true;
    };
  }

  /** True if some listener takes events of `type`: a hot path (a dynamic child's start) skips building one nobody takes. */
  wants(type: LifecycleEventType): boolean {
    return (this.#takers.get(type) ?? 0) > 0;
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
