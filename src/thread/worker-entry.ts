/**
 * The inside of a worker thread that hosts actors. It runs the same ActorCell and
 * Dispatcher as the main thread; only the edges (spawn by module path, replies, exits,
 * refs to main-thread actors) cross the MessagePort.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ActorCell, type CellEnvironment } from '../actor/actor-cell.js';
import type { ActorRef, AskOptions } from '../actor/actor-ref.js';
import type { Behaviour, ThreadBehaviourFactory } from '../actor/behaviour.js';
import { Dispatcher } from '../actor/dispatcher.js';
import { systemClock } from '../clock.js';
import { AskTimeoutError, RuntimeError } from '../errors.js';
import { createLogger } from '../logging/logger.js';
import {
  Op,
  RemoteError,
  STATS_DEPTH,
  STATS_DROPPED,
  STATS_PROCESSED,
  toWireError,
  type SpawnSpec,
  type WireError,
  type WorkerBootData,
} from './protocol.js';

const STATS_INTERVAL_MS = 100;

interface HostedActor {
  cell: ActorCell<unknown, unknown>;
  stats: Float64Array;
  factory: Promise<ThreadBehaviourFactory<unknown, unknown, unknown>>;
}

interface PendingAsk {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

class WorkerHost {
  readonly #port: NonNullable<typeof parentPort>;
  readonly #actors = new Map<number, HostedActor>();
  readonly #byPath = new Map<string, HostedActor>();
  readonly #pending = new Map<number, PendingAsk>();
  readonly #env: CellEnvironment;
  #out: unknown[] = [];
  #flushQueued = false;
  #nextAskId = 1;
  #statsQueued = false;

  constructor(port: NonNullable<typeof parentPort>, boot: WorkerBootData) {
    this.#port = port;
    const clock = systemClock();
    let logger: Logger | undefined;
    const forward = (floor: 'info' | 'warn') => ({ write: (line: string) => this.#send(Op.Log, floor, line) });
    this.#env = {
      dispatcher: new Dispatcher(),
      clock,
      // Created on first use: most restarts of a thread actor never log from the new worker.
      get logger(): Logger {
        logger ??= createLogger({
          level: boot.logLevel,
          // Lines also go to the main thread's rings, so `logs` shows what the sessions' threads logged.
          ...(boot.keepLogs ? { rings: { info: forward('info'), warn: forward('warn') } } : {}),
        }).child({ thread: threadId, group: boot.group });
        return logger;
      },
      askTimeoutMs: 5_000,
      lookup: <M, R>(path: string) => this.#lookup<M, R>(path),
    };
    port.on('message', (batch: unknown[]) => {
      this.#receive(batch);
      // After the dispatcher's pass over this batch, so the main thread's tree is current.
      if (!this.#statsQueued) {
        this.#statsQueued = true;
        setImmediate(this.#publishStats);
      }
    });
    setInterval(this.#publishStats, STATS_INTERVAL_MS).unref();
    this.#send(Op.Ready);
  }

  #receive(batch: unknown[]): void {
    let i = 0;
    while (i < batch.length) {
      const op = batch[i] as number;
      switch (op) {
        case Op.Tell:
          this.#actors.get(batch[i + 1] as number)?.cell.tell(batch[i + 2]);
          i += 3;
          break;
        case Op.Ask:
          this.#ask(batch[i + 1] as number, batch[i + 2] as number, batch[i + 3]);
          i += 4;
          break;
        case Op.Spawn:
          this.#spawn(batch[i + 1] as number, batch[i + 2] as SpawnSpec);
          i += 3;
          break;
        case Op.Start:
          void this.#start(batch[i + 1] as number, batch[i + 2] as number);
          i += 3;
          break;
        case Op.Stop:
          void this.#stop(batch[i + 1] as number, batch[i + 2] as number, batch[i + 3] as number);
          i += 4;
          break;
        case Op.Dispose:
          this.#dispose(batch[i + 1] as number);
          i += 2;
          break;
        case Op.Reply:
          this.#settle(batch[i + 1] as number, batch[i + 2] as number, batch[i + 3]);
          i += 4;
          break;
        default:
          throw new RuntimeError('WAR_ERR_THREAD_PROTOCOL', `worker host received unknown op ${String(op)}`);
      }
    }
  }

  #spawn(actorId: number, spec: SpawnSpec): void {
    const factory = import(spec.module).then((loaded: Record<string, unknown>) => {
      const exported = loaded[spec.exportName];
      if (typeof exported !== 'function') {
        throw new RuntimeError('WAR_ERR_BAD_EXPORT', `${spec.module} has no function export ${spec.exportName}`);
      }
      return exported as ThreadBehaviourFactory<unknown, unknown, unknown>;
    });
    // A failed import is reported by the start that awaits it.
    factory.catch(() => undefined);
    let resolved: ThreadBehaviourFactory<unknown, unknown, unknown> | undefined;
    void factory.then((f) => (resolved = f), () => undefined);
    const cell = new ActorCell<unknown, unknown>(
      {
        path: spec.path,
        factory: () => (resolved as ThreadBehaviourFactory<unknown, unknown, unknown>)(spec.args) as Behaviour<unknown, unknown>,
        mailbox: spec.mailbox,
        startTimeoutMs: spec.startTimeoutMs,
        stopTimeoutMs: spec.stopTimeoutMs,
      },
      this.#env,
    );
    cell.onExit((reason, incarnation) => {
      const exit = reason.kind === 'failure' ? { kind: 'failure', error: toWireError(reason.error) } : { kind: 'normal' };
      this.#send(Op.Exit, actorId, incarnation, exit);
    });
    const hosted: HostedActor = { cell, stats: new Float64Array(spec.stats), factory };
    this.#actors.set(actorId, hosted);
    this.#byPath.set(spec.path, hosted);
  }

  async #start(actorId: number, requestId: number): Promise<void> {
    const hosted = this.#actors.get(actorId);
    try {
      if (!hosted) throw new RuntimeError('WAR_ERR_ACTOR_STOPPED', `no actor ${actorId} in this worker`);
      await hosted.factory;
      this.#send(Op.Started, requestId, await hosted.cell.start());
    } catch (error) {
      this.#send(Op.StartFailed, requestId, toWireError(error));
    }
  }

  async #stop(actorId: number, requestId: number, timeoutMs: number): Promise<void> {
    await this.#actors.get(actorId)?.cell.stop(timeoutMs);
    this.#send(Op.Stopped, requestId);
  }

  #dispose(actorId: number): void {
    const hosted = this.#actors.get(actorId);
    if (!hosted) return;
    hosted.cell.dispose();
    this.#actors.delete(actorId);
    if (this.#byPath.get(hosted.cell.path) === hosted) this.#byPath.delete(hosted.cell.path);
  }

  #ask(actorId: number, askId: number, message: unknown): void {
    const hosted = this.#actors.get(actorId);
    if (!hosted) {
      this.#send(Op.Reply, askId, 0, toWireError(new RuntimeError('WAR_ERR_ACTOR_STOPPED', `no actor ${actorId} in this worker`)));
      return;
    }
    hosted.cell.ask(message, { timeoutMs: Infinity }).then(
      (value) => this.#send(Op.Reply, askId, 1, value),
      (error: unknown) => this.#send(Op.Reply, askId, 0, toWireError(error)),
    );
  }

  // ---- refs to actors on the main thread ------------------------------------------------

  #lookup<M, R>(path: string): ActorRef<M, R> | undefined {
    const local = this.#byPath.get(path);
    if (local) return local.cell as unknown as ActorRef<M, R>;
    return {
      path,
      tell: (message: M) => {
        this.#send(Op.TellPath, path, message);
        return true;
      },
      ask: (message: M, options?: AskOptions) => this.#askPath<R>(path, message, options?.timeoutMs ?? this.#env.askTimeoutMs),
    };
  }

  #askPath<R>(path: string, message: unknown, timeoutMs: number): Promise<R> {
    const askId = this.#nextAskId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(askId);
        reject(new AskTimeoutError(path, timeoutMs));
      }, timeoutMs);
      this.#pending.set(askId, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.#send(Op.AskPath, askId, path, message, timeoutMs);
    });
  }

  #settle(askId: number, ok: number, value: unknown): void {
    const pending = this.#pending.get(askId);
    if (!pending) return;
    this.#pending.delete(askId);
    clearTimeout(pending.timer);
    if (ok) pending.resolve(value);
    else pending.reject(new RemoteError(value as WireError));
  }

  // ---- outbound ------------------------------------------------------------------------

  #send(...entry: unknown[]): void {
    for (const item of entry) this.#out.push(item);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    const out = this.#out;
    this.#out = [];
    this.#port.postMessage(out);
  };

  readonly #publishStats = (): void => {
    this.#statsQueued = false;
    for (const { cell, stats } of this.#actors.values()) {
      const { depth, processed, dropped } = cell.mailboxStats();
      stats[STATS_DEPTH] = depth;
      stats[STATS_PROCESSED] = processed;
      stats[STATS_DROPPED] = dropped;
    }
  };
}

if (!parentPort) throw new Error('worker-entry must run in a worker thread');
new WorkerHost(parentPort, workerData as WorkerBootData);
