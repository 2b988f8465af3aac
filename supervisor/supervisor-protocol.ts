import type { Logger } from 'pino';
import type { CellEnvironment } from '../src/actor/actor-cell.js';
import type { ExitReason } from '../src/actor/behaviour.js';
import type { Clock } from '../src/clock.js';
import type { BackoffOptions } from './backoff.js';
import type { ChildSpec } from './child-spec.js';
import type { LifecycleSink } from './lifecycle-events.js';
import type { ManagedChild } from './managed-child.js';
import type { IntensityOptions } from './restart-intensity.js';

export interface SupervisionDefaults {
  backoff: BackoffOptions;
  intensity: IntensityOptions;
  /** Ordered-stop budget of an actor child (a supervisor child waits for its whole subtree). */
  actorShutdownTimeoutMs: number;
}

/** What a supervisor gets from its runtime at spawn: no globals. */
export interface SupervisorEnvironment {
  readonly cell: CellEnvironment;
  readonly clock: Clock;
  readonly random: () => number;
  readonly events: LifecycleSink;
  readonly defaults: SupervisionDefaults;
  readonly logger: Logger;
  /** Builds and registers the child for `spec` at `path`. */
  createChild(spec: ChildSpec, path: string): ManagedChild;
  /** Disposes and unregisters a child that will not come back. */
  release(child: ManagedChild): void;
}

export type SupervisorMessage =
  /** `slot` tells a child apart from a later one with the same id (dynamic children come back under their id). */
  | { readonly type: 'child_exit'; readonly id: string; readonly slot: number; readonly incarnation: number; readonly reason: ExitReason }
  | { readonly type: 'restart_due'; readonly leaderId: string }
  | { readonly type: 'start_child'; readonly spec: ChildSpec }
  | { readonly type: 'start_from_template'; readonly id: string; readonly args: unknown }
  | { readonly type: 'stop_child'; readonly id: string }
  | { readonly type: 'restart_child'; readonly id: string };

/** Requests answer with a value instead of throwing: a throw in `receive` would fail the supervisor. */
export type SupervisorReply =
  | { readonly ok: true; readonly child?: ManagedChild }
  | { readonly ok: false; readonly error: Error };

export const OK: SupervisorReply = Object.freeze({ ok: true });
