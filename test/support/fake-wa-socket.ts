import { Boom } from '@hapi/boom';
import { DisconnectReason, type WAMessage } from '@whiskeysockets/baileys';
import type { ConnectionUpdate, SessionSocket, SocketFactory, SocketInput } from '../../actors/whatsapp/wa-socket.js';

/** The message Baileys closes with for each code (lib/Socket/socket.js and friends). */
const BAILEYS_MESSAGES: Record<number, string> = {
  [DisconnectReason.loggedOut]: 'Intentional Logout',
  [DisconnectReason.forbidden]: 'Forbidden',
  [DisconnectReason.timedOut]: 'Timed Out',
  [DisconnectReason.multideviceMismatch]: 'Multi-device mismatch',
  [DisconnectReason.connectionClosed]: 'Connection Terminated',
  [DisconnectReason.connectionReplaced]: 'Connection Replaced',
  [DisconnectReason.badSession]: 'Stream Errored (unknown)',
  [DisconnectReason.unavailableService]: 'Service Unavailable',
  [DisconnectReason.restartRequired]: 'Stream Errored (restart required)',
};

/** A Boom error exactly as Baileys raises it for `code`. */
export function baileysCloseError(code: number): Boom {
  return new Boom(BAILEYS_MESSAGES[code] ?? 'Connection Failure', { statusCode: code, data: undefined });
}

export interface SentText {
  readonly jid: string;
  readonly text: string;
  readonly messageId: string;
  readonly socket: number;
}

/**
 * Stands in for WhatsApp's side of a socket in policy tests: each socket the session
 * creates is recorded; the test opens it, shows QRs, delivers messages and closes it with
 * the Boom errors Baileys raises. Counts live sockets, so two at once is caught.
 */
export class FakeWhatsApp {
  readonly sockets: FakeSocket[] = [];
  live = 0;
  maxLive = 0;
  readonly sent: SentText[] = [];
  /** Every send tried, failed ones included. */
  readonly attempts: SentText[] = [];
  /** Errors the next sends fail with, in order. */
  readonly sendFailures: Error[] = [];
  closeDelayMs = 20;

  readonly factory: SocketFactory = (input) => {
    this.live++;
    this.maxLive = Math.max(this.maxLive, this.live);
    const socket = new FakeSocket(this, input, this.sockets.length + 1);
    this.sockets.push(socket);
    return socket;
  };

  get current(): FakeSocket {
    const last = this.sockets.at(-1);
    if (!last) throw new Error('no socket was created');
    return last;
  }

  released(): void {
    this.live--;
  }
}

export class FakeSocket implements SessionSocket {
  closed = false;
  readonly #owner: FakeWhatsApp;
  readonly #input: SocketInput;
  readonly number: number;
  pairingCodeFor: string | undefined;

  constructor(owner: FakeWhatsApp, input: SocketInput, number: number) {
    this.#owner = owner;
    this.#input = input;
    this.number = number;
    queueMicrotask(() => this.emit({ connection: 'connecting' }));
  }

  get input(): SocketInput {
    return this.#input;
  }

  emit(update: ConnectionUpdate): void {
    if (!this.closed) this.#input.handlers.connection(update);
  }

  open(): void {
    this.#input.auth.creds.registered = true;
    this.emit({ connection: 'open', registered: true });
  }

  showQr(qr = `2@fake-qr-${this.number}`): void {
    this.emit({ qr, registered: false });
  }

  closeWith(code: number): void {
    this.emit({ connection: 'close', closeError: baileysCloseError(code), registered: this.#input.auth.creds.registered });
  }

  deliver(messages: WAMessage[], type: 'notify' | 'append' = 'notify'): void {
    if (!this.closed) this.#input.handlers.messages(messages, type);
  }

  async sendText(jid: string, text: string, messageId: string): Promise<string> {
    this.#owner.attempts.push({ jid, text, messageId, socket: this.number });
    const failure = this.#owner.sendFailures.shift();
    if (failure) throw failure;
    this.#owner.sent.push({ jid, text, messageId, socket: this.number });
    return messageId;
  }

  async requestPairingCode(phone: string): Promise<string> {
    this.pairingCodeFor = phone;
    return 'ABCD1234';
  }

  async phoneForLid(lid: string): Promise<string | undefined> {
    return lid === '111222333444555@lid' ? '79161234567@s.whatsapp.net' : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A real WebSocket takes a moment to close: a successor opened before this resolves would overlap.
    await new Promise((resolve) => setTimeout(resolve, this.#owner.closeDelayMs));
    this.#owner.released();
  }
}
