import { ActorCell, type ExitListener } from '../src/actor/actor-cell.js';
import type { ActorRef, AskOptions } from '../src/actor/actor-ref.js';
import type { MailboxStats } from '../src/actor/mailbox.js';
import { RuntimeError } from '../src/errors.js';
import type { ChildSpec, SupervisorSpec } from './child-spec.js';
import { SupervisorState, type ChildSlot } from './child-slot.js';
import type { ManagedChild } from './managed-child.js';
import { SupervisorBehaviour, type SlotFactory } from './supervisor-behaviour.js';
import type { SupervisorEnvironment, SupervisorMessage, SupervisorReply } from './supervisor-protocol.js';
import { childId, childPath, type TreeNode } from './tree-node.js';

export type { SupervisionDefaults, SupervisorEnvironment, SupervisorMessage, SupervisorReply } from './supervisor-protocol.js';

/** Requests to a supervisor may wait on ordered stops of whole subtrees. */
const ADMIN_ASK_TIMEOUT_MS = 120_000;

/** The supervisor as its parent and the rest of the runtime see it. */
export class SupervisorHandle implements ManagedChild, SlotFactory {
  readonly kind = 'supervisor';
  readonly placement = 'local';
  readonly path: string;
  readonly spec: SupervisorSpec;
  readonly #cell: ActorCell<SupervisorMessage, SupervisorReply>;
  readonly #state = new SupervisorState();
  readonly #env: SupervisorEnvironment;
  #slotSeq = 0;

  constructor(spec: SupervisorSpec, path: string, env: SupervisorEnvironment) {
    validateSupervisorSpec(spec, path);
    this.path = path;
    this.spec = spec;
    this.#env = env;
    this.#cell = new ActorCell<SupervisorMessage, SupervisorReply>(
      {
        path,
        factory: () => new SupervisorBehaviour(this, spec, this.#state, env),
        // Control traffic is bounded by the children's own events; it must never be dropped.
        mailbox: { capacity: Number.MAX_SAFE_INTEGER, overflow: 'reject' },
        startTimeoutMs: spec.startTimeoutMs ?? Infinity,
        stopTimeoutMs: Infinity,
      },
      env.cell,
    );
    for (const child of spec.children ?? []) this.addSlot(child, false);
  }

