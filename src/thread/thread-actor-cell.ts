import type { Logger } from 'pino';
import type { ManagedChild } from '../../supervisor/managed-child.js';
import type { ThreadPlacement } from '../../supervisor/child-spec.js';
import type { TreeNode } from '../../supervisor/tree-node.js';
import type { ExitListener } from '../actor/actor-cell.js';
import type { ActorRef, AskOptions } from '../actor/actor-ref.js';
import type { ExitReason } from '../actor/behaviour.js';
import { Mailbox, Offer, type MailboxOptions, type MailboxStats } from '../actor/mailbox.js';
import { PendingAsk } from '../actor/pending-ask.js';
import type { Clock } from '../clock.js';
import { ActorStoppedError, AskTimeoutError, MailboxFullError, RuntimeError, type WorkerDiedError } from '../errors.js';
import { Op, RemoteError, STATS_DEPTH, STATS_DROPPED, STATS_PROCESSED, STATS_SLOTS, type WireExit } from './protocol.js';
import type { HostedActorProxy, PendingReply, ThreadHost } from './thread-host.js';
import type { ThreadHosts } from './thread-hosts.js';

export interface ThreadCellOptions {
  path: string;
  placement: ThreadPlacement;
  mailbox: MailboxOptions;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  askTimeoutMs: number;
}

export interface ThreadCellEnvironment {
  clock: Clock;
  hosts: ThreadHosts;
  logger: Logger;
}

/** Grace on top of the actor's own stop budget before the worker is terminated instead. */
const STOP_GRACE_MS = 1_000;

/** An ask to a thread actor; once settled here, a late reply from the worker is ignored. */
class ThreadAsk extends PendingAsk<unknown, unknown> implements PendingReply {
  askId = 0;
  host: ThreadHost | undefined;

  protected override settle(): boolean {
    if (!super.settle()) return false;
    this.host?.forgetAsk(this.askId);
    return true;
  }
}

type Buffered = { readonly tell: unknown } | ThreadAsk;

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'disposed';

/**
 * The main-thread face of an actor that runs in a worker. It is an ActorRef like a local
 * cell: messages sent while it has no worker (before the first start, after its worker
 * died) wait in a local bounded buffer and go out, in order, when it is attached again.
 */
export class ThreadActorCell implements ManagedChild, ActorRef<unknown, unknown>, HostedActorProxy {
  readonly kind = 'actor';
  readonly placement = 'thread';
  readonly path: string;
  readonly #options: ThreadCellOptions;
  readonly #env: ThreadCellEnvironment;
  readonly #buffer: Mailbox<Buffered>;
  #host: ThreadHost | undefined;
  #actorId = 0;
  #phase: Phase = 'idle';
  #incarnation = 0;
  #stats: Float64Array<ArrayBufferLike> = new Float64Array(STATS_SLOTS);
  /** Counts carried over from workers that are gone. */
  #processedBefore = 0;
  #droppedBefore = 0;
  #exitListener: ExitListener | undefined;
  #abortStart = false;
  #startCall: Promise<void> | undefined;

  constructor(options: ThreadCellOptions, env: ThreadCellEnvironment) {
    this.path = options.path;
    this.#options = options;
    this.#env = env;
    this.#buffer = new Mailbox(options.mailbox);
  }

  get ref(): ActorRef<unknown, unknown> {
    return this;
  }

  get incarnation(): number {
    return this.#incarnation;
  }

  get detail(): Readonly<Record<string, unknown>> | undefined {
    return this.#host ? { threadId: this.#host.threadId, group: this.#host.group } : undefined;
  }

  /** The worker's thread id while attached; tests use it to see a restart land in a new thread. */
  get threadId(): number | undefined {
    return this.#host?.threadId;
  }

  onExit(listener: ExitListener): void {
    this.#exitListener = listener;
  }

  childNodes(): TreeNode[] {
    return [];
  }

  mailboxStats(): MailboxStats {
    const inWorker = this.#host ? this.#stats[STATS_DEPTH] ?? 0 : 0;
    return {
      depth: this.#buffer.depth + inWorker,
      processed: this.#processedBefore + (this.#stats[STATS_PROCESSED] ?? 0),
      dropped: this.#droppedBefore + this.#buffer.dropped + (this.#stats[STATS_DROPPED] ?? 0),
    };
  }

  // ---- sending -------------------------------------------------------------------------

