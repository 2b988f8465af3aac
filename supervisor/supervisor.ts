import type { Logger } from 'pino';
import { ActorCell, type CellEnvironment } from '../src/actor/actor-cell.js';
import type { ActorRef, AskOptions } from '../src/actor/actor-ref.js';
import type { ActorContext, Behaviour, ExitReason } from '../src/actor/behaviour.js';
import type { MailboxStats } from '../src/actor/mailbox.js';
import type { Clock } from '../src/clock.js';
import { RuntimeError, errorCode, toError } from '../src/errors.js';
import type { BackoffOptions } from './backoff.js';
import type { ChildSpec, SupervisorSpec } from './child-spec.js';
import type { LifecycleEvents } from './lifecycle-events.js';
import type { ManagedChild } from './managed-child.js';
import { RestartIntensity, type IntensityOptions } from './restart-intensity.js';
import { decideRestart } from './restart-rule.js';
import { restartSet } from './strategy.js';
import { childPath, type NodeError, type NodeStatus, type TreeNode } from './tree-node.js';

export interface SupervisionDefaults {
  backoff: BackoffOptions;
  intensity: IntensityOptions;
  /** Ordered-stop budget of an actor child (a supervisor child waits for its whole subtree). */
  actorShutdownTimeoutMs: number;
}

/** What a supervisor gets from its runtime at spawn: no globals. */
export interface SupervisorEnvironment {
  readonly cell: CellEnvironment;
  readonly clock: Clock;
  readonly random: () => number;
  readonly events: LifecycleEvents;
  readonly defaults: SupervisionDefaults;
  readonly logger: Logger;
  /** Builds and registers the child for `spec` at `path`. */
  createChild(spec: ChildSpec, path: string): ManagedChild;
  /** Disposes and unregisters a child that will not come back. */
  release(child: ManagedChild): void;
}

export type SupervisorMessage =
  /** `slot` tells a child apart from a later one with the same id (dynamic children come back under their id). */
  | { readonly type: 'child_exit'; readonly id: string; readonly slot: number; readonly incarnation: number; readonly reason: ExitReason }
  | { readonly type: 'restart_due'; readonly leaderId: string }
  | { readonly type: 'start_child'; readonly spec: ChildSpec }
  | { readonly type: 'start_from_template'; readonly id: string; readonly args: unknown }
  | { readonly type: 'stop_child'; readonly id: string }
  | { readonly type: 'restart_child'; readonly id: string };

/** Requests answer with a value instead of throwing: a throw in `receive` would fail the supervisor. */
export type SupervisorReply =
  | { readonly ok: true; readonly child?: ManagedChild }
  | { readonly ok: false; readonly error: Error };

const OK: SupervisorReply = Object.freeze({ ok: true });

interface ChildSlot {
  readonly id: string;
  /** Unique per supervisor, never reused. */
  readonly seq: number;
  readonly spec: ChildSpec;
  readonly child: ManagedChild;
  readonly dynamic: boolean;
  status: NodeStatus;
  /** Restarts performed, over the life of the slot. */
  restarts: number;
  /** Consecutive restarts without a stable run; drives the backoff. */
  attempts: number;
  lastError: NodeError | null;
  nextRestartAt: number | null;
  startedAt: number | null;
  incarnation: number;
  /** Set while backing off: the id of the child whose restart timer will bring this one back. */
  pendingLeader: string | undefined;
}

/** Lives as long as the supervisor's cell, across its incarnations, so child refs stay valid. */
class SupervisorState {
  /** In start order. */
  readonly slots: ChildSlot[] = [];
  /** By id, so a dynamic supervisor with 10,000 children finds one without a scan. */
  readonly #byId = new Map<string, ChildSlot>();
  readonly retired: MailboxStats & { count: number } = { count: 0, depth: 0, processed: 0, dropped: 0 };

  find(id: string): ChildSlot | undefined {
    return this.#byId.get(id);
  }

  has(slot: ChildSlot): boolean {
    return this.#byId.get(slot.id) === slot;
  }

  add(slot: ChildSlot): void {
    this.slots.push(slot);
    this.#byId.set(slot.id, slot);
  }

