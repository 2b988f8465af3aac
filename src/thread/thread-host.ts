import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { LogSinks } from '../logging/log-ring.js';
import type { ActorRef } from '../actor/actor-ref.js';
import type { Clock, TimerHandle } from '../clock.js';
import { RuntimeError, WorkerDiedError } from '../errors.js';
import { Op, RemoteError, toWireError, type SpawnSpec, type WireError, type WireExit } from './protocol.js';

/** The main-thread side of one actor hosted in a worker. */
export interface HostedActorProxy {
  exited(incarnation: number, exit: WireExit): void;
  hostDied(error: WorkerDiedError): void;
}

/** An ask in flight to a worker; its timer runs on the main thread's clock. */
export interface PendingReply {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

export interface ThreadHostOptions {
  logger: Logger;
  clock: Clock;
  /** Resolves a path told or asked from inside the worker to a main-thread actor. */
  route(path: string): ActorRef<unknown, unknown> | undefined;
  onDead(host: ThreadHost): void;
  /** Where the worker's log lines are kept for `logs`, if anywhere. */
  logs?: LogSinks;
}

/** Flush at once past this many queued entries, so a tight producer loop stays bounded in memory. */
const MAX_BATCH_ENTRIES = 3 * 4096;

/**
 * One worker thread and the actors in it. Sends are coalesced per microtask into one
 * postMessage. If the worker dies (uncaught error, process.exit, out of memory), every
 * actor on it fails with WAR_ERR_WORKER_DIED and its supervisor restarts it in a new worker.
 */
export class ThreadHost {
  readonly group: string;
  /** Kept: `worker.threadId` reads -1 once the worker has exited. */
  readonly threadId: number;
  readonly #worker: Worker;
  readonly #options: ThreadHostOptions;
  readonly #actors = new Map<number, HostedActorProxy>();
  readonly #requests = new Map<number, PendingRequest>();
  readonly #asks = new Map<number, PendingReply>();
  #out: unknown[] = [];
  #flushQueued = false;
  #nextId = 1;
  #dead = false;
  #closing = false;
  #exited: Promise<void>;