  tell(message: unknown): boolean {
    if (this.#phase === 'disposed') return false;
    if (this.#host) {
      this.#host.tell(this.#actorId, message);
      return true;
    }
    const offer = this.#buffer.offer({ tell: message });
    if (offer === Offer.Refused) return false;
    if (offer === Offer.EnqueuedEvicting) this.#rejectEvicted();
    return true;
  }

  ask(message: unknown, options?: AskOptions): Promise<unknown> {
    if (this.#phase === 'disposed') return Promise.reject(new ActorStoppedError(this.path));
    const clock = this.#env.clock;
    const timeoutMs = options?.timeoutMs ?? this.#options.askTimeoutMs;
    return new Promise((resolve, reject) => {
      const ask = new ThreadAsk(message, clock, resolve, reject);
      if (this.#host) this.#sendAsk(this.#host, ask);
      else {
        const offer = this.#buffer.offer(ask);
        if (offer === Offer.Refused) {
          reject(new MailboxFullError(this.path, this.#buffer.capacity));
          return;
        }
        if (offer === Offer.EnqueuedEvicting) this.#rejectEvicted();
      }
      if (Number.isFinite(timeoutMs)) {
        ask.timer = clock.setTimeout(() => ask.reject(new AskTimeoutError(this.path, timeoutMs)), timeoutMs);
      }
    });
  }

  #sendAsk(host: ThreadHost, ask: ThreadAsk): void {
    ask.host = host;
    ask.askId = host.ask(this.#actorId, ask.message, ask);
  }

  #rejectEvicted(): void {
    const evicted = this.#buffer.takeEvicted();
    if (evicted instanceof ThreadAsk) evicted.reject(new MailboxFullError(this.path, this.#buffer.capacity));
  }

  // ---- lifecycle -----------------------------------------------------------------------

  start(): Promise<number> {
    const call = this.#start();
    this.#startCall = call.then(
      () => undefined,
      () => undefined,
    );
    return call;
  }

  async #start(): Promise<number> {
    if (this.#phase !== 'idle') throw new RuntimeError('WAR_ERR_ILLEGAL_STATE', `cannot start ${this.path} while ${this.#phase}`);
    this.#phase = 'starting';
    this.#abortStart = false;
    const host = this.#host ?? this.#attach();
    let incarnation: number;
    try {
      incarnation = (await host.request(Op.Start, this.#actorId, this.#options.startTimeoutMs, `start of ${this.path}`)) as number;
    } catch (error) {
      if (this.#phase === 'starting') this.#phase = 'idle';
      // A start that hangs in the worker cannot be abandoned politely: the worker goes.
      if ((error as { code?: string }).code === 'WAR_ERR_ACTOR_START_TIMEOUT' && this.#host === host) {
        await host.terminate(`start of ${this.path} timed out`);
      }
      throw error;
    }
    if (this.#phase !== 'starting') throw new ActorStoppedError(this.path);
    this.#incarnation = incarnation;
    this.#phase = 'running';
    if (this.#abortStart) {
      // An ordered stop came while it was starting and is waiting for this.
      await this.#stopRunning(this.#options.stopTimeoutMs);
      throw new ActorStoppedError(this.path);
    }
    return incarnation;
  }

  async stop(timeoutMs: number): Promise<void> {
    if (this.#phase === 'starting') {
      this.#abortStart = true;
      await this.#startCall;
      return;
    }
    await this.#stopRunning(timeoutMs);
  }

  async #stopRunning(timeoutMs: number): Promise<void> {
    if (this.#phase !== 'running') return;
    this.#phase = 'stopping';
    const host = this.#host;
    if (host) {
      try {
        await host.request(Op.Stop, this.#actorId, timeoutMs + STOP_GRACE_MS, `stop of ${this.path}`);
      } catch (error) {
        if ((error as { code?: string }).code !== 'WAR_ERR_WORKER_DIED') {
          await host.terminate(`${this.path} did not stop within ${timeoutMs} ms`);
        }
      }
    }
    if (this.#phase === 'stopping') this.#phase = 'idle';
  }

  dispose(): void {
    if (this.#phase === 'disposed') return;
    this.#phase = 'disposed';
    if (this.#host) this.#host.detach(this.#actorId);
    this.#host = undefined;
    for (const item of this.#buffer.drain()) {
      if (item instanceof ThreadAsk) item.reject(new ActorStoppedError(this.path));
      else this.#droppedBefore++;
    }
  }

  #attach(): ThreadHost {
    const { placement } = this.#options;
    const host = this.#env.hosts.acquire(placement.group ?? this.path, placement.resourceLimits);
    this.#stats = new Float64Array(new SharedArrayBuffer(STATS_SLOTS * Float64Array.BYTES_PER_ELEMENT));
    this.#actorId = host.attach(this, {
      path: this.path,
      module: String(placement.module),
      exportName: placement.exportName,
      args: placement.args,
      mailbox: this.#options.mailbox,
      startTimeoutMs: this.#options.startTimeoutMs,
      stopTimeoutMs: this.#options.stopTimeoutMs,
      stats: this.#stats.buffer as SharedArrayBuffer,
    });
    this.#host = host;
    // What waited for a worker goes first, in the order it was sent.
    for (const item of this.#buffer.drain()) {
      if (item instanceof ThreadAsk) {
        if (!item.settled) this.#sendAsk(host, item);
      } else host.tell(this.#actorId, item.tell);
    }
    return host;
  }

  // ---- called by the host --------------------------------------------------------------

  exited(incarnation: number, exit: WireExit): void {
    if (this.#phase !== 'running' || incarnation !== this.#incarnation) return;
    this.#phase = 'idle';
    const reason: ExitReason = exit.kind === 'failure' ? { kind: 'failure', error: new RemoteError(exit.error) } : { kind: 'normal' };
    this.#exitListener?.(reason, incarnation, this);
  }

  hostDied(error: WorkerDiedError): void {
    // Messages queued inside the dead worker are gone: count them, never hide them.
    this.#processedBefore += this.#stats[STATS_PROCESSED] ?? 0;
    this.#droppedBefore += (this.#stats[STATS_DROPPED] ?? 0) + (this.#stats[STATS_DEPTH] ?? 0);
    this.#stats = new Float64Array(STATS_SLOTS);
    this.#host = undefined;
    if (this.#phase === 'running') {
      this.#phase = 'idle';
      this.#env.logger.warn({ actor: this.path, err: error }, 'thread actor lost its worker');
      this.#exitListener?.({ kind: 'failure', error }, this.#incarnation, this);
    }
  }
}
