import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { BatchIngest } from '../actors/batcher/batch-ingest.js';
import type { BatchStore } from '../actors/batcher/batch-store.js';
import { batchingFeature } from '../actors/batcher/batching-feature.js';
import { monitorsFeature } from '../actors/monitors/monitors-feature.js';
import { alertsFeature, type AlertsDeps } from '../actors/alerts/alerts-feature.js';
import { bookingFeature } from '../actors/booking/booking-feature.js';
import type { HandlerRunner } from '../actors/pipeline/handler-runner.js';
import { pipelineFeature } from '../actors/pipeline/pipeline-feature.js';
import { STORE_CHECK } from '../actors/store/store-owner.js';
import { storeFeature } from '../actors/store/store-feature.js';
import { whatsappFeature, type WhatsAppFeatureDeps } from '../actors/whatsapp/whatsapp-feature.js';
import { DEFAULT_BACKOFF } from '../supervisor/restart-rule.js';
import { Links } from './actor/link.js';
import { systemClock, type Clock } from './clock.js';
import type { LoadedConfig } from './config/config.js';
import { EventBus } from './events/event-bus.js';
import type { RuntimeEvent, RuntimeEvents } from './events/runtime-events.js';
import type { Feature, FeatureContext } from './feature.js';
import type { CheckHistory } from './health/check-history.js';
import { checkHistoryFeature } from './health/check-history-feature.js';
import { HealthChecks } from './health/health-checks.js';
import { assessHealth } from './health/health-score.js';
import { httpFeature } from './http/http-feature.js';
import type { HttpAddress } from './http/http-server.js';
import { createRuntimeMetrics, type RuntimeMetrics } from './metrics/runtime-metrics.js';
import { readPackageInfo } from './service-info.js';
import { ShutdownDeadline } from './shutdown-deadline.js';
import { ActorSystem } from './system/actor-system.js';
import type { SpillReport } from '../actors/batcher/batch-store.js';
import { TREE } from './tree-paths.js';
import { childId } from '../supervisor/tree-node.js';
import type { LogRings } from './logging/log-ring.js';
import { Operations } from './operations/operations.js';
import { opsBotFeature, type OpsBotDeps } from '../actors/ops-bot/ops-bot-feature.js';

/** How long an operator's `recover batches` waits for the recovery sweep it asked for. */
const SWEEP_ASK_TIMEOUT_MS = 60_000;

export interface RuntimeOptions {
  loaded: LoadedConfig;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  /** The process entry point exits non-zero here; tests observe it instead. */
  onRootFailure?: (error: Error) => void;
  /** How handlers run; the default is a piscina pool for HANDLER_MODULE. Tests pass an inline one. */
  handlerRunner?: () => HandlerRunner;
  /** This runtime's identity as the owner of in-flight batches; unique per process by default. */
  owner?: string;
  /** The batch store; by default the one BATCH_STORE names (SQLite under DATA_DIR unless REDIS_URL is set). */
  store?: BatchStore;
  /** Where WhatsApp sockets run; tests may run them locally with their own socket factory. */
  whatsappPlacement?: WhatsAppFeatureDeps['placement'];
  /** Shows a session's fresh QR; by default drawn on stderr when it is a terminal, else logged as available. */
  showQr?: (sessionId: string, qr: string) => void;
  /** The alerts feature's seams: tests observe notifications or replace a channel's transport. */
  alerts?: AlertsDeps;
  /** The logger's in-memory rings (the `logs` operation), when it writes to them (createLogger's `rings`). */
  logs?: LogRings;
  /** The ops bot's seams: tests shorten its long poll. */
  opsBot?: Omit<OpsBotDeps, 'operations'>;
}

/**
 * The whole runtime: config in, supervision tree out. It only composes: each feature folder's
 * factory takes the config and its dependencies and returns its children and what it offers
 * the others; the tree is those children in start order (src/tree-paths.ts):
 *
 *   store (actors/store) -> pipeline (actors/pipeline) -> batchers, recovery (actors/batcher)
 *   -> whatsapp (actors/whatsapp) -> monitors (actors/monitors) -> http (src/http)
 *
 * Features reach each other through typed links, resolved once the actor system exists.
 * main.ts only adds the process's signals and exit codes.
 */
/** What a shutdown kept: nothing to do (a durable store keeps what is left), or the memory store's spill. */
export interface ShutdownReport {
  readonly spill: SpillReport | undefined;
  /** Messages that could not be kept; the process exits non-zero when there are any. */
  readonly lost: number;
}

