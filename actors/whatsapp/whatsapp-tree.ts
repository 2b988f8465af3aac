import type { BackoffOptions } from '../../supervisor/backoff.js';
import { local, thread, type ChildSpec, type SupervisorSpec } from '../../supervisor/child-spec.js';
import { siblingModule } from '../../src/thread/module-url.js';
import { TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { sessionGateway, type SessionGatewayDeps } from './session-gateway.js';
import { sessionSocket, type SessionSocketArgs, type SessionSocketOverrides } from './session-socket.js';

export interface WhatsAppTreeOptions {
  readonly sessions: readonly string[];
  readonly gateway: (sessionId: string) => SessionGatewayDeps;
  readonly socket: (sessionId: string) => SessionSocketArgs;
  /** `thread` in production: each session's socket in its own worker. Tests may run it locally with live overrides. */
  readonly placement: { readonly kind: 'thread' } | { readonly kind: 'local'; readonly overrides: (sessionId: string) => SessionSocketOverrides };
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
 *       └── socket     worker thread `whatsapp:<id>`: the Baileys socket and the close-code rule
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
    children: options.sessions.map((sessionId) => sessionTree(sessionId, options)),
  };
}

function sessionTree(sessionId: string, options: WhatsAppTreeOptions): ChildSpec {
  const args = options.socket(sessionId);
  const placement = options.placement;
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
            ? thread({ module: socketModule, exportName: 'createSessionSocket', args, group: `whatsapp:${sessionId}` })
            : local(() => sessionSocket(args, placement.overrides(sessionId))),
      },
    ],
  };
}


