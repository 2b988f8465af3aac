import { ActorStoppedError } from '../errors.js';
import type { ActorPath } from './actor-path.js';
import type { ActorRef, AskOptions } from './actor-ref.js';

/**
 * A typed reference handed to an actor at spawn, to an actor of another feature. It resolves
 * its path when used (the target may be spawned after the holder, and a static child's ref is
 * the same for the runtime's life): `tell` answers false and `ask` rejects with
 * WAR_ERR_ACTOR_STOPPED while nothing lives there.
 */
export class Link<M, R = unknown> implements ActorRef<M, R> {
  readonly path: ActorPath<M, R>;
  readonly #links: Links;

  constructor(path: ActorPath<M, R>, links: Links) {
    this.path = path;
    this.#links = links;
  }

  /** A registry lookup per use (a flush, a reply): no closure, no cached ref that could outlive its actor. */
  #ref(): ActorRef<M, R> | undefined {
    return this.#links.resolve(this.path) as ActorRef<M, R> | undefined;
  }

  tell(message: M): boolean {
    return this.#ref()?.tell(message) ?? false;
  }

  ask(message: M, options?: AskOptions): Promise<R> {
    const ref = this.#ref();
    return ref ? ref.ask(message, options) : Promise.reject(new ActorStoppedError(this.path));
  }
}

/** What links resolve against: the actor system, once it exists. */
export interface LinkTarget {
  lookup(path: string): ActorRef<unknown, unknown> | undefined;
}

/**
 * Makes the links of one runtime before its actor system exists (features are composed
 * first, and their specs are the system's input); `bind` hands them the system once it
 * does. One per runtime, never module-level.
 */
export class Links<T extends LinkTarget = LinkTarget> {
  #target: T | undefined;

  bind(target: T): void {
    this.#target = target;
  }

  /** The bound system; throws if used before `bind` (a composition bug). */
  get target(): T {
    if (!this.#target) throw new Error('links used before the actor system was bound');
    return this.#target;
  }

  /** The actor at `path`, or undefined (also before `bind`). */
  resolve(path: string): ActorRef<unknown, unknown> | undefined {
    return this.#target?.lookup(path);
  }

  to<M, R>(path: ActorPath<M, R>): Link<M, R> {
    return new Link(path, this as Links);
  }
}
