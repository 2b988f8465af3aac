import type { Logger } from 'pino';
import type { LogSinks } from '../logging/log-ring.js';
import type { BackoffOptions } from '../../supervisor/backoff.js';
import type { ChildSpec, SupervisorSpec } from '../../supervisor/child-spec.js';
import type { ManagedChild } from '../../supervisor/managed-child.js';
import type { IntensityOptions } from '../../supervisor/restart-intensity.js';
import { DEFAULT_ACTOR_SHUTDOWN_MS, DEFAULT_BACKOFF, DEFAULT_INTENSITY } from '../../supervisor/restart-rule.js';
import { SupervisorHandle, type SupervisorEnvironment } from '../../supervisor/supervisor.js';
import { childId, parentPath, type NodeError, type NodeStatus, type TreeNode } from '../../supervisor/tree-node.js';
import { ActorCell, type CellEnvironment } from '../actor/actor-cell.js';
import { EventBus } from '../events/event-bus.js';
import type { RuntimeEvent, RuntimeEvents } from '../events/runtime-events.js';
import type { ActorPath } from '../actor/actor-path.js';
import type { ActorRef } from '../actor/actor-ref.js';
import type { ExitReason } from '../actor/behaviour.js';
import { Dispatcher, type DispatcherOptions } from '../actor/dispatcher.js';
import { DEFAULT_MAILBOX, type MailboxOptions } from '../actor/mailbox.js';
import { systemClock, type Clock } from '../clock.js';
import { RuntimeError, errorCode, toError } from '../errors.js';
import { ThreadActorCell } from '../thread/thread-actor-cell.js';
import { ThreadHosts } from '../thread/thread-hosts.js';

export interface RuntimeDefaults {
  backoff: BackoffOptions;
  intensity: IntensityOptions;
  mailbox: MailboxOptions;
  askTimeoutMs: number;
  startTimeoutMs: number;
  actorShutdownTimeoutMs: number;
}

export const DEFAULT_RUNTIME: RuntimeDefaults = {
  backoff: DEFAULT_BACKOFF,
  intensity: DEFAULT_INTENSITY,
  mailbox: DEFAULT_MAILBOX,
  askTimeoutMs: 5_000,
  startTimeoutMs: 30_000,
  actorShutdownTimeoutMs: DEFAULT_ACTOR_SHUTDOWN_MS,
};

export interface ActorSystemOptions {
  logger: Logger;
  clock?: Clock;
  /** [0, 1); inject a seeded one to make backoff jitter reproducible. */
  random?: () => number;
  defaults?: Partial<RuntimeDefaults>;
  dispatcher?: Partial<DispatcherOptions>;
  /**
   * Called once when the root supervisor fails (its intensity was exceeded), after its
   * subtree has stopped in order. The process entry point exits non-zero here.
   */
  onRootFailure?: (error: Error) => void;
  /** The runtime's event stream, when the caller shares it with more publishers; else the system makes one. */
  events?: RuntimeEvents;
  /** The log rings of the `logs` operation: worker threads send their lines there. */
  logs?: LogSinks;
}

/**
 * One runtime: the tree, its dispatcher, clock, registry and event stream. Several can
 * live in one process (tests do this); nothing here is module-level state.
 */
export class ActorSystem {
  /** The runtime's event stream; supervisors publish lifecycle events into it. */
  readonly events: RuntimeEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly defaults: RuntimeDefaults;
  readonly #registry = new Map<string, ManagedChild>();
  readonly #cellEnv: CellEnvironment;
  readonly #supervisorEnv: SupervisorEnvironment;
  readonly #threads: ThreadHosts;
  readonly #onRootFailure: ((error: Error) => void) | undefined;
  readonly #root: SupervisorHandle;
  #rootStatus: NodeStatus = 'stopped';
  #rootStartedAt: number | null = null;
  #rootError: NodeError | null = null;
  #shutdown: Promise<void> | undefined;

