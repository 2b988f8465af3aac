import { resolve } from 'node:path';
import type { Feature, FeatureContext } from '../../src/feature.js';
import { ConditionLog } from '../../src/logging/condition-log.js';
import type { SessionSample } from '../../src/metrics/runtime-metrics.js';
import { sessionPaths, TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { LIFECYCLE_EVENT_TYPES } from '../../supervisor/lifecycle-events.js';
import type { BatchIngest } from '../batcher/batch-ingest.js';
import type { ReplyTarget } from '../pipeline/pipeline.js';
import type { AuthStoreSpec } from './auth-store.js';
import { terminalQr } from './qr-render.js';
import { SessionDirectory } from './session-directory.js';
import { whatsappMessageId } from './session-gateway.js';
import { whatsappTree, type WhatsAppTreeOptions } from './whatsapp-tree.js';
import { DATA_FILES } from '../store/store-feature.js';
import { join } from 'node:path';
import { MemoryOutbox, outboxEntry, type Outbox } from './outbox.js';
import { refused, type Outcome, type SendAccepted } from './session-protocol.js';
import { RedisOutbox } from './redis-outbox.js';
import { SqliteOutbox } from './sqlite-outbox.js';
import { sessionKeys } from './session-keys.js';
import { Redis } from 'ioredis';
import { reportErrorsAtMostEvery } from '../../src/logging/rare-errors.js';
import { OwnershipTable } from '../cluster/ownership-table.js';
import { sessionOwnership, type ClusterView } from '../cluster/session-ownership.js';
import { ThreadGroups, whatsappSessionSpec } from './whatsapp-tree.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';

export interface WhatsAppOffers {
  /** The sessions by id, for the HTTP API. */
  readonly directory: SessionDirectory;
  /** A session's gateway (its send queue) for pipeline replies; undefined for an id not in WA_SESSIONS. */
  replyTo(sessionId: string): ReplyTarget | undefined;
  /** Which node runs which session (`GET /health/cluster`). */
  cluster(): Promise<ClusterView>;
  /** With Redis: what this node holds. */
  readonly ownership?: OwnershipTable;
  /** Each session's figures for /metrics, sampled at scrape time. */
  sample(): Promise<SessionSample[]>;
  /**
   * Stops `/whatsapp` (the sockets hand over what they received) ahead of the rest of the
   * tree at shutdown, so nothing is accepted after the memory store's shutdown flush.
   */
  stop(): Promise<void>;
}

export interface WhatsAppFeatureDeps {
  readonly ingest: BatchIngest;
  /** Where sockets run: on session threads (WA_SESSIONS_PER_THREAD to one), or (tests) locally with their own socket factory. */
  readonly placement?: WhatsAppTreeOptions['placement'];
  /** Shows a session's fresh QR; by default drawn on stderr when it is a terminal, else logged as available. */
  readonly showQr?: (sessionId: string, qr: string) => void;
}

/**
 * The WhatsApp feature: one `/whatsapp/<id>` subtree per WA_SESSIONS id (a gateway on the main
 * thread, a Baileys socket on a session thread shared by up to WA_SESSIONS_PER_THREAD sessions). The sockets are dependency children: a
 * network-style close is retried for ever at the capped backoff, while the close-code table
 * (close-codes.ts) still decides halts (401, 403, 411, 440).
 */
export function whatsappFeature(ctx: FeatureContext, deps: WhatsAppFeatureDeps): Feature<WhatsAppOffers> {
  const { config, links, events } = ctx;
  const wa = config.whatsapp;
  const showQr = deps.showQr ?? terminalQr(ctx.logger);
  const placement = deps.placement ?? (wa.socketModule ? { kind: 'thread', factory: { module: wa.socketModule, exportName: 'createSocket' } } : { kind: 'thread' });
  const conditions = new ConditionLog(ctx.logger.child({ component: 'whatsapp' }), { now: () => ctx.clock.now() });
  // With Redis the runtimes on it share the sessions: each runs only those it holds the lease of.
  const ownership = config.redisUrl && wa.sessions.length > 0 ? new OwnershipTable(wa.nodeId) : undefined;
  const directory = new SessionDirectory({
    ids: wa.sessions,
    lookup: (path) => links.target.lookup(path),
    askTimeoutMs: 5_000,
    pairTimeoutMs: wa.connectTimeoutMs + 5_000,
    ...(ownership ? { ownership } : {}),
  });
  const authSpec = (sessionId: string): AuthStoreSpec => {
    if (!config.redisUrl) return { kind: 'file', dir: resolve(wa.authDir, sessionId) };
    const keys = sessionKeys(config.redisKeyPrefix, sessionId);
    const fence = ownership?.fence(sessionId);
    return { kind: 'redis', url: config.redisUrl, key: keys.auth, ...(fence !== undefined ? { fence: { leaseKey: keys.lease, value: fence } } : {}) };
  };
  const outbox = wa.sessions.length > 0 ? createOutbox(ctx) : undefined;
  const gateways = new Map(wa.sessions.map((id) => [id, links.to(sessionPaths(id).gateway)]));
  const treeOptions: WhatsAppTreeOptions = {
    start: ownership ? 'owned' : 'static',
    sessions: wa.sessions,
    placement,
    socketShutdownMs: wa.socketShutdownMs,
    sessionsPerThread: wa.sessionsPerThread,
    gateway: (sessionId) => ({
      sessionId,
      socket: links.to(sessionPaths(sessionId).socket),
      ingest: deps.ingest,
      subscribe: (socketPath, listener, onCutOff) =>
        events.subscribe(
          (event) => {
            if (event.path === socketPath && !listener.tell({ type: 'lifecycle', event })) throw new Error(`${listener.path} refused a lifecycle event`);
          },
          { types: LIFECYCLE_EVENT_TYPES, name: `${sessionPaths(sessionId).gateway} (socket lifecycle)`, onCutOff },
        ),
      events,
      conditions,
      showQr,
      newMessageId: whatsappMessageId,
      outbox: outbox as Outbox,
      // Once the lease is given up no fence is current: 0 is refused by every script, never skipped.
      ...(ownership ? { fence: () => ownership.fence(sessionId) ?? 0, sharedOutbox: true } : {}),
      queueMax: wa.sendQueueMax,
      sendAttempts: wa.sendAttempts,
      sendRetryMs: wa.sendRetryMs,
      sendTimeoutMs: wa.sendTimeoutMs,
      inboundRetryMs: config.store.retryMs,
      inboundBufferMax: wa.inboundBufferMax,
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
    sessionIntensity: config.supervision.leaf,
  };
  const tree = whatsappTree(treeOptions);
  // A reply made on another node lands in the stored queue and is announced: the gateway here reads it in.
  if (ownership && outbox instanceof RedisOutbox) {
    outbox.watch((sessionId) => {
      if (ownership.isLocal(sessionId)) links.target.lookup(sessionPaths(sessionId).gateway)?.tell({ type: 'outbox_changed' });
    });
  }
  const groups = new ThreadGroups(wa.sessionsPerThread);
  const cluster = ownership
    ? clusterChild(ctx, ownership, {
        spec: (sessionId) => whatsappSessionSpec(sessionId, treeOptions, groups.join(sessionId)),
        stopped: (sessionId) => groups.leave(sessionId),
      })
    : undefined;
  return {
    ...(outbox instanceof SqliteOutbox ? { preflight: async () => outbox.open() } : {}),
    close: async () => {
      await outbox?.close();
      await cluster?.close();
    },
    children: wa.sessions.length > 0 ? [tree, ...(cluster ? [cluster.spec] : [])] : [],
    offers: {
      directory,
      replyTo: (sessionId) => {
        const gateway = gateways.get(sessionId);
        if (!gateway || !ownership || !(outbox instanceof RedisOutbox)) return gateway;
        return sharedReplyTarget(sessionId, gateway, ownership, outbox, { queueMax: wa.sendQueueMax, now: () => ctx.clock.now() });
      },
      sample: async () =>
        (await directory.sample()).flatMap(({ info }) =>
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
      ...(ownership ? { ownership } : {}),
      cluster: async () => {
        if (cluster) return (await links.target.lookup(TREE.cluster)?.ask({ type: 'view' }, { timeoutMs: 5_000 })) as ClusterView;
        // One runtime without Redis: it is the only node and owns every session.
        return {
          nodes: [{ id: wa.nodeId, lastHeartbeatAt: new Date(ctx.clock.now()).toISOString(), sessions: [...wa.sessions] }],
          sessions: wa.sessions.map((id) => ({ id, owner: wa.nodeId, fence: null })),
        };
      },
      stop: async () => {
        if (wa.sessions.length === 0) return;
        // `/cluster` first: it stops its sessions and hands their leases back at once.
        if (cluster) await links.target.supervisor(TREE.root).stopChild(childId(TREE.cluster));
        await links.target.supervisor(TREE.root).stopChild(childId(TREE.whatsapp));
      },
    },
  };
}

/**
 * The send queues live where the batches do (BATCH_STORE): SQLite under DATA_DIR by default,
 * Redis with REDIS_URL, memory only with BATCH_STORE=memory.
 */
function createOutbox(ctx: FeatureContext): Outbox {
  const { config } = ctx;
  if (config.store.kind === 'memory') return new MemoryOutbox();
  if (config.store.kind === 'sqlite' || !config.redisUrl) return new SqliteOutbox(join(config.dataDir, DATA_FILES.outbox));
  const log = ctx.logger.child({ component: 'outbox' });
  return new RedisOutbox(config.redisUrl, config.redisKeyPrefix, (error) => log.warn({ err: error }, 'the send queues cannot reach Redis; sends are refused until it is back'));
}

/**
 * `/cluster` (after `/whatsapp`, so it starts sessions into a running supervisor and stops
 * before it): session ownership on its own Redis connection, which fails fast while Redis is
 * away (the leases must not wait in an offline queue past their expiry).
 */
function clusterChild(
  ctx: FeatureContext,
  table: OwnershipTable,
  sessions: { readonly spec: (sessionId: string) => ChildSpec; readonly stopped: (sessionId: string) => void },
): { spec: ChildSpec; close(): Promise<void> } {
  const { config, links } = ctx;
  const wa = config.whatsapp;
  let redis: Redis | undefined;
  const connection = (): Redis => {
    if (redis) return redis;
    const log = ctx.logger.child({ actor: TREE.cluster });
    redis = new Redis(config.redisUrl as string, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: Math.max(500, Math.floor(wa.leaseMs / 6)), retryStrategy: (attempt) => Math.min(attempt * 200, 2_000) });
    reportErrorsAtMostEvery(redis, 30_000, (error) => log.warn({ err: error }, 'session ownership cannot reach Redis'));
    return redis;
  };
  const spec: ChildSpec = {
    kind: 'actor',
    id: childId(TREE.cluster),
    // Its stop stops every session it holds (their sockets close) before it hands their leases back.
    shutdownTimeoutMs: wa.socketShutdownMs + 15_000,
    behaviour: local(() =>
      sessionOwnership({
        nodeId: wa.nodeId,
        leaseMs: wa.leaseMs,
        sessions: wa.sessions,
        redis: connection(),
        prefix: config.redisKeyPrefix,
        table,
        startSession: async (sessionId) => {
          try {
            await links.target.supervisor(TREE.whatsapp).startChild(sessions.spec(sessionId));
          } catch (error) {
            sessions.stopped(sessionId);
            throw error;
          }
        },
        stopSession: async (sessionId) => {
          const whatsapp = links.target.supervisor(TREE.whatsapp);
          if (whatsapp.childIds().includes(sessionId)) await whatsapp.stopChild(sessionId);
          sessions.stopped(sessionId);
        },
        isRunning: (sessionId) => links.target.lookup(sessionPaths(sessionId).gateway) !== undefined,
        checks: ctx.checks,
        firstSweepDelayMs: Math.min(1_000, Math.floor(wa.leaseMs / 3)),
      }),
    ),
  };
  return {
    spec,
    close: async () => {
      await redis?.quit().catch(() => redis?.disconnect());
    },
  };
}

/**
 * A reply to a session when runtimes share the sessions: through the gateway while this node
 * runs the session; else (another node runs it, or nobody yet) pushed into the session's
 * stored queue and announced, so the owner sends it in its turn, or the next owner loads it.
 * A batch is then never answered only because the pipeline that ran it is on another node.
 */
function sharedReplyTarget(
  sessionId: string,
  gateway: ReplyTarget,
  ownership: OwnershipTable,
  outbox: RedisOutbox,
  options: { readonly queueMax: number; readonly now: () => number },
): ReplyTarget {
  return {
    async ask(message, askOptions) {
      if (ownership.isLocal(sessionId)) {
        let answer: Outcome<SendAccepted> | undefined;
        try {
          answer = (await gateway.ask(message, askOptions)) as Outcome<SendAccepted>;
        } catch (error) {
          // Only where the gateway certainly stored nothing (it is not there) may the store take it
          // instead; a timed-out ask may have stored it, and a second push would send it twice.
          const code = (error as { code?: unknown }).code;
          if (code !== 'WAR_ERR_ACTOR_STOPPED' && code !== 'WAR_ERR_ACTOR_FAILED') return refused('WAR_ERR_WA_NOT_OPEN', `the reply may or may not be queued: ${error instanceof Error ? error.message : String(error)}`);
        }
        // Refused for not owning the session any more (it moved during the ask): the stored queue takes it.
        if (answer && (answer.ok || answer.code !== 'WAR_ERR_WA_NOT_OWNER')) return answer;
      }
      const made = outboxEntry(message, whatsappMessageId(), options.now());
      if (!made.ok) return refused('WAR_ERR_WA_BAD_REQUEST', made.problem);
      try {
        const pushed = await outbox.push(sessionId, made.entry, options.queueMax);
        if (!pushed.accepted) return refused('WAR_ERR_WA_QUEUE_FULL', `the send queue of session ${sessionId} is full (${options.queueMax})`);
        await outbox.announce(sessionId).catch(() => undefined);
        const accepted: SendAccepted = { id: made.entry.id, queueDepth: pushed.depth };
        return { ok: true, value: accepted };
      } catch (error) {
        return refused('WAR_ERR_STORE_UNAVAILABLE', error instanceof Error ? error.message : String(error));
      }
    },
  };
}
