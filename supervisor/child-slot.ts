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
  lastError: NodeError | null;
  nextRestartAt: number | null;
  startedAt: number | null;
  incarnation: number;
  /** Set while backing off: the id of the child whose restart timer will bring this one back. */
  pendingLeader: string | undefined;
}

/** Lives as long as the supervisor's cell, across its incarnations, so child refs stay valid. */
export class SupervisorState {
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

