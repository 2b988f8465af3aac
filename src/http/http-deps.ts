import type { ClusterView } from '../../actors/cluster/session-ownership.js';
import type { Logger } from 'pino';
import type { AlertsAccess } from '../../actors/alerts/alerts-feature.js';
import type { BookingOperations } from '../../actors/booking/booking-api.js';
import type { BatchIngest } from '../../actors/batcher/batch-ingest.js';
import type { BatchStore } from '../../actors/batcher/batch-store.js';
import type { DeadLetters } from '../../actors/batcher/dead-letters.js';
import type { FlushRules } from '../../actors/batcher/flush-rule.js';
import type { PipelineStatus } from '../../actors/pipeline/pipeline.js';
import type { SessionDirectory } from '../../actors/whatsapp/session-directory.js';
import type { Registry } from 'prom-client';
import type { TreeNode } from '../../supervisor/tree-node.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { RuntimeEvents } from '../events/runtime-events.js';
import type { CheckHistoryReader } from '../health/check-history.js';
import type { HealthChecks } from '../health/health-checks.js';
import type { Operations } from '../operations/operations.js';

/** The part of the runtime the HTTP server reads and operates on. */
export interface TreeAccess {
  snapshot(): TreeNode;
  restart(path: string): Promise<void>;
  isDynamic(path: string): boolean;
}

export interface ServiceInfo {
  readonly name: string;
  readonly version: string;
  readonly startedAt: number;
}

/** The batching parts the webhook routes use. */
export interface BatchingAccess {
  readonly ingest: BatchIngest;
  readonly store: BatchStore;
  readonly rules: FlushRules;
  readonly deadLetters: DeadLetters;
  pipelineStatus(): Promise<PipelineStatus | undefined>;
}

/** Everything the HTTP server is given at spawn. */
export interface HttpDeps {
  readonly config: Config;
  readonly effectiveConfig: Readonly<Record<string, string | number | boolean | null>>;
  readonly service: ServiceInfo;
  readonly tree: TreeAccess;
  readonly checks: HealthChecks;
  /** Every check's recent results, transitions and uptime (GET /health/history). */
  readonly history: CheckHistoryReader;
  readonly metrics: Registry;
  /** Counts requests by route and status for /metrics; called once per answered request. */
  readonly countRequest?: (route: string, method: string, statusCode: number) => void;
  readonly events: RuntimeEvents;
  /** status, health, restart, recover, queue, logs, test, silence: the routes only parse and answer (src/operations). */
  readonly operations: Operations;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Absent in a runtime without batching (some tests). */
  readonly batching?: BatchingAccess;
  /** The alert groups and silences; absent in runtimes without alerts (some tests). */
  readonly alerts?: AlertsAccess;
  /** The booking operations (with YCLIENTS_PARTNER_TOKEN); absent: /booking routes answer 404. */
  readonly booking?: BookingOperations;
  /** Which node runs which session (GET /health/cluster). */
  readonly cluster: () => Promise<ClusterView>;
  /** The WhatsApp sessions (WA_SESSIONS); absent: /sessions lists none. */
  readonly sessions?: SessionDirectory;
}
