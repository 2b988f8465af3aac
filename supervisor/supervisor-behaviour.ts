import type { Logger } from 'pino';
import type { ActorContext, Behaviour, ExitReason } from '../src/actor/behaviour.js';
import { RuntimeError, errorCode, toError } from '../src/errors.js';
import type { BackoffOptions } from './backoff.js';
import type { ChildSpec, SupervisorSpec } from './child-spec.js';
import type { ChildSlot, SupervisorState } from './child-slot.js';
import type { ManagedChild } from './managed-child.js';
import { RestartIntensity } from './restart-intensity.js';
import { countsTowardIntensity, decideRestart, isOutage, needsRestart, restartGroup, type RestartInput } from './restart-rule.js';
import { OK, type SupervisorEnvironment, type SupervisorMessage, type SupervisorReply } from './supervisor-protocol.js';
import type { NodeError } from './tree-node.js';

/** Creates, registers and wires a child slot: the supervisor's handle does it, for dynamic children too. */
export interface SlotFactory {
  addSlot(spec: ChildSpec, dynamic: boolean): ChildSlot;
}

const restartTimerKey = (leaderId: string): string => `restart:${leaderId}`;

function nodeError(error: Error, at: number): NodeError {
  return { message: error.message, code: errorCode(error) ?? null, at: new Date(at).toISOString() };
}

function escalation(path: string, why: string): RuntimeError {
  return new RuntimeError('WAR_ERR_SUPERVISOR_ESCALATED', `supervisor ${path} escalates: ${why}`);
}

/**
 * A supervisor is an actor: child exits, restart timers and admin requests are messages,
 * handled one at a time, so no two restarts ever interleave. Escalating is failing: the
 * behaviour throws and the parent applies its own rule to this supervisor.
 */
export class SupervisorBehaviour implements Behaviour<SupervisorMessage, SupervisorReply> {
  readonly #handle: SlotFactory;
  readonly #spec: SupervisorSpec;
  readonly #env: SupervisorEnvironment;
  readonly #state: SupervisorState;
  readonly #intensity: RestartIntensity;
  /** Filled for each exit (restart-rule.ts reads it, never keeps it). */
  readonly #restartInput: RestartInput;
  #ctx!: ActorContext<SupervisorMessage>;

