import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BookingStatus, RequestObserver } from '../../actors/booking/booking-service.js';
import type { FlushCounts } from '../../actors/batcher/batch.js';
import { ACTION_OUTCOMES } from '../../actors/pipeline/action-outcome.js';
import type { PipelineCounters } from '../../actors/pipeline/pipeline-counters.js';
import type { RuntimeEvents } from '../events/runtime-events.js';
import type { CheckResult } from '../health/health-checks.js';
import type { NotificationOutcome } from '../../actors/alerts/channels/channel.js';
import { parentPath, walkTree, type NodeStatus, type TreeNode } from '../../supervisor/tree-node.js';

export interface MetricsSource {
  readonly events: RuntimeEvents;
  snapshot(): TreeNode;
  isDynamicSupervisor(path: string): boolean;
}

/** One WhatsApp session as the metrics see it; the label `session` is bounded by WA_SESSIONS. */
export interface SessionSample {
  readonly id: string;
  readonly status: string;
  readonly sendQueue: number;
  readonly sent24h: number;
  readonly received24h: number;
  readonly errors24h: number;
  readonly badMac: number;
  readonly otherDecryptErrors: number;
  readonly lastCloseCode: number | null;
}

export interface RuntimeMetricsOptions {
  source: MetricsSource;
  /** The WhatsApp sessions, sampled at scrape time. */
  sessions?: () => Promise<readonly SessionSample[]>;
  /** Messages accepted and duplicates ignored at ingress, since start. */
  ingest?: () => { accepted: number; duplicates: number };
  healthScore: () => number;
  /** Node's own process metrics (heap, GC, event loop lag). */
  processMetrics: boolean;
  /** The pipeline's totals (outcomes of batches and of their actions). */
  pipeline?: PipelineCounters;
  /** Batches cut, by flush reason. */
  flushed?: FlushCounts;
  /** True while the store check is ok. */
  storeUp?: () => boolean;
  /** Dead letters waiting for an operator (a counter the store keeps, never a key walk). */
  deadLetters?: () => Promise<number>;
  /** Firing alerts per rule, and notifications per channel and outcome since start. */
  alerts?: {
    firingByRule(): ReadonlyMap<string, number>;
    readonly outcomes: ReadonlyMap<string, Readonly<Record<NotificationOutcome, number>>>;
  };
  /** Every check's latest result (runtime_check_status{check}). */
  checks?: () => Readonly<Record<string, CheckResult>>;
  /** The booking service: every operation's outcome and duration, its queue and breaker. */
  booking?: { observe(observer: RequestObserver): void; status(): BookingStatus };
}

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/** runtime_check_status: 0 ok, 1 warn, 2 critical. */
const CHECK_STATUS_VALUE = { ok: 0, warn: 1, critical: 2 } as const;

export interface RuntimeMetrics {
  readonly registry: Registry;
  /** Counts one answered HTTP request; `route` is the route's pattern (bounded), never the raw URL. */
  countRequest(route: string, method: string, statusCode: number): void;
  close(): void;
}

/**
 * Prometheus metrics for one runtime, on its own registry (never prom-client's global one).
 * The `path` label stays bounded: children of a dynamic supervisor (one per conversation)
 * fold into `<supervisor>/*`.
 */
