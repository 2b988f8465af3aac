import type { Feature, FeatureContext } from '../../src/feature.js';
import { monitorPath, TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import type { AvailabilityListener, BatchStore } from '../batcher/batch-store.js';
import type { PipelineStatus } from '../pipeline/pipeline.js';
import type { SessionDirectory } from '../whatsapp/session-directory.js';
import { memoryMonitor } from './memory/memory-monitor.js';
import { activityMonitor } from './activity/activity-monitor.js';
import { eventLoopMonitor } from './event-loop/event-loop-monitor.js';
import { queueMonitor } from './queue/queue-monitor.js';
import { restartsMonitor } from './restarts/restarts-monitor.js';
import { canaryMonitor } from './canary/canary-monitor.js';
import { redisMonitor } from './redis/redis-monitor.js';
import { whatsappMonitor } from './whatsapp/whatsapp-monitor.js';

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
  const m = ctx.config.monitors;
  const children: ChildSpec[] = [
    { kind: 'actor', id: childId(TREE.memoryMonitor), behaviour: local(() => memoryMonitor({ ...ctx.config.memory, checks: ctx.checks })) },
    { kind: 'actor', id: childId(monitorPath('queue')), behaviour: local(() => queueMonitor({ ...m.queue, intervalMs: m.intervalMs, checks: ctx.checks, store: deps.store, pipelineStatus: deps.pipelineStatus })) },
    { kind: 'actor', id: childId(monitorPath('restarts')), behaviour: local(() => restartsMonitor({ ...m.restarts, intervalMs: m.intervalMs, checks: ctx.checks, events: ctx.events })) },
    { kind: 'actor', id: childId(monitorPath('event-loop')), behaviour: local(() => eventLoopMonitor({ ...m.eventLoop, intervalMs: m.intervalMs, checks: ctx.checks })) },
  ];
  // A quiet night is not an incident: only with ACTIVITY_IDLE_MS set, and sessions to watch.
  const sessions = deps.sessions;
  if (m.activityIdleMs > 0 && sessions) {
    children.push({ kind: 'actor', id: childId(monitorPath('activity')), behaviour: local(() => activityMonitor({ intervalMs: m.intervalMs, idleMs: m.activityIdleMs, checks: ctx.checks, sessions })) });
  }
  // The one writer of the `whatsapp:<id>` checks.
  if (sessions) {
    const { waDownAlertMs, decryptErrorsWarnPerMinute, intervalMs } = m;
    children.push({ kind: 'actor', id: childId(monitorPath('whatsapp')), behaviour: local(() => whatsappMonitor({ sessions, events: ctx.events, intervalMs, waDownAlertMs, decryptErrorsWarnPerMinute, checks: ctx.checks })) });
  }
  // Monitors of things outside the process are dependency children; what they watch being down is their checks' status.
  const redisUrl = ctx.config.redisUrl;
  if (redisUrl) {
    const store = deps.store;
    const counts = ctx.config.store.kind === 'redis' ? { counts: () => store.counts(), availability: (listener: AvailabilityListener) => store.onAvailability(listener) } : {};
    children.push({
      kind: 'actor',
      id: childId(monitorPath('redis')),
      dependency: { name: 'redis' },
      behaviour: local(() => redisMonitor({ ...m.redis, url: redisUrl, intervalMs: m.intervalMs, checks: ctx.checks, ...counts })),
    });
  }
  const canary = ctx.config.canary;
  if (canary.targets.length > 0) {
    children.push({ kind: 'actor', id: childId(monitorPath('canary')), dependency: { name: 'canary' }, behaviour: local(() => canaryMonitor({ ...canary, checks: ctx.checks })) });
  }
  const monitors: ChildSpec = { kind: 'supervisor', id: childId(TREE.monitors), strategy: 'one_for_one', children };
  return { children: [monitors], offers: {} };
}
