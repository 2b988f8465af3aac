import type { Logger } from 'pino';
import { ManualClock } from '../../src/clock.js';
import { ActorSystem, type RuntimeDefaults } from '../../src/system/actor-system.js';
import type { ChildSpec } from '../../supervisor/child-spec.js';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEvent } from '../../supervisor/lifecycle-events.js';
import type { Strategy } from '../../supervisor/strategy.js';
import { walkTree, type TreeNode } from '../../supervisor/tree-node.js';
import { silentLogger } from './logger.js';
import { seededRandom } from './random.js';

export interface TestSystemOptions {
  strategy?: Strategy;
  clock?: ManualClock;
  logger?: Logger;
  defaults?: Partial<RuntimeDefaults>;
  intensity?: { maxRestarts: number; withinMs: number };
  onRootFailure?: (error: Error) => void;
}

/** A started system on a manual clock with seeded jitter, and its event log. */
export async function startSystem(children: ChildSpec[], options: TestSystemOptions = {}) {
  const clock = options.clock ?? new ManualClock(1_700_000_000_000);
  const events: LifecycleEvent[] = [];
  const system = new ActorSystem(
    { strategy: options.strategy ?? 'one_for_one', children, ...(options.intensity ? { intensity: options.intensity } : {}) },
    {
      logger: options.logger ?? silentLogger(),
      clock,
      random: seededRandom(7),
      ...(options.defaults ? { defaults: options.defaults } : {}),
      ...(options.onRootFailure ? { onRootFailure: options.onRootFailure } : {}),
    },
  );
  system.events.subscribe((event) => events.push(event), { types: LIFECYCLE_EVENT_TYPES });
  await system.start();
  return { system, clock, events };
}

export function nodeAt(tree: TreeNode, path: string): TreeNode | undefined {
  for (const node of walkTree(tree)) if (node.path === path) return node;
  return undefined;
}

/** Shuts down while moving the manual clock, so a hung actor's shutdown timeout can elapse. */
export async function shutdownOnClock(system: ActorSystem, clock: ManualClock, stepMs = 1_000, steps = 60): Promise<void> {
  let done = false;
  const stopping = system.shutdown().then(() => (done = true));
  for (let i = 0; i < steps && !done; i++) await clock.advanceAsync(stepMs);
  await stopping;
}