export function createRuntimeMetrics(options: RuntimeMetricsOptions): RuntimeMetrics {
  const { source } = options;
  const registry = new Registry();
  const label = (path: string): string => {
    const parent = parentPath(path);
    return parent !== undefined && source.isDynamicSupervisor(parent) ? `${parent === '/' ? '' : parent}/*` : path;
  };

  const failures = new Counter({ name: 'runtime_actor_failures_total', help: 'Actor incarnations that ended in failure.', labelNames: ['path'], registers: [registry] });
  const restarts = new Counter({ name: 'runtime_actor_restarts_total', help: 'Restarts performed by supervisors (automatic and manual).', labelNames: ['path', 'manual'], registers: [registry] });
  const gaveUp = new Counter({ name: 'runtime_actor_gave_up_total', help: 'Children given up after their backoff attempts ran out.', labelNames: ['path'], registers: [registry] });
  const escalations = new Counter({ name: 'runtime_supervisor_escalations_total', help: 'Supervisors that exceeded their restart intensity and failed to their parent.', labelNames: ['path'], registers: [registry] });

  // Collected from the tree at scrape time, so the message hot path counts nothing. One
  // tree walk serves every metric of a scrape.
  let scraped: TreeTotals | undefined;
  const totals = (): TreeTotals => {
    if (!scraped) {
      scraped = sumTree(source.snapshot(), label);
      setImmediate(() => (scraped = undefined));
    }
    return scraped;
  };
  new Gauge({
    name: 'runtime_actor_mailbox_depth',
    help: 'Messages waiting in mailboxes.',
    labelNames: ['path'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [path, sum] of totals().byPath) this.set({ path }, sum.depth);
    },
  });
  new Counter({
    name: 'runtime_actor_messages_processed_total',
    help: 'Messages handled by actors.',
    labelNames: ['path'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [path, sum] of totals().byPath) this.inc({ path }, sum.processed);
    },
  });
  new Counter({
    name: 'runtime_actor_messages_dropped_total',
    help: 'Messages refused or evicted by full mailboxes, or lost with their actor.',
    labelNames: ['path'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [path, sum] of totals().byPath) this.inc({ path }, sum.dropped);
    },
  });
  new Gauge({
    name: 'runtime_actors',
    help: 'Tree nodes by status.',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      for (const [status, count] of Object.entries(totals().byStatus)) this.set({ status }, count);
    },
  });
  const alerts = options.alerts;
  if (alerts) {
    new Gauge({
      name: 'runtime_alerts_firing',
      help: 'Alerts firing, by rule (silenced ones included).',
      labelNames: ['rule'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [rule, firing] of alerts.firingByRule()) this.set({ rule }, firing);
      },
    });
    new Counter({
      name: 'runtime_alert_notifications_total',
      help: 'Alert notifications by channel and outcome: sent, retried (an attempt failed and waits), rejected (refused for good), dropped (the channel queue was full).',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [channel, counts] of alerts.outcomes) for (const [outcome, count] of Object.entries(counts)) this.inc({ channel, outcome }, count);
      },
    });
  }
  const booking = options.booking;
  if (booking) {
    const requests = new Counter({ name: 'runtime_booking_requests_total', help: 'Booking operations by outcome: ok, rejected (YClients refused), failed, fast_failed (breaker open), queue_refused.', labelNames: ['operation', 'outcome'], registers: [registry] });
    const duration = new Histogram({ name: 'runtime_booking_request_duration_seconds', help: 'Booking operations, rate-limit wait and retries included.', labelNames: ['operation'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
    booking.observe((operation, outcome, durationMs) => {
      requests.inc({ operation, outcome });
      duration.observe({ operation }, durationMs / 1000);
    });
    new Gauge({ name: 'runtime_booking_queue_depth', help: 'Booking requests waiting for the YClients rate limit.', registers: [registry], collect() { this.set(booking.status().queue.waiting); } });
    new Gauge({ name: 'runtime_booking_breaker_state', help: 'The YClients circuit breaker: 0 closed, 1 half-open, 2 open.', registers: [registry], collect() { this.set(BREAKER_VALUE[booking.status().breaker.state]); } });
  }
  const checks = options.checks;
  if (checks) {
    new Gauge({
      name: 'runtime_check_status',
      help: 'Each health check: 0 ok, 1 warn, 2 critical.',
      labelNames: ['check'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [check, result] of Object.entries(checks())) this.set({ check }, CHECK_STATUS_VALUE[result.status]);
      },
    });
  }
  const ingest = options.ingest;
  if (ingest) {
    new Counter({
      name: 'runtime_batch_messages_total',
      help: 'Messages offered to the batchers: accepted, or ignored as a duplicate id.',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        const counts = ingest();
        this.reset();
        this.inc({ result: 'accepted' }, counts.accepted);
        this.inc({ result: 'duplicate' }, counts.duplicates);
      },
    });
  }
  const sessions = options.sessions;
  if (sessions) sessionMetrics(registry, sessions);
  pipelineMetrics(registry, options);
  const requests = new Counter({
    name: 'runtime_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  new Counter({
    name: 'runtime_event_subscribers_cut_off_total',
    help: 'Event stream subscribers cut off because they threw or could not keep up.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      const { cutOff } = source.events.stats;
      this.reset();
      this.inc({ reason: 'threw' }, cutOff.threw);
      this.inc({ reason: 'overflow' }, cutOff.overflow);
    },
  });
  new Gauge({
    name: 'runtime_health_score',
    help: 'Health score 0-100, as GET /health reports it.',
    registers: [registry],
    collect() {
      this.set(options.healthScore());
    },
  });

  const unsubscribe = source.events.subscribe((event) => {
    switch (event.type) {
      case 'failed':
        failures.inc({ path: label(event.path) });
        break;
      case 'restarting':
        for (const member of event.members) restarts.inc({ path: label(member), manual: String(event.manual) });
        break;
      case 'gave_up':
        gaveUp.inc({ path: label(event.path) });
        break;
      case 'escalated':
        escalations.inc({ path: label(event.path) });
        break;
      default:
        break;
    }
    // Only these: 'started' and 'stopped' come once per dynamic child, and are not built when nobody takes them.
  }, { types: ['failed', 'restarting', 'gave_up', 'escalated'], name: 'metrics' });

  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    countRequest: (route, method, statusCode) => requests.inc({ route, method, status: String(statusCode) }),
    close: unsubscribe,
  };
}

