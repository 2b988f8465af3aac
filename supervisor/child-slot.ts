import type { MailboxStats } from '../src/actor/mailbox.js';
import type { ChildSpec } from './child-spec.js';
import type { ManagedChild } from './managed-child.js';
import type { NodeError, NodeStatus } from './tree-node.js';

/** A supervisor's record of one child: what the tree shows, and what the restart rule reads. */
export interface ChildSlot {
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
  /** Of those, the ones that were not a dependency's outage; drives giving up. */
  countedAttempts: number;
  /** Since when a dependency child has been down (its restarts are outages), or null. */
  outageSince: number | null;
  lastError: NodeError | null;
  nextRestartAt: number | null;
  startedAt: number | null;
  incarnation: number;
  /** Set while backing off: the id of the child whose restart timer will bring this one back. */
  pendingLeader: string | undefined;
}

/** Lives as long as the supervisor's cell, across its incarnations, so child refs stay valid. */
export class SupervisorState {
  /**
   * By id, in start order (a Map keeps insertion order): a dynamic supervisor with 10,000
   * children finds, adds and removes one in O(1), where an array's splice was O(n) per exit.
   */
  readonly #byId = new Map<string, ChildSlot>();
  readonly retired: MailboxStats & { count: number } = { count: 0, depth: 0, processed: 0, dropped: 0 };

  /** In start order; a fresh array (restarts and tree snapshots, not per message). */
  get slots(): ChildSlot[] {
    return [...this.#byId.values()];
  }

  get size(): number {
    return this.#byId.size;
  }

  find(id: string): ChildSlot | undefined {
    return this.#byId.get(id);
  }

  has(slot: ChildSlot): boolean {
    return this.#byId.get(slot.id) === slot;
  }

  add(slot: ChildSlot): void {
    this.#byId.set(slot.id, slot);
  }

  remove(slot: ChildSlot): void {
    if (this.#byId.get(slot.id) === slot) this.#byId.delete(slot.id);
  }

  clear(): ChildSlot[] {
    const slots = this.slots;
    this.#byId.clear();
    return slots;
  }
}
