import type { Feature, FeatureContext } from '../../src/feature.js';
import { TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import { memoryMonitor } from './memory/memory-monitor.js';

/** The monitors feature: `/monitors`, one actor per monitor, each publishing its health checks. */
export function monitorsFeature(ctx: FeatureContext): Feature<Record<string, never>> {
  const monitors: ChildSpec = {
    kind: 'supervisor',
    id: childId(TREE.monitors),
    strategy: 'one_for_one',
    children: [{ kind: 'actor', id: childId(TREE.memoryMonitor), behaviour: local(() => memoryMonitor({ ...ctx.config.memory, checks: ctx.checks })) }],
  };
  return { children: [monitors], offers: {} };
}
