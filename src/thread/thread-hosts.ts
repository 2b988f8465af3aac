import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { LogSinks } from '../logging/log-ring.js';
import type { ActorRef } from '../actor/actor-ref.js';
import type { Clock } from '../clock.js';
import type { WorkerBootData } from './protocol.js';
import { ThreadHost } from './thread-host.js';

export interface ThreadHostsOptions {
  logger: Logger;
  clock: Clock;
  route(path: string): ActorRef<unknown, unknown> | undefined;
  /** The main thread's log rings: workers send their lines there too. */
  logs?: LogSinks;
}

/**
 * The worker threads of one runtime, one per placement group. Raw worker_threads rather
 * than a piscina pool: an actor is long-lived and pinned to one thread with its state,
 * while piscina hands each task to whichever worker is free (see README, "Threads").
 */
export class ThreadHosts {
  readonly #hosts = new Map<string, ThreadHost>();
  readonly #options: ThreadHostsOptions;

  constructor(options: ThreadHostsOptions) {
    this.#options = options;
  }

  /** The live host of `group`, or a new worker for it. */
  acquire(group: string, resourceLimits: ResourceLimits | undefined): ThreadHost {
    const existing = this.#hosts.get(group);
    if (existing && !existing.isDead) return existing;
    this.#hosts.delete(group);
    const boot: WorkerBootData = { logLevel: this.#options.logger.level, group, keepLogs: this.#options.logs !== undefined };
    const host = new ThreadHost(group, spawnWorker(boot, resourceLimits), {
      logger: this.#options.logger,
      clock: this.#options.clock,
      route: this.#options.route,
      ...(this.#options.logs ? { logs: this.#options.logs } : {}),
      onDead: (dead) => {
        if (this.#hosts.get(group) === dead) this.#hosts.delete(group);
      },
    });
    this.#hosts.set(group, host);
    return host;
  }

  get size(): number {
    return this.#hosts.size;
  }

  async closeAll(): Promise<void> {
    const hosts = [...this.#hosts.values()];
    this.#hosts.clear();
    await Promise.all(hosts.map((host) => host.close()));
  }
}

/**
 * Compiled builds start `worker-entry.js` directly. From TypeScript sources (vitest, tsx)
 * the worker registers tsx first: Node 20 does not pass `--import` loaders on to workers.
 */
function spawnWorker(workerData: WorkerBootData, resourceLimits: ResourceLimits | undefined): Worker {
  const here = import.meta.url;
  const options = { workerData, ...(resourceLimits ? { resourceLimits } : {}), stdout: false, stderr: false };
  if (here.endsWith('.ts')) {
    const entry = new URL('./worker-entry.ts', here).href;
    const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(bootstrap, { ...options, eval: true });
  }
  return new Worker(new URL('./worker-entry.js', here), options);
}