  constructor(rootSpec: Omit<SupervisorSpec, 'id' | 'kind'>, options: ActorSystemOptions) {
    this.clock = options.clock ?? systemClock();
    this.logger = options.logger;
    this.defaults = { ...DEFAULT_RUNTIME, ...options.defaults };
    this.events = options.events ?? new EventBus<RuntimeEvent>(this.logger);
    this.#onRootFailure = options.onRootFailure;
    const random = options.random ?? Math.random;
    this.#cellEnv = {
      dispatcher: new Dispatcher(options.dispatcher),
      clock: this.clock,
      logger: this.logger,
      askTimeoutMs: this.defaults.askTimeoutMs,
      lookup: <M, R>(path: string) => this.lookup<M, R>(path),
    };
    this.#threads = new ThreadHosts({
      logger: this.logger,
      clock: this.clock,
      route: (path: string) => this.lookup(path),
      ...(options.logs ? { logs: options.logs } : {}),
    });
    this.#supervisorEnv = {
      cell: this.#cellEnv,
      clock: this.clock,
      random,
      events: this.events,
      defaults: {
        backoff: this.defaults.backoff,
        intensity: this.defaults.intensity,
        actorShutdownTimeoutMs: this.defaults.actorShutdownTimeoutMs,
      },
      logger: this.logger,
      createChild: (spec, path) => this.#createChild(spec, path),
      release: (child) => {
        child.dispose();
        if (this.#registry.get(child.path) === child) this.#registry.delete(child.path);
      },
    };
    this.#root = this.#createChild({ ...rootSpec, id: 'root', kind: 'supervisor' }, '/') as SupervisorHandle;
    this.#root.onExit((reason) => this.#rootExited(reason));
  }

  /** Starts the tree; rejects if the root cannot start (its children kept failing at start). */
  async start(): Promise<void> {
    this.#rootStatus = 'starting';
    this.#rootStartedAt = this.clock.now();
    try {
      await this.#root.start();
    } catch (error) {
      this.#rootStatus = 'failed';
      this.#rootError = this.#nodeError(toError(error));
      throw error;
    }
    this.#rootStatus = 'running';
  }

  /** Stops the tree in reverse start order and the worker threads after it. Idempotent. */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      if (this.#rootStatus === 'running' || this.#rootStatus === 'starting') {
        this.#rootStatus = 'stopping';
        await this.#root.stop(Infinity);
        this.#rootStatus = 'stopped';
      }
      this.#root.dispose();
      await this.#threads.closeAll();
    })();
    return this.#shutdown;
  }

  get isRunning(): boolean {
    return this.#rootStatus === 'running';
  }

  /** The actor at a typed path (src/tree-paths.ts), typed by it; or, by a plain path, with types the caller asserts (tests, tools). */
  lookup<M, R>(path: ActorPath<M, R>): ActorRef<M, R> | undefined;
  lookup<M = unknown, R = unknown>(path: string): ActorRef<M, R> | undefined;
  lookup<M = unknown, R = unknown>(path: string): ActorRef<M, R> | undefined {
    return this.#registry.get(path)?.ref as ActorRef<M, R> | undefined;
  }

  /** The supervisor at `path`, for dynamic children and admin operations. */
  supervisor(path: string): SupervisorHandle {
    const child = this.#registry.get(path);
    if (!(child instanceof SupervisorHandle)) {
      throw new RuntimeError('WAR_ERR_CHILD_NOT_FOUND', `no supervisor at ${path}`);
    }
    return child;
  }

  /** True for a supervisor with a child template: its children come and go, so metrics fold them into one label. */
  isDynamicSupervisor(path: string): boolean {
    const child = this.#registry.get(path);
    return child instanceof SupervisorHandle && child.spec.template !== undefined;
  }

  /** Restarts the actor or subtree at `path` now, as an operator would. */
  async restart(path: string): Promise<void> {
    const parent = parentPath(path);
    if (parent === undefined) throw new RuntimeError('WAR_ERR_ROOT_RESTART', 'the root cannot be restarted; stop the process instead');
    if (!this.#registry.has(path)) throw new RuntimeError('WAR_ERR_CHILD_NOT_FOUND', `no actor at ${path}`);
    await this.supervisor(parent).restartChild(childId(path));
  }

  snapshot(): TreeNode {
    const root = this.#root;
    return {
      path: '/',
      kind: 'supervisor',
      status: this.#rootStatus,
      restarts: 0,
      lastError: this.#rootError,
      nextRestartAt: null,
      uptimeMs: this.#rootStatus === 'running' && this.#rootStartedAt !== null ? this.clock.now() - this.#rootStartedAt : 0,
      mailbox: root.mailboxStats(),
      placement: 'local',
      children: root.childNodes(),
    };
  }

  #createChild(spec: ChildSpec, path: string): ManagedChild {
    if (this.#registry.has(path)) throw new RuntimeError('WAR_ERR_CHILD_EXISTS', `an actor already lives at ${path}`);
    let child: ManagedChild;
    if (spec.kind === 'supervisor') {
      child = new SupervisorHandle(spec, path, this.#supervisorEnv);
    } else if (spec.behaviour.placement === 'local') {
      child = new ActorCell(
        {
          path,
          factory: spec.behaviour.create,
          mailbox: { ...this.defaults.mailbox, ...spec.mailbox },
          startTimeoutMs: spec.startTimeoutMs ?? this.defaults.startTimeoutMs,
          stopTimeoutMs: spec.shutdownTimeoutMs ?? this.defaults.actorShutdownTimeoutMs,
        },
        this.#cellEnv,
      );
    } else {
      child = new ThreadActorCell(
        {
          path,
          placement: spec.behaviour,
          mailbox: { ...this.defaults.mailbox, ...spec.mailbox },
          startTimeoutMs: spec.startTimeoutMs ?? this.defaults.startTimeoutMs,
          stopTimeoutMs: spec.shutdownTimeoutMs ?? this.defaults.actorShutdownTimeoutMs,
          askTimeoutMs: this.defaults.askTimeoutMs,
        },
        { clock: this.clock, hosts: this.#threads, logger: this.logger },
      );
    }
    this.#registry.set(path, child);
    return child;
  }

  #rootExited(reason: ExitReason): void {
    if (reason.kind !== 'failure') return;
    this.#rootStatus = 'failed';
    this.#rootError = this.#nodeError(reason.error);
    this.logger.fatal({ err: reason.error }, 'root supervisor failed; the tree is down');
    void this.#threads.closeAll().finally(() => this.#onRootFailure?.(reason.error));
  }

  #nodeError(error: Error): NodeError {
    return { message: error.message, code: errorCode(error) ?? null, at: new Date(this.clock.now()).toISOString() };
  }
}
