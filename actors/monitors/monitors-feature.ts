import type { Feature, FeatureContext } from '../../src/feature.js';
import { TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import type { BatchStore } from '../batcher/batch-store.js';
import type { PipelineStatus } from '../pipeline/pipeline.js';
import type { SessionDirectory } from '../whatsapp/session-directory.js';
import { memoryMonitor } from './memory/memory-monitor.js';

/** What the monitors read: the store's counters, the pipeline's status, the sessions. */
export interface MonitorsDeps {
  readonly store: BatchStore;
  readonly pipelineStatus: () => Promise<PipelineStatus | undefined>;
  /** Absent without WA_SESSIONS. */
  readonly sessions: SessionDirectory | undefined;
}

/** The monitors feature: `/monitors`, one actor per monitor, each publishing its health checks and nothing else. */
export function monitorsFeature(ctx: FeatureContext, deps: MonitorsDeps): Feature<Record<string, never>> {
  void deps;
  const children: ChildSpec[] = [
    { kind: 'actor', id: childId(TREE.memoryMonitor), behaviour: local(() => memoryMonitor({ ...ctx.config.memory, checks: ctx.checks })) },
  ];
  const monitors: ChildSpec = { kind: 'supervisor', id: childId(TREE.monitors), strategy: 'one_for_one', children };
  return { children: [monitors], offers: {} };
}
