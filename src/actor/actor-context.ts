import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { ActorPath } from './actor-path.js';
import type { ActorRef } from './actor-ref.js';
import type { ActorContext } from './behaviour.js';
import type { ActorTimers } from './timers.js';

/** The cell operations a context forwards to, stamped with the context's incarnation. */
export interface ContextHost<M> {
  readonly path: string;
  readonly logger: Logger;
  readonly self: ActorRef<M, unknown>;
  requestStop(incarnation: number): void;
  requestFail(incarnation: number, error: Error): void;
  setDetail(incarnation: number, detail: Readonly<Record<string, unknown>> | undefined): void;
}

/**
 * One incarnation's view of its cell. Every operation carries the incarnation number, so a
 * context kept by a callback after a restart cannot stop, fail or describe the new incarnation.
 */
export class Context<M> implements ActorContext<M> {
  readonly timers: ActorTimers<M>;
  readonly clock: Clock;
  readonly #host: ContextHost<M>;
  readonly #incarnation: number;
  readonly #lookup: <N, S>(path: string) => ActorRef<N, S> | undefined;

  constructor(
    host: ContextHost<M>,
    incarnation: number,
    timers: ActorTimers<M>,
    clock: Clock,
    lookup: <N, S>(path: string) => ActorRef<N, S> | undefined,
  ) {
    this.#host = host;
    this.#incarnation = incarnation;
    this.timers = timers;
    this.clock = clock;
    this.#lookup = lookup;
  }

  get path(): string {
    return this.#host.path;
  }

  get self(): ActorRef<M, unknown> {
    return this.#host.self;
  }

  get log(): Logger {
    return this.#host.logger;
  }

  stop(): void {
    this.#host.requestStop(this.#incarnation);
  }

  fail(error: Error): void {
    this.#host.requestFail(this.#incarnation, error);
  }

  setDetail(detail: Readonly<Record<string, unknown>> | undefined): void {
    this.#host.setDetail(this.#incarnation, detail);
  }

  lookup<N, S>(path: ActorPath<N, S>): ActorRef<N, S> | undefined {
    return this.#lookup<N, S>(path);
  }
}