  constructor(handle: SlotFactory, spec: SupervisorSpec, state: SupervisorState, env: SupervisorEnvironment) {
    this.#handle = handle;
    this.#spec = spec;
    this.#env = env;
    this.#state = state;
    this.#intensity = new RestartIntensity({ ...env.defaults.intensity, ...spec.intensity });
    this.#restartInput = {
      restart: 'permanent',
      reason: { kind: 'normal' },
      attempts: 0,
      countedAttempts: 0,
      ranForMs: 0,
      backoff: env.defaults.backoff,
      intensity: this.#intensity.options,
      restartsInWindow: 0,
      outage: false,
      mailWaiting: false,
      dynamic: false,
      onGiveUp: 'escalate',
      jitterSample: 0,
    };
  }

  async start(ctx: ActorContext<SupervisorMessage>): Promise<void> {
    this.#ctx = ctx;
    for (const slot of this.#state.slots) {
      slot.attempts = 0;
      slot.countedAttempts = 0;
      slot.outageSince = null;
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

  /**
   * Synchronous where it can be: starting a dynamic child whose start is synchronous
   * answers at once (see SupervisorHandle.startFromTemplateNow); everything else is async.
   */
  receive(message: SupervisorMessage): SupervisorReply | Promise<SupervisorReply> {
    switch (message.type) {
      case 'child_exit':
        return this.#childExit(message.id, message.slot, message.incarnation, message.reason);
      case 'restart_due':
        return this.#restartGroup(message.leaderId).then(() => OK);
      default: {
        let reply: SupervisorReply | Promise<SupervisorReply>;
        try {
          reply = this.#request(message);
        } catch (error) {
          return this.#refused(error);
        }
        return reply instanceof Promise ? reply.then(undefined, this.#refused) : reply;
      }
    }
  }

  /** Synchronous unless the exit starts something (a restart, a passivation race): a passivating batcher costs no promise. */
  #childExit(id: string, seq: number, incarnation: number, reason: ExitReason): SupervisorReply | Promise<SupervisorReply> {
    const slot = this.#state.find(id);
    if (!slot || slot.seq !== seq || slot.incarnation !== incarnation) return OK;
    const handled = this.#handleExit(slot, reason);
    return handled instanceof Promise ? handled.then(() => OK) : OK;
  }

  /** A request that failed is answered with its error; an escalation fails the supervisor. */
  readonly #refused = (error: unknown): SupervisorReply => {
    if (errorCode(error) === 'WAR_ERR_SUPERVISOR_ESCALATED') throw error;
    return { ok: false, error: toError(error) };
  };

  #request(
    message: Exclude<SupervisorMessage, { type: 'child_exit' } | { type: 'restart_due' }>,
  ): SupervisorReply | Promise<SupervisorReply> {
    switch (message.type) {
      case 'start_child':
        return this.#startedReply(this.#startDynamic(message.spec));
      case 'start_from_template': {
        const template = this.#spec.template;
        if (!template) throw new RuntimeError('WAR_ERR_NO_TEMPLATE', `${this.#ctx.path} has no child template`);
        return this.#startedReply(this.#startDynamic(template.call(this.#spec, message.id, message.args)));
      }
      case 'stop_child':
        return this.#stopChild(this.#require(message.id)).then(() => OK);
      case 'restart_child':
        return this.#manualRestart(this.#require(message.id)).then(() => OK);
    }
  }

  #startedReply(child: ManagedChild | Promise<ManagedChild>): SupervisorReply | Promise<SupervisorReply> {
    return child instanceof Promise ? child.then((started) => ({ ok: true, child: started })) : { ok: true, child };
  }

  async stop(): Promise<void> {
    await this.#stopAll();
  }

  // ---- the restart rule applied -------------------------------------------------------

  #handleExit(slot: ChildSlot, reason: ExitReason): void | Promise<void> {
    if ((slot.status !== 'running' && slot.status !== 'starting') || !this.#state.has(slot)) return;
    const now = this.#env.clock.now();
    const ranForMs = slot.startedAt === null ? 0 : now - slot.startedAt;
    slot.startedAt = null;
    const dependency = slot.spec.dependency;
    const outage = reason.kind === 'failure' && dependency !== undefined && (dependency.isOutage ?? isOutage)(reason.error);
    if (reason.kind === 'failure') {
      slot.lastError = nodeError(reason.error, now);
      this.#env.events.publish({ type: 'failed', path: slot.child.path, at: now, error: slot.lastError, outage });
      // An outage is logged by the child that owns the connection, once per change; a bug is logged here.
      if (!outage) this.#logOf(slot).warn({ err: reason.error }, 'child failed');
    }
    const backoff = this.#backoffOf(slot.spec);
    const restart = slot.spec.restart ?? 'permanent';
    // A passivating batcher (a normal exit nobody restarts) is the hot path: the rule reads
    // neither the window, nor the jitter, nor (unless dynamic) the mailbox then, so they are
    // not gathered (no draw from the random source, no filter of the intensity window).
    const restarting = needsRestart(restart, reason);
    const input = this.#restartInput;
    input.restart = restart;
    input.reason = reason;
    input.attempts = slot.attempts;
    input.countedAttempts = slot.countedAttempts;
    input.ranForMs = ranForMs;
    input.backoff = backoff;
    input.restartsInWindow = restarting ? this.#intensity.countAt(now) : 0;
    input.outage = outage;
    input.mailWaiting = !restarting && slot.dynamic && reason.kind === 'normal' && slot.child.mailboxStats().depth > 0;
    input.dynamic = slot.dynamic;
    input.onGiveUp = slot.spec.onGiveUp ?? 'escalate';
    input.jitterSample = restarting ? this.#env.random() : 0;
    const decision = decideRestart(input);
    if (countsTowardIntensity(decision)) this.#intensity.record(now);
    // Since the first outage of this run of outages; a stable run in between starts a new one.
    slot.outageSince = outage ? (ranForMs < backoff.resetAfterMs ? (slot.outageSince ?? now) : now) : null;
    switch (decision.action) {
      case 'restart_for_mail':
        slot.status = 'stopped';
        return this.#startMembers([slot], false);
      case 'none':
        slot.status = decision.status;
        if (this.#env.events.wants('stopped')) {
          this.#env.events.publish({ type: 'stopped', path: slot.child.path, at: now, reason: decision.status === 'failed' ? 'failure' : 'normal' });
        }
        if (slot.dynamic) this.#retire(slot);
        return;
      case 'escalate':
        slot.status = 'failed';
        throw this.#escalate(now, `${decision.restartsInWindow} restarts within ${this.#intensity.withinMs} ms`);
      case 'give_up':
        slot.status = 'failed';
        this.#env.events.publish({ type: 'gave_up', path: slot.child.path, at: now, attempts: decision.attempts });
        this.#logOf(slot).error({ attempts: decision.attempts }, 'child given up after repeated failures');
        if (decision.then === 'escalate') throw this.#escalate(now, `${slot.child.path} gave up after ${decision.attempts} restarts`);
        if (slot.dynamic) this.#retire(slot);
        return;
      case 'restart':
        slot.attempts = decision.attempt;
        slot.countedAttempts = decision.countedAttempt;
        return this.#scheduleRestart(slot, decision.delayMs, decision.attempt, false, decision.outage);
    }
  }

  /** Takes down the strategy's set for `leader`, then brings it back after `delayMs` (restart-rule.ts `restartGroup`). */
  async #scheduleRestart(leader: ChildSlot, delayMs: number, attempt: number, manual: boolean, outage: boolean): Promise<void> {
    const slots = this.#state.slots;
    const group = restartGroup(
      this.#spec.strategy,
      slots.map((slot) => slot.spec.restart ?? 'permanent'),
      slots.indexOf(leader),
    );
    for (const index of group.down.slice().reverse()) {
      const slot = slots[index] as ChildSlot;
      if (slot !== leader) await this.#stopSlot(slot);
    }
    const members = group.back.map((index) => slots[index] as ChildSlot);
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
      outage,
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

  /** The start's error, or undefined once it runs: at once when the child started synchronously. */
  #startSlot(slot: ChildSlot, isRestart: boolean): Error | undefined | Promise<Error | undefined> {
    slot.status = 'starting';
    slot.nextRestartAt = null;
    if (isRestart) slot.restarts++;
    let started: number | Promise<number>;
    try {
      started = slot.child.start();
    } catch (error) {
      return toError(error);
    }
    // The incarnation is what start() returned: the child may already have ended (and
    // reported that very incarnation) before an async start's continuation runs.
    if (typeof started === 'number') return this.#slotRunning(slot, started);
    return started.then((incarnation) => this.#slotRunning(slot, incarnation), toError);
  }

  #slotRunning(slot: ChildSlot, incarnation: number): undefined {
    const now = this.#env.clock.now();
    slot.status = 'running';
    slot.startedAt = now;
    slot.incarnation = incarnation;
    const events = this.#env.events;
    if (events.wants('started')) events.publish({ type: 'started', path: slot.child.path, at: now, restarts: slot.restarts });
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

  #startDynamic(spec: ChildSpec): ManagedChild | Promise<ManagedChild> {
    const existing = this.#state.find(spec.id);
    if (existing) {
      if (existing.status !== 'stopped' && existing.status !== 'failed') return existing.child;
      this.#retire(existing);
    }
    const slot = this.#handle.addSlot(spec, true);
    const started = this.#startSlot(slot, false);
    return started instanceof Promise ? started.then((error) => this.#dynamicStarted(slot, error)) : this.#dynamicStarted(slot, started);
  }

  #dynamicStarted(slot: ChildSlot, error: Error | undefined): ManagedChild {
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
    slot.countedAttempts = 0;
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
      outage: false,
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
    if (!slot) throw new RuntimeError('WAR_ERR_CHILD_NOT_FOUND', `${this.#ctx.path} has no child ${id}`);
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

