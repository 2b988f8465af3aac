import type { RecoveryMessage, SweepResult } from '../actors/batcher/recovery.js';
import type { BookingMessage } from '../actors/booking/booking-actor.js';
import type { BookingStatus } from '../actors/booking/booking-service.js';
import type { OpsBotMessage, OpsBotStatus } from '../actors/ops-bot/ops-bot.js';
import type { MemoryMonitorMessage } from '../actors/monitors/memory/memory-monitor.js';
import type { PipelineMessage, PipelineStatus } from '../actors/pipeline/pipeline.js';
import type { StoreOwnerMessage } from '../actors/store/store-owner.js';
import type { ClusterView, SessionOwnershipMessage } from '../actors/cluster/session-ownership.js';
import type { GatewayMessage, SocketMessage, SocketReply } from '../actors/whatsapp/session-protocol.js';
import { actorPath, type ActorPath } from './actor/actor-path.js';
import type { CheckReport } from './health/health-checks.js';
import type { HttpAddress, HttpMessage } from './http/http-server.js';

/**
 * The tree's paths, in one place, each typed with what its actor takes
 * and answers. Features spawn their children under these ids and reach each other through
 * them; nothing else spells a path.
 *
 *   /              root, one_for_one
 *   ├── store      the store's connection and the `store` check
 *   ├── pipeline   runs the handler for each flushed batch
 *   ├── batchers/  one actor per conversation with pending messages (dynamic)
 *   ├── recovery   re-arms pending conversations, takes over expired in-flight batches
 *   ├── booking    the YClients client (with YCLIENTS_PARTNER_TOKEN)
 *   ├── whatsapp/  one subtree per session: <id>/gateway, <id>/socket
 *   ├── cluster    with Redis: which sessions this node holds (leases with fences)
 *   ├── monitors/  one actor per monitor (actors/monitors/<name>), each publishing checks
 *   ├── alerts/    notifier (groups alerts), one actor per channel (telegram, n8n)
 *   ├── ops-bot    the Telegram ops bot (with OPS_BOT_TOKEN)
 *   └── http       started last, stopped first
 */
export const TREE = {
  root: '/',
  store: actorPath<StoreOwnerMessage, CheckReport | undefined>('/store'),
  pipeline: actorPath<PipelineMessage, PipelineStatus | undefined>('/pipeline'),
  batchers: '/batchers',
  recovery: actorPath<RecoveryMessage, SweepResult | undefined>('/recovery'),
  whatsapp: '/whatsapp',
  cluster: actorPath<SessionOwnershipMessage, ClusterView | undefined>('/cluster'),
  monitors: '/monitors',
  memoryMonitor: actorPath<MemoryMonitorMessage, CheckReport | undefined>('/monitors/memory'),
  alerts: '/alerts',
  booking: actorPath<BookingMessage, BookingStatus | undefined>('/booking'),
  opsBot: actorPath<OpsBotMessage, OpsBotStatus | undefined>('/ops-bot'),
  http: actorPath<HttpMessage, HttpAddress | undefined>('/http'),
} as const;

/** A monitor's path: /monitors/<name>. */
export function monitorPath(name: string): string {
  return `${TREE.monitors}/${name}`;
}

/** An alert channel's path: /alerts/<channel>. */
export function alertChannelPath(channel: string): string {
  return `${TREE.alerts}/${channel}`;
}

export interface SessionPaths {
  readonly session: string;
  /** Main thread: send queue, status, inbound into the batchers. Pipeline replies go here. */
  readonly gateway: ActorPath<GatewayMessage, unknown>;
  /** The session's worker thread: the Baileys socket. */
  readonly socket: ActorPath<SocketMessage, SocketReply>;
}

/** Where a session's actors live: /whatsapp/<id>/{gateway,socket}. */
export function sessionPaths(sessionId: string): SessionPaths {
  const session = `${TREE.whatsapp}/${sessionId}`;
  return { session, gateway: actorPath(`${session}/gateway`), socket: actorPath(`${session}/socket`) };
}
