import type { AuthenticationState, WAMessage } from '@whiskeysockets/baileys';
import type { BaileysLogger } from './decrypt-error-log.js';

/**
 * The part of a Baileys socket a session uses, behind one seam: production wraps Baileys
 * (baileys-socket.ts); policy tests drive the session with sockets that close with the
 * same Boom errors Baileys raises.
 */
export interface SessionSocket {
  /** Sends a text; `messageId` is reused on a retry so WhatsApp sees one message. Resolves with the id sent. */
  sendText(jid: string, text: string, messageId: string): Promise<string>;
  /** Asks WhatsApp for an 8-character pairing code for `phone` (digits, country code first). */
  requestPairingCode(phone: string): Promise<string>;
  /** The phone-number id behind a LID, if this socket has learnt it. */
  phoneForLid(lid: string): Promise<string | undefined>;
  /** Ends the socket; resolves once its WebSocket is closed, so a successor never overlaps it. */
  close(): Promise<void>;
}

export interface ConnectionUpdate {
  readonly connection?: 'connecting' | 'open' | 'close';
  /** A fresh QR payload to show. */
  readonly qr?: string;
  /** The Boom error the connection closed with. */
  readonly closeError?: unknown;
  /** True once the number is registered (paired). */
  readonly registered?: boolean;
}

export interface SocketHandlers {
  connection(update: ConnectionUpdate): void;
  messages(messages: readonly WAMessage[], type: 'notify' | 'append'): void;
}

/** Cloneable: crosses into the session's worker thread. */
export interface SocketOptions {
  /** Baileys' `waWebSocketUrl`; unset: WhatsApp's own server. */
  readonly webSocketUrl: string | undefined;
  readonly connectTimeoutMs: number;
  readonly keepAliveIntervalMs: number;
  /** How long the first QR stays valid; later ones are shorter (Baileys' rule). */
  readonly qrTimeoutMs: number;
}

export interface SocketInput {
  /** Which session this socket is for (sessions may share a thread). */
  readonly sessionId: string;
  readonly options: SocketOptions;
  readonly auth: AuthenticationState;
  /** Persists the credentials after Baileys changed them (`creds.update`). */
  readonly saveCreds: () => Promise<void>;
  readonly handlers: SocketHandlers;
  /** Already rate limited for decrypt-error storms. */
  readonly logger: BaileysLogger;
}

export type SocketFactory = (input: SocketInput) => SessionSocket;