  remove(slot: ChildSlot): void {
    if (this.#byId.get(slot.id) !== slot) return;
    this.#byId.delete(slot.id);
    // Dynamic children end one by one, usually recently started ones: search from the end.
    const index = this.slots.lastIndexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
  }

  clear(): ChildSlot[] {
    this.#byId.clear();
    return this.slots.splice(0);
  }
}

/** Requests to a supervisor may wait on ordered stops of whole subtrees. */
const ADMIN_ASK_TIMEOUT_MS = 120_000;

const restartTimerKey = (leaderId: string): string => `restart:${leaderId}`;

function nodeError(error: Error, at: number): NodeError {
  return { message: error.message, code: errorCode(error) ?? null, at: new Date(at).toISOString() };
}

function escalation(path: string, why: string): RuntimeError {
  return new RuntimeError('ERR_SUPERVISOR_ESCALATED', `supervisor ${path} escalates: ${why}`);
}

/**
 * A supervisor is an actor: child exits, restart timers and admin requests are messages,
 * handled one at a time, so no two restarts ever interleave. Escalating is failing: the
 * behaviour throws and the parent applies its own rule to this supervisor.
 */
class SupervisorBehaviour implements Behaviour<SupervisorMessage, SupervisorReply> {
  readonly #handle: SupervisorHandle;
  readonly #spec: SupervisorSpec;
  readonly #env: SupervisorEnvironment;
  readonly #state: SupervisorState;
  readonly #intensity: RestartIntensity;
  #ctx!: ActorContext<SupervisorMessage>;

  constructor(handle: SupervisorHandle, spec: SupervisorSpec, state: SupervisorState, env: SupervisorEnvironment) {
    this.#handle = handle;
    this.#spec = spec;
    this.#env = env;
    this.#state = state;
    this.#intensity = new RestartIntensity({ ...env.defaults.intensity, ...spec.intensity });
  }

  async start(ctx: ActorContext<SupervisorMessage>): Promise<void> {
    this.#ctx = ctx;
    for (const slot of this.#state.slots) {
      slot.attempts = 0;
      slot.pendingLeader = undefined;
      slot.status = 'stopped';
    }
    try {
      await this.#startMembers(this.#state.slots.slice(), false);
    } catch (error) {
      await this.#stopAll();
      throw error;
    }
  }

  async receive(message: SupervisorMessage): Promise<SupervisorReply> {
    switch (message.type) {
      case 'child_exit': {
        const slot = this.#state.find(message.id);
        if (slot && slot.seq === message.slot && slot.incarnation === message.incarnation) await this.#handleExit(slot, message.reason);
        return OK;
      }
      case 'restart_due':
        await this.#restartGroup(message.leaderId);
        return OK;
      default:
        try {
          return await this.#request(message);
        } catch (error) {
          if (errorCode(error) === 'ERR_SUPERVISOR_ESCALATED') throw error;
          return { ok: false, error: toError(error) };
        }
    }
  }

