import type { ChildSpec } from '../../supervisor/child-spec.js';
import { ActorSystem } from '../../src/system/actor-system.js';
import { createLogger } from '../../src/logging/logger.js';

/**
 * An ActorSystem for a bench: silent logger, and a root whose restart intensity is so
 * generous that crash benches measure restarts, never escalation.
 */
export async function startBenchSystem(children: readonly ChildSpec[]): Promise<ActorSystem> {
  const system = new ActorSystem(
    { strategy: 'one_for_one', intensity: { maxRestarts: 1_000_000, withinMs: 1 }, children },
    {
      logger: createLogger({ level: 'silent' }),
      onRootFailure: (error) => {
        process.stderr.write(`bench: root supervisor failed: ${error.message}\n`);
      },
    },
  );
  await system.start();
  return system;
}

/** Restart at once, and never give up, whatever the default backoff says. */
export const ZERO_BACKOFF = { initialMs: 0, maxAttempts: 1_000_000_000, jitter: 0 } as const;
