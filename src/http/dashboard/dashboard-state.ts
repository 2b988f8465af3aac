import type { AlertsAccess } from '../../../actors/alerts/alerts-feature.js';
import type { SessionInfo } from '../../../actors/whatsapp/session-protocol.js';
import type { SessionDirectory } from '../../../actors/whatsapp/session-directory.js';
import type { CheckHistoryReader } from '../../health/check-history.js';
import type { LogEntry } from '../../operations/log-entry.js';
import type { Operations, StatusReport } from '../../operations/operations.js';
import type { BatchingAccess } from '../http-deps.js';

/** The page's sections; a frame carries the ones that changed, each whole. */
export interface DashboardSections {
  /** The tree as `status` reports it (dynamic supervisors summarised), with the health score. */
  readonly tree: StatusReport;
  /** Every check with its latest result and the last statuses of its history (the heartbeat bar). */
  readonly checks: readonly DashboardCheck[];
  readonly sessions: readonly SessionInfo[];
  readonly batching: DashboardBatching;
  readonly alerts: { readonly firing: readonly { readonly rule: string; readonly groupKey: string; readonly firing: number; readonly summaries: readonly string[] }[]; readonly silences: number };
}

export interface DashboardCheck {
  readonly name: string;
  readonly status: string;
  readonly message: string;
  readonly since: string | null;
  /** Oldest first: each result's status and time, for the heartbeat bar (transitions on hover). */
  readonly history: readonly { readonly status: string; readonly at: string; readonly message: string }[];
}

export interface DashboardBatching {
  readonly pendingConversations: number | null;
  readonly inFlightBatches: number | null;
  readonly deadLetters: number;
  /** Age of the oldest pending message, ms: how far the flushes lag. */
  readonly flushLagMs: number | null;
  readonly accepted: number;
  readonly duplicates: number;
  readonly pipeline: { readonly queued: number; readonly running: number; readonly waitingRetry: number; readonly delivered: number } | null;
  /** Messages accepted per second over the last samples, oldest first (the sparkline). */
  readonly throughput: readonly number[];
}

export type SectionName = keyof DashboardSections;
export const SECTION_NAMES: readonly SectionName[] = ['tree', 'checks', 'sessions', 'batching', 'alerts'];

export interface DashboardSources {
  readonly operations: Operations;
  readonly history: CheckHistoryReader;
  readonly sessions?: SessionDirectory;
  readonly batching?: BatchingAccess;
  readonly alerts?: AlertsAccess;
  readonly now: () => number;
}

/** Results per check in the heartbeat bar. */
const HEARTBEATS = 50;
/** Samples of the accepted counter in the sparkline. */
const SPARK_SAMPLES = 60;

/**
 * Reads every section from the runtime. `throughput` is kept here: the accepted counter
 * sampled at each read, turned into messages per second.
 */
export class DashboardState {
  readonly #sources: DashboardSources;
  readonly #throughput: number[] = [];
  #lastAccepted: { count: number; at: number } | undefined;

  constructor(sources: DashboardSources) {
    this.#sources = sources;
  }

  async read(): Promise<DashboardSections> {
    const { operations, history, sessions, batching, alerts, now } = this.#sources;
    const at = now();
    const health = operations.health();
    const checks: DashboardCheck[] = Object.entries(health.checks).map(([name, check]) => ({
      name,
      status: check.status,
      message: check.message,
      since: 'since' in check ? check.since : null,
      history: (history.results(name) ?? []).slice(-HEARTBEATS).map((result) => ({ status: result.status, at: new Date(result.at).toISOString(), message: result.message })),
    }));
    const [sessionList, counts, pipeline] = await Promise.all([
      sessions ? sessions.sample().then((list) => list.flatMap((entry) => (entry.info ? [entry.info] : []))) : Promise.resolve([]),
      batching ? batching.store.counts().catch(() => undefined) : Promise.resolve(undefined),
      batching ? batching.pipelineStatus() : Promise.resolve(undefined),
    ]);
    const accepted = batching?.ingest.counts.accepted ?? 0;
    if (this.#lastAccepted && at > this.#lastAccepted.at) {
      this.#throughput.push(Math.round(((accepted - this.#lastAccepted.count) * 1000) / (at - this.#lastAccepted.at)));
      if (this.#throughput.length > SPARK_SAMPLES) this.#throughput.shift();
    }
    this.#lastAccepted = { count: accepted, at };
    const view = alerts?.view();
    return {
      tree: operations.status(),
      checks,
      sessions: sessionList,
      batching: {
        pendingConversations: counts?.pendingConversations ?? null,
        inFlightBatches: counts?.inFlightBatches ?? null,
        deadLetters: counts?.deadLetters ?? 0,
        flushLagMs: counts?.oldestPendingAt ? Math.max(0, at - counts.oldestPendingAt) : null,
        accepted,
        duplicates: batching?.ingest.counts.duplicates ?? 0,
        pipeline: pipeline ? { queued: pipeline.queued, running: pipeline.running, waitingRetry: pipeline.waitingRetry, delivered: pipeline.delivered } : null,
        throughput: [...this.#throughput],
      },
      alerts: {
        firing: (view?.groups ?? [])
          .filter((group) => group.firing > 0)
          .map((group) => ({ rule: group.rule, groupKey: group.groupKey, firing: group.firing, summaries: group.alerts.slice(0, 5).map((alert) => alert.summary) })),
        silences: view?.silences.length ?? 0,
      },
    };
  }
}

/**
 * What decides whether a section changed: its JSON without the fields that move on their
 * own (uptimes, the time of a report), so an idle runtime sends no frames. The page counts
 * uptimes and countdowns forward itself.
 */
export function sectionKey(name: SectionName, value: DashboardSections[SectionName]): string {
  switch (name) {
    case 'tree': {
      const tree = value as StatusReport;
      return JSON.stringify([tree.status, tree.score, tree.nodes.map((node) => ({ ...node, uptimeMs: node.status === 'running' ? 1 : 0 }))]);
    }
    case 'batching': {
      const batching = value as DashboardBatching;
      // The lag and the sparkline move every sample; they ride along when something else changes, or with the periodic sample.
      return JSON.stringify({ ...batching, flushLagMs: batching.flushLagMs === null ? null : Math.round(batching.flushLagMs / 1000), throughput: undefined });
    }
    default:
      return JSON.stringify(value);
  }
}

/** The recent warn and error lines, for token holders. */
export function recentLogs(operations: Operations, limit: number): LogEntry[] {
  return [...operations.logs({ level: 'warn', limit }).lines];
}
