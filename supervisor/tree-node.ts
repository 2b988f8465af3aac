import type { MailboxStats } from '../src/actor/mailbox.js';

export type NodeStatus = 'starting' | 'running' | 'backing_off' | 'stopping' | 'stopped' | 'failed';
export type NodeKind = 'supervisor' | 'actor';
export type Placement = 'local' | 'thread';

export interface NodeError {
  message: string;
  code: string | null;
  at: string;
}

/** One node of `GET /health/tree`; the contract of DESIGN section 5. */
export interface TreeNode {
  path: string;
  kind: NodeKind;
  status: NodeStatus;
  restarts: number;
  lastError: NodeError | null;
  nextRestartAt: string | null;
  uptimeMs: number;
  mailbox: MailboxStats;
  placement: Placement;
  children: TreeNode[];
  /** A dependency child that is down: what it depends on, since when, and how many retries so far. */
  outage?: { dependency: string; since: string; retries: number };
  detail?: Readonly<Record<string, unknown>>;
}

/**
 * Built with join, which makes one flat string: a template literal makes a cons string,
 * and a cons string used as a map key (the registry) keeps both itself and its flattened
 * copy alive, 32 bytes more per actor (10,000 batchers).
 */
export function childPath(parent: string, id: string): string {
  return parent === '/' ? `/${id}` : [parent, id].join('/');
}

/** The last segment of a path: the id its supervisor knows the child by. */
export function childId(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function parentPath(path: string): string | undefined {
  if (path === '/') return undefined;
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

export function* walkTree(node: TreeNode): Generator<TreeNode> {
  yield node;
  for (const child of node.children) yield* walkTree(child);
}
