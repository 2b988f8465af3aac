import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export type WaServerMode =
  /** Accepts the upgrade, then closes at once: Baileys sees "Connection Terminated" (428). */
  | 'drop'
  /** Accepts and never answers the handshake: Baileys times out (408). */
  | 'silent';

/** A local stand-in for WhatsApp's WebSocket endpoint, for the real Baileys client. */
export class WaServer {
  readonly connections: { at: number; path: string }[] = [];
  readonly #server: WebSocketServer;
  readonly #sockets = new Set<WebSocket>();

  private constructor(server: WebSocketServer, mode: WaServerMode) {
    this.#server = server;
    server.on('connection', (socket, request) => {
      this.connections.push({ at: Date.now(), path: request.url ?? '' });
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => undefined);
      if (mode === 'drop') socket.close();
    });
  }

  static async start(mode: WaServerMode, port = 0): Promise<WaServer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new WaServer(server, mode);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}/ws/chat`;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