  async #request(
    message: Exclude<SupervisorMessage, { type: 'child_exit' } | { type: 'restart_due' }>,
  ): Promise<SupervisorReply> {
    switch (message.type) {
      case 'start_child':
        return { ok: true, child: await this.#startDynamic(message.spec) };
      case 'start_from_template': {
        const template = this.#spec.template;
        if (!template) throw new RuntimeError('ERR_BAD_SPEC', `${this.#ctx.path} has no child template`);
        return { ok: true, child: await this.#startDynamic(template.call(this.#spec, message.id, message.args)) };
      }
      case 'stop_child':
        await this.#stopChild(this.#require(message.id));
        return OK;
      case 'restart_child':
        await this.#manualRestart(this.#require(message.id));
        return OK;
    }
  }

  async stop(): Promise<void> {
    await this.#stopAll();
  }

  // ---- the restart rule applied -------------------------------------------------------

  async #handleExit(slot: ChildSlot, reason: ExitReason): Promise<void> {
    if ((slot.status !== 'running' && slot.status !== 'starting') || !this.#state.has(slot)) return;
    const now = this.#env.clock.now();
    const ranForMs = slot.startedAt === null ? 0 : now - slot.startedAt;
    slot.startedAt = null;
    if (reason.kind === 'failure') {
      slot.lastError = nodeError(reason.error, now);
      this.#env.events.publish({ type: 'failed', path: slot.child.path, at: now, error: slot.lastError });
      this.#logOf(slot).warn({ err: reason.error }, 'child failed');
    }
    const backoff = this.#backoffOf(slot.spec);
    const decision = decideRestart({
      restart: slot.spec.restart ?? 'permanent',
      reason,
      attempts: slot.attempts,
      ranForMs,
      backoff,
      intensity: this.#intensity,
      now,
      random: this.#env.random,
    });
    switch (decision.action) {
      case 'none':
        // Passivation race: mail reached a dynamic child while it was ending normally. Start it
        // again so the mail is handled (as Akka's sharding does); not a failure, no backoff.
        if (slot.dynamic && reason.kind === 'normal' && slot.child.mailboxStats().depth > 0) {
          slot.status = 'stopped';
          await this.#startMembers([slot], false);
          return;
        }
        slot.status = reason.kind === 'failure' ? 'failed' : 'stopped';
        this.#env.events.publish({
          type: 'stopped',
          path: slot.child.path,
          at: now,
          reason: reason.kind === 'failure' ? 'failure' : 'normal',
        });
        if (slot.dynamic) this.#retire(slot);
        return;
      case 'escalate':
        slot.status = 'failed';
        throw this.#escalate(now, `${decision.restartsInWindow} restarts within ${this.#intensity.withinMs} ms`);
      case 'give_up':
        slot.status = 'failed';
        this.#env.events.publish({ type: 'gave_up', path: slot.child.path, at: now, attempts: decision.attempts });
        this.#logOf(slot).error({ attempts: decision.attempts }, 'child given up after repeated failures');
        if ((slot.spec.onGiveUp ?? 'escalate') === 'escalate') {
          throw this.#escalate(now, `${slot.child.path} gave up after ${decision.attempts} restarts`);
        }
        if (slot.dynamic) this.#retire(slot);
        return;
      case 'restart':
        slot.attempts = decision.attempt;
        await this.#scheduleRestart(slot, decision.delayMs, decision.attempt, false);
        return;
    }
  }

