import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { ActorPath } from './actor-path.js';
import type { ActorRef } from './actor-ref.js';
import type { Timers } from './timers.js';

/** Why an incarnation ended. `shutdown` is a stop ordered by the supervisor. */
export type ExitReason =
  | { readonly kind: 'normal' }
  | { readonly kind: 'shutdown' }
  | { readonly kind: 'failure'; readonly error: Error };

export const NORMAL: ExitReason = Object.freeze({ kind: 'normal' });
export const SHUTDOWN: ExitReason = Object.freeze({ kind: 'shutdown' });

export interface ActorContext<M> {
  readonly path: string;
  readonly self: ActorRef<M, unknown>;
  readonly log: Logger;
  readonly clock: Clock;
  /** Timers of this incarnation; all are cancelled when it ends, so a restart never sees a stale tick. */
  readonly timers: Timers<M>;
  /** Ends this incarnation normally once the current message is handled. */
  stop(): void;
  /** Fails this incarnation, exactly as if `receive` had thrown `error`. */
  fail(error: Error): void;
  /** Actor-specific state shown in the tree node's `detail` (for example a session's `pairing`). */
  setDetail(detail: Readonly<Record<string, unknown>> | undefined): void;
  /**
   * An actor of the same runtime by its typed path (src/tree-paths.ts); from a worker thread
   * the reference crosses threads. Actors of other features are better reached through the
   * typed links they get at spawn.
   */
  lookup<N, S>(path: ActorPath<N, S>): ActorRef<N, S> | undefined;
}

/**
 * An actor's behaviour. A fresh object is created for every incarnation, so state held
 * in it starts clean after a restart. `receive` handles one message at a time: an async
 * `receive` is awaited before the next message. Its return value answers an `ask`.
 */
export interface Behaviour<M, R = void> {
  start?(ctx: ActorContext<M>): void | Promise<void>;
  receive(message: M, ctx: ActorContext<M>): R | Promise<R>;
  stop?(ctx: ActorContext<M>, reason: ExitReason): void | Promise<void>;
}

export type BehaviourFactory<M, R = void> = () => Behaviour<M, R>;

/**
 * The module export a thread-placed actor is created from, inside its worker thread.
 * `args` crosses the thread boundary by structured clone.
 */
export type ThreadBehaviourFactory<A, M, R = void> = (args: A) => Behaviour<M, R>;