  /** @internal used by the behaviour; creates, registers and wires a child. */
  addSlot(spec: ChildSpec, dynamic: boolean): ChildSlot {
    validateChildId(spec.id, this.path);
    if (this.#state.find(spec.id)) {
      throw new RuntimeError('WAR_ERR_CHILD_EXISTS', `${this.path} already has a child ${spec.id}`);
    }
    const child = this.#env.createChild(spec, childPath(this.path, spec.id));
    const slot: ChildSlot = {
      id: spec.id,
      seq: ++this.#slotSeq,
      spec,
      child,
      dynamic,
      status: 'stopped',
      restarts: 0,
      attempts: 0,
      countedAttempts: 0,
      outageSince: null,
      lastError: null,
      nextRestartAt: null,
      startedAt: null,
      incarnation: 0,
      pendingLeader: undefined,
    };
    child.onExit(this.#childExited);
    this.#state.add(slot);
    return slot;
  }

  get ref(): ActorRef<unknown, unknown> {
    return this.#cell.ref;
  }

  get incarnation(): number {
    return this.#cell.incarnation;
  }

  get detail(): Readonly<Record<string, unknown>> | undefined {
    if (!this.spec.template) return undefined;
    const { count, processed, dropped } = this.#state.retired;
    return { retired: { count, processed, dropped } };
  }

  start(): number | Promise<number> {
    return this.#cell.start();
  }

  stop(timeoutMs: number): Promise<void> {
    return this.#cell.stop(timeoutMs);
  }

  dispose(): void {
    this.#cell.dispose();
    for (const slot of this.#state.clear()) this.#env.release(slot.child);
  }

  onExit(listener: ExitListener): void {
    this.#cell.onExit((reason, incarnation) => listener(reason, incarnation, this));
  }

  /** One listener for every child (not a closure per child: a dynamic supervisor may hold 10,000). */
  readonly #childExited: ExitListener = (reason, incarnation, child) => {
    const id = childId(child.path);
    const slot = this.#state.find(id);
    // A child no longer in its slot (retired, replaced) is ignored, as the supervisor would.
    if (slot?.child !== child) return;
    this.#cell.tell({ type: 'child_exit', id, slot: slot.seq, incarnation, reason });
  };

  mailboxStats(): MailboxStats {
    return this.#cell.mailboxStats();
  }

  childNodes(): TreeNode[] {
    const now = this.#env.clock.now();
    return this.#state.slots.map((slot) => {
      const node: TreeNode = {
        path: slot.child.path,
        kind: slot.child.kind,
        status: slot.status,
        restarts: slot.restarts,
        lastError: slot.lastError,
        nextRestartAt: slot.nextRestartAt === null ? null : new Date(slot.nextRestartAt).toISOString(),
        uptimeMs: slot.status === 'running' && slot.startedAt !== null ? now - slot.startedAt : 0,
        mailbox: slot.child.mailboxStats(),
        placement: slot.child.placement,
        children: slot.child.childNodes(),
      };
      if (slot.outageSince !== null && slot.status === 'backing_off' && slot.spec.dependency) {
        node.outage = { dependency: slot.spec.dependency.name, since: new Date(slot.outageSince).toISOString(), retries: slot.attempts };
      }
      const detail = slot.child.detail;
      if (detail) node.detail = detail;
      return node;
    });
  }

  /** The child ids in start order. */
  childIds(): string[] {
    return this.#state.slots.map((slot) => slot.id);
  }

  // ---- the supervisor's API, as messages ----------------------------------------------

  /** Starts a dynamic child, or returns the one already running under that id. */
  async startChild<M = unknown, R = unknown>(spec: ChildSpec, options?: AskOptions): Promise<ActorRef<M, R>> {
    return this.#childOf(await this.#request({ type: 'start_child', spec }, options)) as ActorRef<M, R>;
  }

  /** Starts a dynamic child from the template, or returns the one already running under that id. */
  async startFromTemplate<M = unknown, R = unknown>(id: string, args: unknown, options?: AskOptions): Promise<ActorRef<M, R>> {
    return this.#childOf(await this.#request({ type: 'start_from_template', id, args }, options)) as ActorRef<M, R>;
  }

  /**
   * As startFromTemplate, but without the round trip when it can be had: an idle supervisor
   * handles the request on the caller's stack (the order its mailbox would give it), and a
   * child whose start is synchronous is running when this returns. The ref at once then;
   * else a promise of it (the supervisor was busy, or the child starts asynchronously).
   */
  startFromTemplateNow<M = unknown, R = unknown>(id: string, args: unknown): ActorRef<M, R> | Promise<ActorRef<M, R>> {
    if (!this.#cell.isRunning) return Promise.reject(notRunning(this.path));
    const reply = this.#cell.askNow({ type: 'start_from_template', id, args }, { timeoutMs: ADMIN_ASK_TIMEOUT_MS });
    if (reply instanceof Promise) return reply.then((settled) => this.#childOf(settled) as ActorRef<M, R>);
    return this.#childOf(reply) as ActorRef<M, R>;
  }

  /** The child running under `id` (a dynamic child, by its id), or undefined. */
  child<M = unknown, R = unknown>(id: string): ActorRef<M, R> | undefined {
    return this.#state.find(id)?.child.ref as ActorRef<M, R> | undefined;
  }

  async stopChild(id: string, options?: AskOptions): Promise<void> {
    await this.#request({ type: 'stop_child', id }, options);
  }

  async restartChild(id: string, options?: AskOptions): Promise<void> {
    await this.#request({ type: 'restart_child', id }, options);
  }

  async #request(message: SupervisorMessage, options: AskOptions | undefined): Promise<SupervisorReply> {
    // A supervisor backing off or stopped would hold the request until it times out: say so now.
    if (!this.#cell.isRunning) throw notRunning(this.path);
    const reply = await this.#cell.ask(message, options ?? { timeoutMs: ADMIN_ASK_TIMEOUT_MS });
    if (!reply.ok) throw reply.error;
    return reply;
  }

  #childOf(reply: SupervisorReply): ActorRef<unknown, unknown> {
    if (!reply.ok) throw reply.error;
    if (!reply.child) throw new RuntimeError('WAR_ERR_CHILD_NOT_FOUND', `${this.path} returned no child`);
    return reply.child.ref;
  }
}

function notRunning(path: string): RuntimeError {
  return new RuntimeError('WAR_ERR_ACTOR_STOPPED', `supervisor ${path} is not running; try again once it is`);
}

function validateChildId(id: string, parent: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.includes('/')) {
    throw new RuntimeError('WAR_ERR_BAD_SPEC', `child id under ${parent} must be a non-empty string without '/', got ${JSON.stringify(id)}`);
  }
}

function validateSupervisorSpec(spec: SupervisorSpec, path: string): void {
  if (spec.template && spec.strategy !== 'one_for_one') {
    throw new RuntimeError('WAR_ERR_BAD_SPEC', `${path}: a supervisor with a child template must use one_for_one`);
  }
  const intensity = spec.intensity;
  if (intensity?.maxRestarts !== undefined && !(intensity.maxRestarts >= 0)) {
    throw new RuntimeError('WAR_ERR_BAD_SPEC', `${path}: intensity.maxRestarts must be >= 0`);
  }
  if (intensity?.withinMs !== undefined && !(intensity.withinMs > 0)) {
    throw new RuntimeError('WAR_ERR_BAD_SPEC', `${path}: intensity.withinMs must be > 0`);
  }
}