  /**
   * Takes down the strategy's set for `leader`, then brings it back after `delayMs`. As in
   * OTP, a `temporary` sibling taken down with the set is not brought back.
   */
  async #scheduleRestart(leader: ChildSlot, delayMs: number, attempt: number, manual: boolean): Promise<void> {
    const slots = this.#state.slots;
    const set = restartSet(this.#spec.strategy, slots.length, slots.indexOf(leader)).map((i) => slots[i] as ChildSlot);
    for (const member of set.slice().reverse()) {
      if (member !== leader) await this.#stopSlot(member);
    }
    const members = set.filter((member) => member === leader || (member.spec.restart ?? 'permanent') !== 'temporary');
    for (const member of members) {
      if (member.pendingLeader !== undefined && member.pendingLeader !== leader.id) {
        this.#ctx.timers.cancel(restartTimerKey(member.pendingLeader));
      }
    }
    const now = this.#env.clock.now();
    for (const member of members) {
      member.status = 'backing_off';
      member.nextRestartAt = now + delayMs;
      member.pendingLeader = leader.id;
    }
    this.#env.events.publish({
      type: 'restarting',
      path: leader.child.path,
      at: now,
      attempt,
      delayMs,
      members: members.map((member) => member.child.path),
      manual,
    });
    // A zero delay restarts at once: a timer would add a millisecond for nothing.
    if (delayMs === 0) await this.#restartGroup(leader.id);
    else this.#ctx.timers.once(restartTimerKey(leader.id), delayMs, { type: 'restart_due', leaderId: leader.id });
  }

  async #restartGroup(leaderId: string): Promise<void> {
    this.#ctx.timers.cancel(restartTimerKey(leaderId));
    const members = this.#state.slots.filter((slot) => slot.pendingLeader === leaderId);
    for (const member of members) member.pendingLeader = undefined;
    await this.#startMembers(members, true);
  }

  /**
   * Starts `members` in start order. A start that fails is a failure like any other; if
   * its handling schedules a restart for later members, they are left to that timer.
   */
  async #startMembers(members: ChildSlot[], isRestart: boolean): Promise<void> {
    for (const slot of members) {
      if (slot.pendingLeader !== undefined || !this.#state.has(slot)) continue;
      if (slot.status === 'running' || slot.status === 'starting') continue;
      const error = await this.#startSlot(slot, isRestart);
      if (error) await this.#handleExit(slot, { kind: 'failure', error });
    }
  }

  async #startSlot(slot: ChildSlot, isRestart: boolean): Promise<Error | undefined> {
    slot.status = 'starting';
    slot.nextRestartAt = null;
    if (isRestart) slot.restarts++;
    let incarnation: number;
    try {
      // The incarnation is what start() resolved with: the child may already have ended
      // (and reported that very incarnation) before this continuation runs.
      incarnation = await slot.child.start();
    } catch (error) {
      return toError(error);
    }
    const now = this.#env.clock.now();
    slot.status = 'running';
    slot.startedAt = now;
    slot.incarnation = incarnation;
    this.#env.events.publish({ type: 'started', path: slot.child.path, at: now, restarts: slot.restarts });
    return undefined;
  }

  async #stopSlot(slot: ChildSlot): Promise<void> {
    if (slot.status === 'running' || slot.status === 'starting') {
      slot.status = 'stopping';
      await slot.child.stop(this.#shutdownTimeoutOf(slot.spec));
      this.#logOf(slot).debug('child stopped');
    }
    slot.status = 'stopped';
    slot.startedAt = null;
    slot.nextRestartAt = null;
  }

  async #stopAll(): Promise<void> {
    for (const slot of this.#state.slots.slice().reverse()) {
      if (slot.pendingLeader !== undefined) this.#ctx.timers.cancel(restartTimerKey(slot.pendingLeader));
      slot.pendingLeader = undefined;
      await this.#stopSlot(slot);
      if (slot.dynamic) this.#retire(slot);
    }
  }

  // ---- dynamic children and admin requests -------------------------------------------

  async #startDynamic(spec: ChildSpec): Promise<ManagedChild> {
    const existing = this.#state.find(spec.id);
    if (existing) {
      if (existing.status !== 'stopped' && existing.status !== 'failed') return existing.child;
      this.#retire(existing);
    }
    const slot = this.#handle.addSlot(spec, true);
    const error = await this.#startSlot(slot, false);
    if (error) {
      this.#retire(slot);
      throw error;
    }
    return slot.child;
  }

  async #stopChild(slot: ChildSlot): Promise<void> {
    if (slot.pendingLeader !== undefined) this.#ctx.timers.cancel(restartTimerKey(slot.pendingLeader));
    slot.pendingLeader = undefined;
    await this.#stopSlot(slot);
    this.#env.events.publish({ type: 'stopped', path: slot.child.path, at: this.#env.clock.now(), reason: 'normal' });
    if (slot.dynamic) this.#retire(slot);
  }

  /** An operator's restart: now, with the backoff count reset, not counted against the intensity. */
  async #manualRestart(slot: ChildSlot): Promise<void> {
    slot.attempts = 0;
    // Waiting for a group restart: bring the whole group back now, in start order.
    if (slot.pendingLeader !== undefined) {
      await this.#restartGroup(slot.pendingLeader);
      return;
    }
    slot.pendingLeader = undefined;
    await this.#stopSlot(slot);
    this.#env.events.publish({
      type: 'restarting',
      path: slot.child.path,
      at: this.#env.clock.now(),
      attempt: 0,
      delayMs: 0,
      members: [slot.child.path],
      manual: true,
    });
    await this.#startMembers([slot], true);
  }

  #retire(slot: ChildSlot): void {
    const stats = slot.child.mailboxStats();
    this.#state.retired.count++;
    this.#state.retired.processed += stats.processed;
    this.#state.retired.dropped += stats.dropped + stats.depth;
    this.#state.remove(slot);
    this.#env.release(slot.child);
  }

  #require(id: string): ChildSlot {
    const slot = this.#state.find(id);
    if (!slot) throw new RuntimeError('ERR_CHILD_NOT_FOUND', `${this.#ctx.path} has no child ${id}`);
    return slot;
  }

  #escalate(now: number, why: string): RuntimeError {
    this.#env.events.publish({ type: 'escalated', path: this.#ctx.path, at: now, reason: why });
    this.#ctx.log.error({ why }, 'supervisor escalates to its parent');
    return escalation(this.#ctx.path, why);
  }

  #backoffOf(spec: ChildSpec): BackoffOptions {
    return spec.backoff ? { ...this.#env.defaults.backoff, ...spec.backoff } : this.#env.defaults.backoff;
  }

  #shutdownTimeoutOf(spec: ChildSpec): number {
    return spec.shutdownTimeoutMs ?? (spec.kind === 'supervisor' ? Infinity : this.#env.defaults.actorShutdownTimeoutMs);
  }

  #logOf(slot: ChildSlot): Logger {
    return this.#ctx.log.child({ child: slot.child.path });
  }
}

