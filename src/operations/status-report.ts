import type { NodeKind, NodeStatus, Placement, TreeNode } from '../../supervisor/tree-node.js';

/** One row of `status`: a node as `pm2 ls` would show a process. */
export interface StatusRow {
  readonly path: string;
  /** Depth below the root (0 for the root), for indenting. */
  readonly depth: number;
  readonly kind: NodeKind;
  readonly status: NodeStatus;
  readonly restarts: number;
  readonly uptimeMs: number;
  readonly placement: Placement;
  readonly mailboxDepth: number;
  readonly lastError: { readonly message: string; readonly code: string | null; readonly at: string } | null;
  readonly nextRestartAt: string | null;
  /** A dependency child that is down: what it depends on, since when, retries so far. */
  readonly outage: { readonly dependency: string; readonly since: string; readonly retries: number } | null;
  /**
   * A dynamic supervisor (one batcher per conversation) is one row: its children counted by
   * status, never listed, so 10,000 conversations stay one line.
   */
  readonly dynamic: { readonly children: number; readonly byStatus: Readonly<Partial<Record<NodeStatus, number>>>; readonly restarts: number } | null;
}

/** The tree as rows, depth first; the children of dynamic supervisors summarised. */
export function statusRows(tree: TreeNode, isDynamic: (path: string) => boolean): StatusRow[] {
  const rows: StatusRow[] = [];
  const visit = (node: TreeNode, depth: number): void => {
    const dynamic = isDynamic(node.path);
    rows.push({
      path: node.path,
      depth,
      kind: node.kind,
      status: node.status,
      restarts: node.restarts,
      uptimeMs: node.uptimeMs,
      placement: node.placement,
      mailboxDepth: node.mailbox.depth,
      lastError: node.lastError,
      nextRestartAt: node.nextRestartAt,
      outage: node.outage ?? null,
      dynamic: dynamic ? summarise(node.children) : null,
    });
    if (!dynamic) for (const child of node.children) visit(child, depth + 1);
  };
  visit(tree, 0);
  return rows;
}

function summarise(children: readonly TreeNode[]): NonNullable<StatusRow['dynamic']> {
  const byStatus: Partial<Record<NodeStatus, number>> = {};
  let restarts = 0;
  for (const child of children) {
    byStatus[child.status] = (byStatus[child.status] ?? 0) + 1;
    restarts += child.restarts;
  }
  return { children: children.length, byStatus, restarts };
}
