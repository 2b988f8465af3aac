import type { Logger } from 'pino';
import { memoryMonitor } from '../actors/monitors/memory/memory-monitor.js';
import { DEFAULT_BACKOFF } from '../supervisor/backoff.js';
import { local, type ChildSpec } from '../supervisor/child-spec.js';
import { systemClock, type Clock } from './clock.js';
import type { LoadedConfig } from './config/config.js';
import { HealthChecks } from './health/health-checks.js';
import { assessHealth } from './health/health-score.js';
import type { HttpDeps } from './http/http-deps.js';
import { httpServer, type HttpAddress, type HttpMessage } from './http/http-server.js';
import { createRuntimeMetrics, type RuntimeMetrics } from './metrics/runtime-metrics.js';
import { readPackageInfo } from './service-info.js';
import { ActorSystem } from './system/actor-system.js';

export interface RuntimeOptions {
  loaded: LoadedConfig;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  /** The process entry point exits non-zero here; tests observe it instead. */
  onRootFailure?: (error: Error) => void;
}

export const HTTP_PATH = '/http';

/**
 * The whole runtime: config in, supervision tree out. Every dependency an actor gets is
 * built here and passed at spawn; main.ts only adds the process's signals and exit codes.
 *
 *   /            root, one_for_one
 *   ├── monitors one_for_one
 *   │   └── memory
 *   └── http     started last, stopped first: it stops accepting before anything it serves goes
 */
export class Runtime {
  readonly system: ActorSystem;
  readonly checks = new HealthChecks();
  readonly metrics: RuntimeMetrics;

  constructor(options: RuntimeOptions) {
    const { config, effective } = options.loaded;
    const clock = options.clock ?? systemClock();
    const pkg = readPackageInfo();
    const checks = this.checks;
    const service = { name: pkg.name, version: pkg.version, startedAt: clock.now() };
    // Factories run at start, after the system below exists; they only close over it.
    const httpDeps = (): HttpDeps => ({
      config,
      effectiveConfig: effective,
      service,
      tree: { snapshot: () => this.system.snapshot(), restart: (path) => this.system.restart(path) },
      checks,
      metrics: this.metrics.registry,
      logger: options.logger,
      clock,
    });
    const children: ChildSpec[] = [
      {
        kind: 'supervisor',
        id: 'monitors',
        strategy: 'one_for_one',
        children: [{ kind: 'actor', id: 'memory', behaviour: local(() => memoryMonitor({ ...config.memory, checks })) }],
      },
      { kind: 'actor', id: 'http', behaviour: local(() => httpServer(httpDeps())) },
    ];

    this.system = new ActorSystem(
      // The root is strict and the leaves generous: intensities multiply down the tree.
      { strategy: 'one_for_one', intensity: { maxRestarts: 5, withinMs: 60_000 }, children },
      {
        logger: options.logger,
        clock,
        ...(options.random ? { random: options.random } : {}),
        defaults: { backoff: { ...DEFAULT_BACKOFF, ...config.backoff } },
        ...(options.onRootFailure ? { onRootFailure: options.onRootFailure } : {}),
      },
    );
    const system = this.system;
    this.metrics = createRuntimeMetrics({
      source: system,
      healthScore: () => assessHealth(system.snapshot(), checks.all()).score,
      processMetrics: config.metricsProcess,
    });
  }

  start(): Promise<void> {
    return this.system.start();
  }

  async shutdown(): Promise<void> {
    this.metrics.close();
    await this.system.shutdown();
  }

  async httpAddress(): Promise<HttpAddress | undefined> {
    return this.system.lookup<HttpMessage, HttpAddress | undefined>(HTTP_PATH)?.ask({ type: 'address' });
  }
}
