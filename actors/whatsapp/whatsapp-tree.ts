import type { BackoffOptions } from '../../supervisor/backoff.js';
import { local, thread, type ChildSpec, type SupervisorSpec } from '../../supervisor/child-spec.js';
import { siblingModule } from '../../src/thread/module-url.js';
import { TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { sessionGateway, type SessionGatewayDeps } from './session-gateway.js';
import { sessionSocket, type SessionSocketArgs, type SessionSocketOverrides } from './session-socket.js';

/**
 * A session thread's young generation, capped at 2 MB (V8's default lets it grow to tens of MB
 * per isolate). Idle sessions make little garbage, and what they make is short-lived frames
 * and timers: measured at 100 sessions on 7 threads against the dropping test server, the cap
 * takes the process from 775 MB to 563 MB (bench/whatsapp), for more frequent, smaller scavenges.
 */
const SESSION_THREAD_LIMITS = { maxYoungGenerationSizeMb: 2 } as const;

export type WhatsAppPlacement =
  | { readonly kind: 'thread'; readonly factory?: { readonly module: string; readonly exportName: string } }
  | { readonly kind: 'local'; readonly overrides: (sessionId: string) => SessionSocketOverrides };

export interface WhatsAppTreeOptions {
  readonly sessions: readonly string[];
  readonly gateway: (sessionId: string) => SessionGatewayDeps;
  readonly socket: (sessionId: string) => SessionSocketArgs;
  /**
   * `thread` in production: sockets on session threads, `sessionsPerThread` to a thread (a
   * factory module may stand in for Baileys there, for tests). Tests may also run them locally
   * with live overrides.
   */
  readonly placement: WhatsAppPlacement;
  /** Sessions sharing one worker thread (WA_SESSIONS_PER_THREAD). */
  readonly sessionsPerThread: number;
  /**
   * `static`: every session starts with the tree (one runtime). `owned`: none does; each is
   * started by `/cluster` when this node acquires its lease (whatsappSessionSpec) and stopped
   * when it gives the lease up.
   */
  readonly start: 'static' | 'owned';
  readonly backoff?: Partial<BackoffOptions>;
  /** How long a socket may take to close its WebSocket and auth store. */
  readonly socketShutdownMs: number;
  /** Each `/whatsapp/<id>`'s restart intensity: it only catches a gateway crashing in a loop. */
  readonly sessionIntensity: { readonly maxRestarts: number; readonly withinMs: number };
}

/**
 *   whatsapp/          one_for_one: one number's trouble never touches another's
 *   └── <id>/          rest_for_one: the socket restarts alone; a restarted gateway takes its socket along
 *       ├── gateway    main thread: send queue, status, inbound into the batchers
 *       └── socket     on a session thread (WA_SESSIONS_PER_THREAD to one): the Baileys socket and the close-code rule
 *
 * The socket is a dependency child: a connection that closes (428 and friends, ERR_WA_CLOSED)
 * is an outage, retried for ever at the capped backoff; the close-code table decides the halts.
 * A socket that fails for any other reason (a bug, a dying worker) gives up after its backoff
 * attempts and stays down (`gave_up`, alerted) instead of taking the other sessions with it.
 */
export function whatsappTree(options: WhatsAppTreeOptions): SupervisorSpec {
  return {
    kind: 'supervisor',
    id: childId(TREE.whatsapp),
    strategy: 'one_for_one',
    children: options.start === 'static' ? options.sessions.map((sessionId) => whatsappSessionSpec(sessionId, options)) : [],
  };
}

/** One session's subtree, `/whatsapp/<id>`, on the thread its place in WA_SESSIONS gives it. */
export function whatsappSessionSpec(sessionId: string, options: WhatsAppTreeOptions, group?: string): ChildSpec {
  const index = options.sessions.indexOf(sessionId);
  return sessionTree(sessionId, group ?? sessionThreadGroup(options.sessions, Math.max(0, index), options.sessionsPerThread), options);
}

/**
 * Runtimes sharing the sessions: a node runs only some of WA_SESSIONS, and not in their order,
 * so threads are filled by what it runs: a session started here joins the first of this node's
 * session threads with room, and leaves it when it stops here. Per runtime, passed at spawn.
 */
export class ThreadGroups {
  readonly #perThread: number;
  readonly #members = new Map<string, Set<string>>();
  readonly #groupOf = new Map<string, string>();

  constructor(perThread: number) {
    this.#perThread = perThread;
  }

  join(sessionId: string): string {
    const known = this.#groupOf.get(sessionId);
    if (known) return known;
    let index = 0;
    while ((this.#members.get(`whatsapp:thread-${index}`)?.size ?? 0) >= this.#perThread) index++;
    const group = this.#perThread === 1 ? `whatsapp:${sessionId}` : `whatsapp:thread-${index}`;
    this.#members.set(group, (this.#members.get(group) ?? new Set()).add(sessionId));
    this.#groupOf.set(sessionId, group);
    return group;
  }

  leave(sessionId: string): void {
    const group = this.#groupOf.get(sessionId);
    if (!group) return;
    this.#groupOf.delete(sessionId);
    this.#members.get(group)?.delete(sessionId);
  }
}

/**
 * The worker thread a session's socket runs on: WA_SESSIONS in order, `perThread` to a thread
 * (`whatsapp:<id>` when each has its own, `whatsapp:thread-<n>` when they share). A thread that
 * dies takes its group down; each session of it restarts under its own supervisor and the first
 * to come back opens the group's fresh thread, which the others join.
 */
export function sessionThreadGroup(sessions: readonly string[], index: number, perThread: number): string {
  return perThread === 1 ? `whatsapp:${sessions[index]}` : `whatsapp:thread-${Math.floor(index / perThread)}`;
}

function sessionTree(sessionId: string, group: string, options: WhatsAppTreeOptions): ChildSpec {
  const placement = options.placement;
  const socketArgs = options.socket(sessionId);
  const args = placement.kind === 'thread' && placement.factory ? { ...socketArgs, factory: placement.factory } : socketArgs;
  const socketModule = siblingModule(import.meta.url, './session-socket.js');
  return {
    kind: 'supervisor',
    id: sessionId,
    strategy: 'rest_for_one',
    // Socket restarts are paced by backoff (and outages are not counted); this only catches a gateway crashing in a loop.
    intensity: options.sessionIntensity,
    children: [
      { kind: 'actor', id: 'gateway', behaviour: local(() => sessionGateway(options.gateway(sessionId))) },
      {
        kind: 'actor',
        id: 'socket',
        onGiveUp: 'stay_down',
        // Outages: a WhatsApp close (WAR_ERR_WA_CLOSED), a network error, a start that timed out waiting on the auth store.
        dependency: { name: `whatsapp:${sessionId}` },
        shutdownTimeoutMs: options.socketShutdownMs,
        ...(options.backoff ? { backoff: options.backoff } : {}),
        behaviour:
          placement.kind === 'thread'
            ? thread({ module: socketModule, exportName: 'createSessionSocket', args, group, resourceLimits: SESSION_THREAD_LIMITS })
            : local(() => sessionSocket(args, placement.overrides(sessionId))),
      },
    ],
  };
}