/** The supervisor as its parent and the rest of the runtime see it. */
export class SupervisorHandle implements ManagedChild {
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
      throw new RuntimeError('ERR_CHILD_EXISTS', `${this.path} already has a child ${spec.id}`);
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
      lastError: null,
      nextRestartAt: null,
      startedAt: null,
      incarnation: 0,
      pendingLeader: undefined,
    };
    child.onExit((reason, incarnation) => {
      this.#cell.tell({ type: 'child_exit', id: spec.id, slot: slot.seq, incarnation, reason });
    });
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

  start(): Promise<number> {
    return this.#cell.start();
  }

  stop(timeoutMs: number): Promise<void> {
    return this.#cell.stop(timeoutMs);
  }

  dispose(): void {
    this.#cell.dispose();
    for (const slot of this.#state.clear()) this.#env.release(slot.child);
  }

  onExit(listener: Parameters<ManagedChild['onExit']>[0]): void {
    this.#cell.onExit(listener);
  }

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

  async stopChild(id: string, options?: AskOptions): Promise<void> {
    await this.#request({ type: 'stop_child', id }, options);
  }

  async restartChild(id: string, options?: AskOptions): Promise<void> {
    await this.#request({ type: 'restart_child', id }, options);
  }

  async #request(message: SupervisorMessage, options: AskOptions | undefined): Promise<SupervisorReply> {
    // A supervisor backing off or stopped would hold the request until it times out: say so now.
    if (!this.#cell.isRunning) throw new RuntimeError('ERR_ACTOR_STOPPED', `supervisor ${this.path} is not running; try again once it is`);
    const reply = await this.#cell.ask(message, options ?? { timeoutMs: ADMIN_ASK_TIMEOUT_MS });
    if (!reply.ok) throw reply.error;
    return reply;
  }

  #childOf(reply: SupervisorReply): ActorRef<unknown, unknown> {
    if (!reply.ok || !reply.child) throw new RuntimeError('ERR_CHILD_NOT_FOUND', `${this.path} returned no child`);
    return reply.child.ref;
  }
}

function validateChildId(id: string, parent: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.includes('/')) {
    throw new RuntimeError('ERR_BAD_SPEC', `child id under ${parent} must be a non-empty string without '/', got ${JSON.stringify(id)}`);
  }
}

function validateSupervisorSpec(spec: SupervisorSpec, path: string): void {
  if (spec.template && spec.strategy !== 'one_for_one') {
    throw new RuntimeError('ERR_BAD_SPEC', `${path}: a supervisor with a child template must use one_for_one`);
  }
  const intensity = spec.intensity;
  if (intensity?.maxRestarts !== undefined && !(intensity.maxRestarts >= 0)) {
    throw new RuntimeError('ERR_BAD_SPEC', `${path}: intensity.maxRestarts must be >= 0`);
  }
  if (intensity?.withinMs !== undefined && !(intensity.withinMs > 0)) {
    throw new RuntimeError('ERR_BAD_SPEC', `${path}: intensity.withinMs must be > 0`);
  }
}
