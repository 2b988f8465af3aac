import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export type WaServerMode =
  /** Accepts the upgrade, then closes at once: Baileys sees "Connection Terminated" (428). */
  | 'drop'
  /** Accepts and never answers the handshake: Baileys times out (408). */
  | 'silent';

export interface WaServerOptions {
  /**
   * Pings every connection this often and drops one that has not answered the previous ping,
   * as WhatsApp's server drops a client that stopped answering (a paused or dead process).
   */
  readonly keepAliveMs?: number;
}

/** A local stand-in for WhatsApp's WebSocket endpoint, for the real Baileys client. */
export class WaServer {
  readonly connections: { at: number; path: string }[] = [];
  /** Connections open now per `?session=` (sockets that name their session: test/support/controlled-wa-socket.ts). */
  readonly openBySession = new Map<string, number>();
  /** Every moment a session had two connections open at once. */
  readonly overlaps: { at: number; session: string; open: number }[] = [];
  readonly #server: WebSocketServer;
  readonly #sockets = new Set<WebSocket>();
  readonly #pinger: NodeJS.Timeout | undefined;

  private constructor(server: WebSocketServer, mode: WaServerMode, options: WaServerOptions) {
    this.#server = server;
    const alive = new WeakMap<WebSocket, boolean>();
    server.on('connection', (socket, request) => {
      const path = request.url ?? '';
      this.connections.push({ at: Date.now(), path });
      this.#sockets.add(socket);
      const session = new URL(path, 'ws://local').searchParams.get('session');
      if (session !== null) {
        const open = (this.openBySession.get(session) ?? 0) + 1;
        this.openBySession.set(session, open);
        if (open > 1) this.overlaps.push({ at: Date.now(), session, open });
      }
      alive.set(socket, true);
      socket.on('pong', () => alive.set(socket, true));
      socket.on('close', () => {
        this.#sockets.delete(socket);
        if (session !== null) this.openBySession.set(session, (this.openBySession.get(session) ?? 1) - 1);
      });
      socket.on('error', () => undefined);
      if (mode === 'drop') socket.close();
    });
    if (options.keepAliveMs) {
      this.#pinger = setInterval(() => {
        for (const socket of this.#sockets) {
          if (alive.get(socket) === false) {
            socket.terminate();
            continue;
          }
          alive.set(socket, false);
          socket.ping();
        }
      }, options.keepAliveMs);
    }
  }

  static async start(mode: WaServerMode, port = 0, options: WaServerOptions = {}): Promise<WaServer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new WaServer(server, mode, options);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}/ws/chat`;
  }

  async close(): Promise<void> {
    clearInterval(this.#pinger);
    for (const socket of this.#sockets) socket.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