/** Pipeline outcomes, flush reasons, the store being up, dead letters: read at scrape time from the counters the features keep. */
function pipelineMetrics(registry: Registry, options: RuntimeMetricsOptions): void {
  const { pipeline, flushed, storeUp, deadLetters } = options;
  if (pipeline) {
    new Counter({
      name: 'runtime_pipeline_batches_total',
      help: 'Batch deliveries by outcome: delivered (handler succeeded), retried (a failed attempt to be tried again), dead_lettered.',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const totals = pipeline.snapshot();
        this.reset();
        this.inc({ outcome: 'delivered' }, totals.delivered);
        this.inc({ outcome: 'retried' }, totals.retried);
        this.inc({ outcome: 'dead_lettered' }, totals.deadLettered);
      },
    });
    new Counter({
      name: 'runtime_pipeline_actions_total',
      help: "Handlers' actions by what became of them (done, no_session, no_booking, refused, unavailable).",
      labelNames: ['action', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const action of ['reply', 'book'] as const) {
          for (const outcome of ACTION_OUTCOMES) this.inc({ action, outcome }, pipeline.actionCount(action, outcome));
        }
      },
    });
  }
  if (flushed) {
    new Counter({
      name: 'runtime_batches_flushed_total',
      help: 'Batches cut from the store, by flush reason.',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(flushed)) this.inc({ reason }, count);
      },
    });
  }
  if (storeUp) {
    new Gauge({
      name: 'runtime_store_up',
      help: '1 while the batch store is reachable, 0 while it is not.',
      registers: [registry],
      collect() {
        this.set(storeUp() ? 1 : 0);
      },
    });
  }
  if (deadLetters) {
    new Gauge({
      name: 'runtime_dead_letters',
      help: 'Dead letters waiting for an operator (GET /admin/dead-letters); -1 while the store cannot be asked.',
      registers: [registry],
      async collect() {
        this.set(await deadLetters().catch(() => -1));
      },
    });
  }
}

interface PathTotals {
  depth: number;
  processed: number;
  dropped: number;
}

interface TreeTotals {
  byPath: Map<string, PathTotals>;
  byStatus: Record<NodeStatus, number>;
}

function sumTree(tree: TreeNode, label: (path: string) => string): TreeTotals {
  const byPath = new Map<string, PathTotals>();
  const byStatus: Record<NodeStatus, number> = { starting: 0, running: 0, backing_off: 0, stopping: 0, stopped: 0, failed: 0 };
  const add = (key: string, depth: number, processed: number, dropped: number): void => {
    const sum = byPath.get(key) ?? { depth: 0, processed: 0, dropped: 0 };
    sum.depth += depth;
    sum.processed += processed;
    sum.dropped += dropped;
    byPath.set(key, sum);
  };
  for (const node of walkTree(tree)) {
    byStatus[node.status]++;
    add(label(node.path), node.mailbox.depth, node.mailbox.processed, node.mailbox.dropped);
    // Dynamic children that already ended still count towards their folded label.
    const retired = node.detail?.['retired'] as PathTotals | undefined;
    if (retired) add(`${node.path === '/' ? '' : node.path}/*`, 0, retired.processed, retired.dropped);
  }
  return { byPath, byStatus };
}

/** Per-session gauges; one sample of all sessions serves every metric of a scrape. */
function sessionMetrics(registry: Registry, sample: () => Promise<readonly SessionSample[]>): void {
  let pending: Promise<readonly SessionSample[]> | undefined;
  const samples = (): Promise<readonly SessionSample[]> => {
    if (!pending) {
      pending = sample().catch(() => []);
      void pending.then(() => setImmediate(() => (pending = undefined)));
    }
    return pending;
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (gauge: Gauge, session: SessionSample) => void): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const all = await samples();
        this.reset();
        for (const session of all) fill(this, session);
      },
    });
  };
  gauge('runtime_whatsapp_session_status', 'Each session\'s status: 1 for the one it is in.', ['session', 'status'], (g, s) => g.set({ session: s.id, status: s.status }, 1));
  gauge('runtime_whatsapp_session_open', '1 while the session is connected.', ['session'], (g, s) => g.set({ session: s.id }, s.status === 'open' ? 1 : 0));
  gauge('runtime_whatsapp_send_queue_depth', 'Messages waiting in the session\'s send queue.', ['session'], (g, s) => g.set({ session: s.id }, s.sendQueue));
  gauge('runtime_whatsapp_messages_24h', 'Messages sent and received in the last 24 hours.', ['session', 'direction'], (g, s) => {
    g.set({ session: s.id, direction: 'sent' }, s.sent24h);
    g.set({ session: s.id, direction: 'received' }, s.received24h);
  });
  gauge('runtime_whatsapp_errors_24h', 'Send failures, halts and decrypt errors in the last 24 hours.', ['session'], (g, s) => g.set({ session: s.id }, s.errors24h));
  gauge('runtime_whatsapp_decrypt_errors', 'Decrypt errors since the session\'s socket started.', ['session', 'kind'], (g, s) => {
    g.set({ session: s.id, kind: 'bad_mac' }, s.badMac);
    g.set({ session: s.id, kind: 'other' }, s.otherDecryptErrors);
  });
  gauge('runtime_whatsapp_last_close_code', 'The code the session\'s connection last closed with (0: none yet).', ['session'], (g, s) => g.set({ session: s.id }, s.lastCloseCode ?? 0));
}
