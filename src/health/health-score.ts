import { walkTree, type NodeStatus, type TreeNode } from '../../supervisor/tree-node.js';
import type { CheckResult, CheckStatus } from './health-checks.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface TreeCheck {
  status: CheckStatus;
  message: string;
  nodes: Record<NodeStatus, number>;
}

export interface HealthAssessment {
  status: HealthStatus;
  score: number;
  tree: TreeCheck;
}

/** Points a finding costs, out of 100. */
const PENALTY = {
  checkWarn: 15,
  checkCritical: 40,
  nodeBackingOff: 10,
  nodeFailed: 25,
} as const;

/**
 * The health rule, in one place: start from 100, subtract per finding, clamp to [0, 100].
 * A root that is not running is 0. Any critical check (or a failed node) is unhealthy, and
 * so is a score below 50: GET /health answers 503, so a probe notices a dead store or a
 * halted session. Healthy from 80, degraded between.
 */
export function assessHealth(tree: TreeNode, checks: Readonly<Record<string, CheckResult>>): HealthAssessment {
  const nodes: Record<NodeStatus, number> = { starting: 0, running: 0, backing_off: 0, stopping: 0, stopped: 0, failed: 0 };
  for (const node of walkTree(tree)) nodes[node.status]++;
  const treeCheck: TreeCheck = {
    status: tree.status !== 'running' || nodes.failed > 0 ? 'critical' : nodes.backing_off > 0 ? 'warn' : 'ok',
    message:
      tree.status !== 'running'
        ? `root is ${tree.status}`
        : `${nodes.running} running, ${nodes.backing_off} backing off, ${nodes.failed} failed`,
    nodes,
  };
  if (tree.status !== 'running') return { status: 'unhealthy', score: 0, tree: treeCheck };

  let score = 100 - nodes.backing_off * PENALTY.nodeBackingOff - nodes.failed * PENALTY.nodeFailed;
  let critical = false;
  for (const check of Object.values(checks)) {
    if (check.status === 'warn') score -= PENALTY.checkWarn;
    if (check.status === 'critical') {
      score -= PENALTY.checkCritical;
      critical = true;
    }
  }
  score = Math.max(0, Math.min(100, score));
  if (treeCheck.status === 'critical') critical = true;
  const status: HealthStatus = critical || score < 50 ? 'unhealthy' : score >= 80 ? 'healthy' : 'degraded';
  return { status, score, tree: treeCheck };
}
