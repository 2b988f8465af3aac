import type { Logger } from 'pino';
import type { ChildSpec } from '../supervisor/child-spec.js';
import type { Links } from './actor/link.js';
import type { Clock } from './clock.js';
import type { Config } from './config/config.js';
import type { RuntimeEvents } from './events/runtime-events.js';
import type { HealthChecks } from './health/health-checks.js';
import type { ShutdownDeadline } from './shutdown-deadline.js';
import type { ActorSystem } from './system/actor-system.js';

/**
 * What every feature's factory is given: the runtime's config and shared services, passed
 * down explicitly (no module-level state anywhere). `links` resolves typed links and the
 * tree once the actor system exists, so a feature can be composed before it.
 */
export interface FeatureContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly checks: HealthChecks;
  readonly events: RuntimeEvents;
  readonly links: Links<ActorSystem>;
  /** This runtime's identity as the owner of in-flight batches. */
  readonly owner: string;
  /** Set when shutdown begins: how long draining actors may still take. */
  readonly shutdown: ShutdownDeadline;
}

/**
 * What a feature folder's one factory returns: the child specs it adds to the root (in start
 * order) and what it offers the other features and the HTTP API. `preflight` runs before the
 * tree starts; what it throws stops start-up (a config problem exits 78).
 */
export interface Feature<O> {
  readonly children: readonly ChildSpec[];
  readonly offers: O;
  preflight?(): Promise<void>;
  /** After the tree has stopped: lets go of what the feature opened outside it (a file, a connection). */
  close?(): Promise<void>;
}