  constructor(group: string, worker: Worker, options: ThreadHostOptions) {
    this.group = group;
    this.threadId = worker.threadId;
    this.#worker = worker;
    this.#options = options;
    worker.on('message', (batch: unknown[]) => this.#receive(batch));
    worker.on('error', (error: Error & { code?: string }) => {
      const why = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `out of memory (${error.message})` : `uncaught ${error.name}: ${error.message}`;
      this.#die(why);
    });
    this.#exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.#die(`exited with code ${code}`);
        resolve();
      });
    });
  }

  /** Dead, or closing: either way no actor may attach to it any more. */
  get isDead(): boolean {
    return this.#dead || this.#closing;
  }

  get actorCount(): number {
    return this.#actors.size;
  }

  attach(proxy: HostedActorProxy, spec: SpawnSpec): number {
    const actorId = this.#nextId++;
    this.#actors.set(actorId, proxy);
    this.#push3(Op.Spawn, actorId, spec);
    return actorId;
  }

  /** The actor will not come back: the worker drops it, and the last one out closes the worker. */
  detach(actorId: number): void {
    if (!this.#actors.delete(actorId) || this.#dead) return;
    this.#push2(Op.Dispose, actorId);
    if (this.#actors.size === 0) void this.close();
  }

  tell(actorId: number, message: unknown): void {
    this.#push3(Op.Tell, actorId, message);
  }

  ask(actorId: number, message: unknown, reply: PendingReply): number {
    const askId = this.#nextId++;
    this.#asks.set(askId, reply);
    this.#out.push(Op.Ask, actorId, askId, message);
    this.#scheduleFlush();
    return askId;
  }

  /** The ask timed out on the main thread: a late reply is ignored. */
  forgetAsk(askId: number): void {
    this.#asks.delete(askId);
  }

  /** A lifecycle request (start, stop) answered by Started/StartFailed/Stopped. */
  request(op: typeof Op.Start | typeof Op.Stop, actorId: number, timeoutMs: number, what: string): Promise<unknown> {
    if (this.#dead) return Promise.reject(new WorkerDiedError(this.threadId, 'already dead'));
    const requestId = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.#options.clock.setTimeout(
        () => {
          this.#requests.delete(requestId);
          reject(new RuntimeError(op === Op.Start ? 'WAR_ERR_ACTOR_START_TIMEOUT' : 'WAR_ERR_ASK_TIMEOUT', `${what} got no answer from worker within ${timeoutMs} ms`));
        },
        Number.isFinite(timeoutMs) ? timeoutMs : 2 ** 31 - 1,
      );
      this.#requests.set(requestId, { resolve, reject, timer });
      if (op === Op.Start) this.#push3(Op.Start, actorId, requestId);
      else {
        this.#out.push(Op.Stop, actorId, requestId, timeoutMs);
        this.#scheduleFlush();
      }
    });
  }

  /** Terminates the worker; the actors on it die with it (a brutal kill, as OTP does after a shutdown timeout). */
  async terminate(why: string): Promise<void> {
    if (this.#dead) return;
    this.#options.logger.warn({ group: this.group, threadId: this.threadId, why }, 'terminating worker thread');
    await this.#worker.terminate();
    await this.#exited;
  }

  /** An orderly close of an empty host: not a death. */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      // Out of the group's map now, so a new actor of the group gets a fresh worker.
      this.#options.onDead(this);
    }
    if (!this.#dead) await this.#worker.terminate();
    await this.#exited;
  }

  // ---- inbound -------------------------------------------------------------------------

  #receive(batch: unknown[]): void {
    let i = 0;
    while (i < batch.length) {
      switch (batch[i] as number) {
        case Op.Reply: {
          const askId = batch[i + 1] as number;
          const reply = this.#asks.get(askId);
          if (reply) {
            this.#asks.delete(askId);
            if (batch[i + 2]) reply.resolve(batch[i + 3]);
            else reply.reject(new RemoteError(batch[i + 3] as WireError));
          }
          i += 4;
          break;
        }
        case Op.Started:
          this.#answer(batch[i + 1] as number, true, batch[i + 2]);
          i += 3;
          break;
        case Op.StartFailed:
          this.#answer(batch[i + 1] as number, false, new RemoteError(batch[i + 2] as WireError));
          i += 3;
          break;
        case Op.Stopped:
          this.#answer(batch[i + 1] as number, true, undefined);
          i += 2;
          break;
        case Op.Exit:
          this.#actors.get(batch[i + 1] as number)?.exited(batch[i + 2] as number, batch[i + 3] as WireExit);
          i += 4;
          break;
        case Op.TellPath:
          this.#tellPath(batch[i + 1] as string, batch[i + 2]);
          i += 3;
          break;
        case Op.AskPath:
          this.#askPath(batch[i + 1] as number, batch[i + 2] as string, batch[i + 3], batch[i + 4] as number);
          i += 5;
          break;
        case Op.Ready:
          i += 1;
          break;
        case Op.Log:
          this.#options.logs?.[batch[i + 1] as 'info' | 'warn'].write(batch[i + 2] as string);
          i += 3;
          break;
        default:
          this.#options.logger.error({ op: batch[i] }, 'unknown op from worker; dropping the rest of the batch');
          return;
      }
    }
  }

  #answer(requestId: number, ok: boolean, value: unknown): void {
    const request = this.#requests.get(requestId);
    if (!request) return;
    this.#requests.delete(requestId);
    this.#options.clock.clearTimeout(request.timer);
    if (ok) request.resolve(value);
    else request.reject(value as Error);
  }

  #tellPath(path: string, message: unknown): void {
    const target = this.#options.route(path);
    if (!target || !target.tell(message)) {
      this.#options.logger.warn({ path, group: this.group }, 'message from worker not delivered: no such actor or mailbox full');
    }
  }

  #askPath(askId: number, path: string, message: unknown, timeoutMs: number): void {
    const target = this.#options.route(path);
    const answer = target
      ? target.ask(message, { timeoutMs })
      : Promise.reject(new RuntimeError('WAR_ERR_ACTOR_STOPPED', `no actor at ${path}`));
    answer.then(
      (value) => this.#push4(Op.Reply, askId, 1, value),
      (error: unknown) => this.#push4(Op.Reply, askId, 0, toWireError(error)),
    );
  }

  // ---- outbound ------------------------------------------------------------------------

  #push2(a: unknown, b: unknown): void {
    this.#out.push(a, b);
    this.#scheduleFlush();
  }

  #push3(a: unknown, b: unknown, c: unknown): void {
    this.#out.push(a, b, c);
    this.#scheduleFlush();
  }

  #push4(a: unknown, b: unknown, c: unknown, d: unknown): void {
    this.#out.push(a, b, c, d);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#out.length >= MAX_BATCH_ENTRIES) this.#flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    if (this.#out.length === 0 || this.#dead) return;
    const out = this.#out;
    this.#out = [];
    try {
      this.#worker.postMessage(out);
    } catch (error) {
      // A message that cannot be cloned (a function, a socket) fails the whole batch: say which.
      this.#options.logger.error({ err: error, group: this.group }, 'could not post to worker: a message is not cloneable');
      this.#die(`unclonable message posted: ${(error as Error).message}`);
      void this.#worker.terminate();
    }
  };

  #die(why: string): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#out = [];
    this.#options.onDead(this);
    const error = new WorkerDiedError(this.threadId, this.#closing ? `closed (${why})` : why);
    if (!this.#closing) this.#options.logger.error({ group: this.group, threadId: this.threadId, why }, 'worker thread died');
    for (const request of this.#requests.values()) {
      this.#options.clock.clearTimeout(request.timer);
      request.reject(error);
    }
    this.#requests.clear();
    for (const reply of this.#asks.values()) reply.reject(error);
    this.#asks.clear();
    const actors = [...this.#actors.values()];
    this.#actors.clear();
    for (const actor of actors) actor.hostDied(error);
  }
}
