import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { BatchIngest } from '../actors/batcher/batch-ingest.js';
import type { BatchStore } from '../actors/batcher/batch-store.js';
import { batcherSpec, type BatchHandoff, type BatcherDeps, type BatcherStart } from '../actors/batcher/batcher.js';
import type { FlushRules } from '../actors/batcher/flush-rule.js';
import { MemoryStore } from '../actors/batcher/memory-store.js';
import { recovery } from '../actors/batcher/recovery.js';
import { RedisStore } from '../actors/batcher/redis-store.js';
import { flushPendingForShutdown } from '../actors/batcher/shutdown-flush.js';
import { memoryMonitor } from '../actors/monitors/memory/memory-monitor.js';
import { PiscinaRunner, type HandlerRunner } from '../actors/pipeline/handler-runner.js';
import { pipeline, type PipelineMessage, type PipelineStatus } from '../actors/pipeline/pipeline.js';
import { storeOwner } from '../actors/store/store-owner.js';
import type { AuthStoreSpec } from '../actors/whatsapp/auth-store.js';
import { SessionDirectory } from '../actors/whatsapp/session-directory.js';
import { sessionPaths } from '../actors/whatsapp/session-paths.js';
import { whatsappTree, type WhatsAppTreeOptions } from '../actors/whatsapp/whatsapp-tree.js';
import { terminalQr } from '../actors/whatsapp/qr-render.js';
import { whatsappMessageId } from '../actors/whatsapp/session-gateway.js';
import { DEFAULT_BACKOFF } from '../supervisor/backoff.js';
import { local, type ChildSpec } from '../supervisor/child-spec.js';
import { systemClock, type Clock } from './clock.js';
import type { Config, LoadedConfig } from './config/config.js';
import { HealthChecks } from './health/health-checks.js';
import { assessHealth } from './health/health-score.js';
import type { BatchingAccess, HttpDeps } from './http/http-deps.js';
import { httpServer, type HttpAddress, type HttpMessage } from './http/http-server.js';
import { createRuntimeMetrics, type RuntimeMetrics } from './metrics/runtime-metrics.js';
import { readPackageInfo } from './service-info.js';
import { ActorSystem } from './system/actor-system.js';

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
  /** The batch store; by default Redis when REDIS_URL is set, else the embedded memory store. */
  store?: BatchStore;
  /** Where WhatsApp sockets run; tests may run them locally with their own socket factory. */
  whatsappPlacement?: WhatsAppTreeOptions['placement'];
  /** Shows a session's fresh QR; by default drawn on stderr when it is a terminal, else logged as available. */
  showQr?: (sessionId: string, qr: string) => void;
}

export const PATHS = {
  store: '/store',
  pipeline: '/pipeline',
  batchers: '/batchers',
  recovery: '/recovery',
  whatsapp: '/whatsapp',
  http: '/http',
} as const;

/** How long a batcher waits before asking an unavailable store again. */
const STORE_RETRY_MS = 500;
const STORE_PING_MS = 2_000;

/**
 * The whole runtime: config in, supervision tree out. Every dependency an actor gets is
 * built here and passed at spawn; main.ts only adds the process's signals and exit codes.
 *
 *   /              root, one_for_one
 *   ├── store      the store's connection (Redis, or the embedded memory store)
 *   ├── pipeline   runs the handler for each flushed batch (piscina pool)
 *   ├── batchers/  one actor per conversation with pending messages (dynamic)
 *   ├── recovery   re-arms pending conversations, takes over expired in-flight batches
 *   ├── whatsapp/  one subtree per WA_SESSIONS id: <id>/gateway (main thread), <id>/socket (its own thread)
 *   ├── monitors/
 *   │   └── memory
 *   └── http       started last, stopped first: it stops accepting before anything it serves goes
 */
export class Runtime {
  readonly system: ActorSystem;
  readonly checks = new HealthChecks();
  readonly metrics: RuntimeMetrics;
  readonly store: BatchStore;
  readonly ingest: BatchIngest;
  readonly owner: string;
  readonly #logger: Logger;
  readonly #rules: FlushRules;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #hasWhatsApp: boolean;