export class Runtime {
  readonly system: ActorSystem;
  readonly events: RuntimeEvents;
  readonly checks: HealthChecks;
  /** Every check's recent results and transitions (GET /health/history; the alerts actor reads it). */
  readonly history: CheckHistory;
  readonly metrics: RuntimeMetrics;
  readonly store: BatchStore;
  readonly ingest: BatchIngest;
  readonly owner: string;
  /** What an operator can do (src/operations), for the admin API, the CLI and the ops bot. */
  readonly operations: Operations;
  readonly #logger: Logger;
  readonly #features: readonly Feature<unknown>[];
  readonly #shutdownSteps: { stopWhatsApp(): Promise<void>; flushForShutdown(): Promise<number> };
  readonly #deadline: ShutdownDeadline;
  readonly #clock: Clock;
  readonly #closeHistory: () => Promise<void>;
  #preflown = false;

  constructor(options: RuntimeOptions) {
    const { config, effective } = options.loaded;
    const clock = options.clock ?? systemClock();
    const logger = options.logger;
    this.#logger = logger;
    const pkg = readPackageInfo();
    const service = { name: pkg.name, version: pkg.version, startedAt: clock.now() };
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const events: RuntimeEvents = new EventBus<RuntimeEvent>(logger);
    this.events = events;
    // Before the checks, which feed it; its preflight (first) reads the history kept in Redis.
    const history = checkHistoryFeature({ config, logger, clock });
    this.history = history.offers.history;
    this.#closeHistory = () => history.offers.close();
    this.checks = new HealthChecks({ onTransition: (change) => events.publish({ type: 'check', ...change }), now: () => clock.now(), history: this.history });
    const links = new Links<ActorSystem>();
    this.#clock = clock;
    this.#deadline = new ShutdownDeadline(config.shutdownTimeoutMs);
    const ctx: FeatureContext = { config, logger, clock, checks: this.checks, events, links, owner: this.owner, shutdown: this.#deadline };

    const store = storeFeature(ctx, options.store ? { store: options.store } : {});
    this.store = store.offers.store;
    const batching = batchingFeature(ctx, { store: this.store });
    this.ingest = batching.offers.ingest;
    const whatsapp = whatsappFeature(ctx, {
      ingest: this.ingest,
      ...(options.whatsappPlacement ? { placement: options.whatsappPlacement } : {}),
      ...(options.showQr ? { showQr: options.showQr } : {}),
    });
    const booking = bookingFeature(ctx);
    const pipeline = pipelineFeature(ctx, {
      store: this.store,
      ...(booking.offers.operations ? { booking: links.to(TREE.booking) } : {}),
      bookingOperations: () => booking.offers.operations,
      replyTo: (sessionId) => whatsapp.offers.replyTo(sessionId),
      ...(options.handlerRunner ? { createRunner: options.handlerRunner } : {}),
    });
    const monitors = monitorsFeature(ctx, {
      store: this.store,
      pipelineStatus: () => pipeline.offers.status(),
      sessions: config.whatsapp.sessions.length > 0 ? whatsapp.offers.directory : undefined,
    });
    const alerts = alertsFeature(ctx, options.alerts);
    const treeAccess = {
      snapshot: () => this.system.snapshot(),
      restart: (path: string) => this.system.restart(path),
      isDynamic: (path: string) => this.system.isDynamicSupervisor(path),
    };
    this.operations = new Operations({
      config,
      tree: treeAccess,
      checks: this.checks,
      events,
      logger,
      clock,
      batching: {
        store: this.store,
        deadLetters: batching.offers.deadLetters,
        // A sweep walks every pending conversation (SCAN on Redis): give it time.
        sweep: (request) => this.system.lookup(TREE.recovery)?.ask(request, { timeoutMs: SWEEP_ASK_TIMEOUT_MS }) ?? Promise.resolve(undefined),
        pipelineStatus: () => pipeline.offers.status(),
        dryRun: (batch) => pipeline.offers.dryRun(batch),
      },
      ...(config.whatsapp.sessions.length > 0 ? { sessions: whatsapp.offers.directory } : {}),
      alerts: alerts.offers.access,
      ...(options.logs ? { logs: options.logs } : {}),
    });
    const operations = this.operations;
    const opsBot = opsBotFeature(ctx, { operations, ...(options.opsBot ?? {}) });
    const http = httpFeature(() => ({
      config,
      effectiveConfig: effective,
      service,
      tree: treeAccess,
      operations,
      checks: this.checks,
      history: this.history,
      metrics: this.metrics.registry,
      countRequest: this.metrics.countRequest,
      events,
      logger,
      clock,
      batching: {
        ingest: this.ingest,
        store: this.store,
        rules: batching.offers.rules,
        deadLetters: batching.offers.deadLetters,
        pipelineStatus: () => pipeline.offers.status(),
      },
      sessions: whatsapp.offers.directory,
      cluster: () => whatsapp.offers.cluster(),
      alerts: alerts.offers.access,
      ...(booking.offers.operations ? { booking: booking.offers.operations } : {}),
    }));
    // Start order; shutdown is the reverse (HTTP first, the store last).
    this.#features = [history, store, booking, pipeline, batching, whatsapp, monitors, alerts, opsBot, http];
    this.#shutdownSteps = { stopWhatsApp: () => whatsapp.offers.stop(), flushForShutdown: () => batching.offers.flushForShutdown() };

    this.system = new ActorSystem(
      // The root is strict and the leaves generous: intensities multiply down the tree.
      { strategy: 'one_for_one', intensity: config.supervision.root, children: this.#features.flatMap((feature) => feature.children) },
      {
        logger,
        clock,
        events,
        ...(options.random ? { random: options.random } : {}),
        defaults: { backoff: { ...DEFAULT_BACKOFF, ...config.backoff } },
        ...(options.onRootFailure ? { onRootFailure: options.onRootFailure } : {}),
        ...(options.logs ? { logs: options.logs } : {}),
      },
    );
    links.bind(this.system);
    const system = this.system;
    const checks = this.checks;
    this.metrics = createRuntimeMetrics({
      source: system,
      healthScore: () => assessHealth(system.snapshot(), checks.all()).score,
      processMetrics: config.metricsProcess,
      ingest: () => this.ingest.counts,
      pipeline: pipeline.offers.counters,
      flushed: batching.offers.flushed,
      storeUp: () => checks.get(STORE_CHECK)?.status === 'ok',
      deadLetters: () => batching.offers.deadLetters.count(),
      alerts: { firingByRule: () => alerts.offers.firingByRule(), outcomes: alerts.offers.outcomes },
      checks: () => checks.all(),
      ...(booking.offers.service ? { booking: { observe: booking.offers.observe, status: () => (booking.offers.service as NonNullable<typeof booking.offers.service>).status() } } : {}),
      ...(config.whatsapp.sessions.length > 0 ? { sessions: () => whatsapp.offers.sample() } : {}),
    });
  }

  /**
   * Every feature's checks before the tree starts: HANDLER_MODULE loads, the embedded store's
   * file opens (and no other runtime holds it), a spill loads. What fails here is a problem
   * to fix, not an outage to wait out: the process exits 78.
   */
  async preflight(): Promise<void> {
    if (this.#preflown) return;
    for (const feature of this.#features) await feature.preflight?.();
    this.#preflown = true;
  }

  /** The preflight (if not run yet), then the tree. */
  async start(): Promise<void> {
    await this.preflight();
    await this.system.start();
  }

  /**
   * Stops accepting (HTTP first, then WhatsApp, whose sockets hand over what they received),
   * then, for the memory store, which does not outlive the process, hands every pending batch
   * to the pipeline with reason `shutdown`; then stops the tree in reverse start order (the
   * pipeline lets deliveries in progress finish, and for the memory store drains, until the
   * shutdown's deadline). SQLite and Redis keep what is left for the next start; the memory
   * store writes it to its spill file, and the report says whether anything could not be kept.
   */
  async shutdown(): Promise<ShutdownReport> {
    this.#deadline.begin(this.#clock.now());
    this.metrics.close();
    if (this.system.isRunning) {
      await this.system
        .supervisor(TREE.root)
        .stopChild(childId(TREE.http))
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'could not stop http first'));
      await this.#shutdownSteps.stopWhatsApp().catch((error: unknown) => this.#logger.warn({ err: error }, 'could not stop whatsapp before the flush'));
      if (this.store.kind === 'memory') await this.#shutdownSteps.flushForShutdown();
    }
    let failure: unknown;
    try {
      await this.system.shutdown();
    } catch (error) {
      failure = error;
    }
    for (const feature of [...this.#features].reverse()) {
      await feature.close?.().catch((error: unknown) => this.#logger.warn({ err: error }, 'a feature could not close what it opened'));
    }
    // After the tree: the checks' removals as their actors stopped are written too.
    await this.#closeHistory();
    // Whatever became of the tree, what the memory store holds is written out.
    const report = await this.#keepWhatIsLeft();
    if (failure !== undefined) throw failure;
    return report;
  }

  async #keepWhatIsLeft(): Promise<ShutdownReport> {
    if (!this.store.spill) return { spill: undefined, lost: 0 };
    const spill = await this.store.spill();
    if (spill.lost > 0) {
      this.#logger.error({ messages: spill.lost, batches: spill.batches, file: spill.file, cause: spill.error }, `${spill.lost} accepted messages could not be kept: the memory store could not write its spill file`);
    } else if (spill.file && spill.messages > 0) {
      this.#logger.warn({ messages: spill.messages, batches: spill.batches, file: spill.file }, `${spill.messages} messages not delivered before shutdown were written to ${spill.file}; the next start loads them`);
    }
    return { spill, lost: spill.lost };
  }

  async httpAddress(): Promise<HttpAddress | undefined> {
    return this.system.lookup(TREE.http)?.ask({ type: 'address' });
  }
}
