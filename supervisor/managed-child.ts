import type { ExitListener } from '../src/actor/actor-cell.js';
import type { ActorRef } from '../src/actor/actor-ref.js';
import type { MailboxStats } from '../src/actor/mailbox.js';
import type { NodeKind, Placement, TreeNode } from './tree-node.js';

/** What a supervisor needs of a child, whether a local actor, a thread actor or a supervisor. */
export interface ManagedChild {
  readonly path: string;
  readonly kind: NodeKind;
  readonly placement: Placement;
  /** The handle others send to. */
  readonly ref: ActorRef<unknown, unknown>;
  /** The number of the incarnation now running; exits report the incarnation that ended. */
  readonly incarnation: number;
  readonly detail: Readonly<Record<string, unknown>> | undefined;
  /**
   * Starts a new incarnation: its number (which its exit reports), at once when it started
   * synchronously, else a promise of it; rejects if it could not start.
   */
  start(): number | Promise<number>;
  /** Ordered stop within `timeoutMs` (Infinity for supervisors). Does not report an exit. */
  stop(timeoutMs: number): Promise<void>;
  /** No incarnation will follow. */
  dispose(): void;
  onExit(listener: ExitListener): void;
  mailboxStats(): MailboxStats;
  childNodes(): TreeNode[];
}