  constructor(options: RuntimeOptions) {
    const { config, effective } = options.loaded;
    const clock = options.clock ?? systemClock();
    const pkg = readPackageInfo();
    const checks = this.checks;
    const logger = options.logger;
    this.#logger = logger;
    const service = { name: pkg.name, version: pkg.version, startedAt: clock.now() };
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const store = options.store ?? createStore(config);
    this.store = store;
    const rules: FlushRules = { windowMs: config.batching.windowMs, maxMessages: config.batching.maxMessages, maxAgeMs: config.batching.maxAgeMs };
    this.#rules = rules;
    this.#leaseMs = config.batching.leaseMs;
    this.#hasWhatsApp = config.whatsapp.sessions.length > 0;
    this.#clock = clock;

    // Factories run at start, after the system below exists; they only close over it.
    this.ingest = new BatchIngest({
      store,
      clock,
      logger,
      batchers: () => this.system.supervisor(PATHS.batchers),
    });
    const batching: BatchingAccess = {
      ingest: this.ingest,
      store,
      rules,
      pipelineStatus: async () => this.system.lookup<PipelineMessage, PipelineStatus | undefined>(PATHS.pipeline)?.ask({ type: 'status' }),
    };
    const wa = config.whatsapp;
    const sessions = new SessionDirectory({
      ids: wa.sessions,
      lookup: (path) => this.system.lookup(path),
      askTimeoutMs: 5_000,
      pairTimeoutMs: wa.connectTimeoutMs + 5_000,
    });
    const showQr = options.showQr ?? terminalQr(logger);
    const authSpec = (sessionId: string): AuthStoreSpec =>
      config.redisUrl ? { kind: 'redis', url: config.redisUrl, key: `${config.redisKeyPrefix}wa-auth:${sessionId}` } : { kind: 'file', dir: resolve(wa.authDir, sessionId) };
    const placement = options.whatsappPlacement ?? { kind: 'thread' };
    const whatsapp = whatsappTree({
      sessions: wa.sessions,
      placement,
      socketShutdownMs: 10_000,
      gateway: (sessionId) => ({
        sessionId,
        socketPath: sessionPaths(sessionId).socket,
        ingest: this.ingest,
        subscribe: (listener) => this.system.events.subscribe(listener),
        checks,
        showQr,
        newMessageId: whatsappMessageId,
        queueMax: wa.sendQueueMax,
        sendAttempts: wa.sendAttempts,
        sendRetryMs: 1_000,
        // Longer than Baileys' own query timeout (60 s), so a slow send is not retried while it still runs.
        sendTimeoutMs: 90_000,
        inboundRetryMs: STORE_RETRY_MS,
        inboundBufferMax: 10_000,
      }),
      socket: (sessionId) => ({
        sessionId,
        gatewayPath: sessionPaths(sessionId).gateway,
        auth: authSpec(sessionId),
        socket: { webSocketUrl: wa.webSocketUrl, connectTimeoutMs: wa.connectTimeoutMs, keepAliveIntervalMs: wa.keepAliveIntervalMs, qrTimeoutMs: wa.qrTimeoutMs },
        routeConsole: placement.kind === 'thread',
        decryptLog: { perWindow: 5, windowMs: 60_000 },
        reportIntervalMs: 5_000,
        gatewayAskTimeoutMs: 10_000,
      }),
    });
    const httpDeps = (): HttpDeps => ({
      config,
      effectiveConfig: effective,
      service,
      tree: { snapshot: () => this.system.snapshot(), restart: (path) => this.system.restart(path) },
      checks,
      metrics: this.metrics.registry,
      logger,
      clock,
      batching,
      sessions,
    });
    const batcherDeps: BatcherDeps = {
      store,
      rules,
      leaseMs: config.batching.leaseMs,
      owner: this.owner,
      pipelinePath: PATHS.pipeline,
      newBatchId: randomUUID,
      storeRetryMs: STORE_RETRY_MS,
    };
    const { pipeline: p } = config;
    const createRunner = options.handlerRunner ?? (() => new PiscinaRunner({ handlerModule: p.handlerModule, webhookUrl: p.webhookUrl, concurrency: p.concurrency }));

    const children: ChildSpec[] = [
      { kind: 'actor', id: 'store', behaviour: local(() => storeOwner({ store, checks, pingIntervalMs: STORE_PING_MS })) },
      {
        kind: 'actor',
        id: 'pipeline',
        // Handlers in flight may finish (and, for the memory store, the queue drains) before it stops.
        shutdownTimeoutMs: p.handlerTimeoutMs + 5_000,
        behaviour: local(() =>
          pipeline({
            store,
            createRunner,
            owner: this.owner,
            leaseMs: config.batching.leaseMs,
            concurrency: p.concurrency,
            handlerTimeoutMs: p.handlerTimeoutMs,
            maxAttempts: p.maxAttempts,
            retryInitialMs: p.retryInitialMs,
            retryMaxMs: 60_000,
            queueMax: p.queueMax,
            drainOnStop: store.kind === 'memory',
          }),
        ),
      },
      {
        kind: 'supervisor',
        id: 'batchers',
        strategy: 'one_for_one',
        // Leaves are generous: one conversation's trouble must not take the others down.
        intensity: { maxRestarts: 1_000, withinMs: 60_000 },
        template: (id: string, start: unknown) => batcherSpec(id, start as BatcherStart, batcherDeps),
      },
      {
        kind: 'actor',
        id: 'recovery',
        behaviour: local(() =>
          recovery({
            store,
            ingest: this.ingest,
            batchersPath: PATHS.batchers,
            pipelinePath: PATHS.pipeline,
            owner: this.owner,
            leaseMs: config.batching.leaseMs,
            intervalMs: config.batching.sweepIntervalMs,
          }),
        ),
      },
      ...(wa.sessions.length > 0 ? [whatsapp] : []),
      {
        kind: 'supervisor',
        id: 'monitors',
        strategy: 'one_for_one',
        children: [{ kind: 'actor', id: 'memory', behaviour: local(() => memoryMonitor({ ...config.memory, checks })) }],
      },
      { kind: 'actor', id: 'http', behaviour: local(() => httpServer(httpDeps())) },
    ];

    this.system = new ActorSystem(
      // The root is strict and the leaves generous: intensities multiply down the tree.
      { strategy: 'one_for_one', intensity: { maxRestarts: 5, withinMs: 60_000 }, children },
      {
        logger,
        clock,
        ...(options.random ? { random: options.random } : {}),
        defaults: { backoff: { ...DEFAULT_BACKOFF, ...config.backoff } },
        ...(options.onRootFailure ? { onRootFailure: options.onRootFailure } : {}),
      },
    );
    const system = this.system;
    this.metrics = createRuntimeMetrics({
      source: system,
      healthScore: () => assessHealth(system.snapshot(), checks.all()).score,
      processMetrics: config.metricsProcess,
      ingest: () => this.ingest.counts,
      ...(wa.sessions.length > 0
        ? {
            sessions: async () =>
              (await sessions.sample()).flatMap(({ info }) =>
                info
                  ? [
                      {
                        id: info.id,
                        status: info.status,
                        sendQueue: info.queue.depth,
                        sent24h: info.messages_sent_24h,
                        received24h: info.messages_received_24h,
                        errors24h: info.errors_24h,
                        badMac: info.decryptErrors.badMac,
                        otherDecryptErrors: info.decryptErrors.decrypt,
                        lastCloseCode: info.lastCloseCode,
                      },
                    ]
                  : [],
              ),
          }
        : {}),
    });
  }

