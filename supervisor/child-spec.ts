import type { ResourceLimits } from 'node:worker_threads';
import type { BehaviourFactory } from '../src/actor/behaviour.js';
import type { MailboxOptions } from '../src/actor/mailbox.js';
import type { BackoffOptions } from './backoff.js';
import type { IntensityOptions } from './restart-intensity.js';
import type { DependencyOptions, RestartType } from './restart-rule.js';
import type { Strategy } from './strategy.js';

/** An actor on the main event loop; `create` may close over live dependencies. */
export interface LocalPlacement<M, R> {
  readonly placement: 'local';
  readonly create: BehaviourFactory<M, R>;
}

/**
 * An actor in a worker thread, created there from `module`'s export `exportName` called
 * with `args` (structured-cloned). Actors with the same `group` share a worker; by default
 * each thread actor has its own. `resourceLimits` apply to the group's worker.
 */
export interface ThreadPlacement {
  readonly placement: 'thread';
  readonly module: string | URL;
  readonly exportName: string;
  readonly args?: unknown;
  readonly group?: string;
  readonly resourceLimits?: ResourceLimits;
}

interface CommonSpec {
  /** Unique among its siblings; becomes the last segment of the path. No '/'. */
  readonly id: string;
  readonly restart?: RestartType;
  /** Per-child backoff; unset fields come from the runtime's defaults (BACKOFF_* config). */
  readonly backoff?: Partial<BackoffOptions>;
  /** What to do when `backoff.maxAttempts` is exhausted: fail the supervisor (the default) or leave this child down. */
  readonly onGiveUp?: 'escalate' | 'stay_down';
  /**
   * This child owns a connection to something outside the process: its outages are retried
   * for ever at the capped backoff and never escalate (supervisor/restart-rule.ts).
   */
  readonly dependency?: DependencyOptions;
  /** Ordered stop budget: OTP's defaults are 5 s for a worker and unbounded for a supervisor. */
  readonly shutdownTimeoutMs?: number;
  readonly startTimeoutMs?: number;
}

export interface ActorSpec<M = unknown, R = unknown> extends CommonSpec {
  readonly kind: 'actor';
  readonly behaviour: LocalPlacement<M, R> | ThreadPlacement;
  readonly mailbox?: Partial<MailboxOptions>;
}

export interface SupervisorSpec<A = unknown> extends CommonSpec {
  readonly kind: 'supervisor';
  readonly strategy: Strategy;
  readonly intensity?: Partial<IntensityOptions>;
  /** Started in order, stopped in reverse order. */
  readonly children?: readonly ChildSpec[];
  /**
   * Dynamic children (OTP's simple_one_for_one): `startChild(id, args)` builds a spec from
   * this template. They are removed from the tree once they end and are not restarted.
   */
  template?(id: string, args: A): ChildSpec;
}

/** The tree erases message types; each ref is typed again where it is used. */
export type ChildSpec = ActorSpec<unknown, unknown> | SupervisorSpec<unknown>;

export function local<M, R = void>(create: BehaviourFactory<M, R>): LocalPlacement<M, R> {
  return { placement: 'local', create };
}

export function thread(options: Omit<ThreadPlacement, 'placement'>): ThreadPlacement {
  return { placement: 'thread', ...options };
}