  start(): Promise<void> {
    return this.system.start();
  }

  /**
   * Stops accepting (HTTP first), then, for the memory store, which does not outlive the
   * process, hands every pending batch to the pipeline with reason `shutdown`; then stops
   * the tree in reverse start order (the pipeline drains before it stops). The Redis store
   * keeps pending batches for the next start.
   */
  async shutdown(): Promise<void> {
    this.metrics.close();
    if (this.system.isRunning) {
      await this.system
        .supervisor('/')
        .stopChild('http')
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'could not stop http first'));
      // WhatsApp is the other way messages come in: its sockets close (and hand over what they
      // received) before pending batches are flushed, so nothing is accepted after the flush.
      if (this.#hasWhatsApp) {
        await this.system
          .supervisor('/')
          .stopChild('whatsapp')
          .catch((error: unknown) => this.#logger.warn({ err: error }, 'could not stop whatsapp before the flush'));
      }
      if (this.store.kind === 'memory') {
        const pipelineRef = this.system.lookup<BatchHandoff, unknown>(PATHS.pipeline);
        if (pipelineRef) await flushPendingForShutdown({ store: this.store, pipeline: pipelineRef, owner: this.owner, leaseMs: this.#leaseMs, logger: this.#logger, rules: this.#rules, clock: this.#clock });
      }
    }
    await this.system.shutdown();
  }

  async httpAddress(): Promise<HttpAddress | undefined> {
    return this.system.lookup<HttpMessage, HttpAddress | undefined>(PATHS.http)?.ask({ type: 'address' });
  }
}

function createStore(config: Config): BatchStore {
  if (!config.redisUrl) return new MemoryStore({ seenTtlMs: config.batching.ttlSeconds * 1000 });
  return new RedisStore({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix, ttlSeconds: config.batching.ttlSeconds });
}
