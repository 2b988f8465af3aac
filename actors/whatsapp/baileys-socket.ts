import makeWASocket, { Browsers, makeCacheableSignalKeyStore, type WASocket } from '@whiskeysockets/baileys';
import type { SessionSocket, SocketFactory } from './wa-socket.js';

/** A close that takes longer than this is abandoned: the WebSocket is torn down by the thread anyway. */
const CLOSE_BUDGET_MS = 5_000;

/** The production socket: a real Baileys v7 socket. */
export const createBaileysSocket: SocketFactory = (input) => {
  const { options, handlers } = input;
  const logger = input.logger;
  const socket: WASocket = makeWASocket({
    auth: { creds: input.auth.creds, keys: makeCacheableSignalKeyStore(input.auth.keys, logger) },
    ...(options.webSocketUrl ? { waWebSocketUrl: options.webSocketUrl } : {}),
    logger,
    browser: Browsers.ubuntu('Chrome'),
    connectTimeoutMs: options.connectTimeoutMs,
    keepAliveIntervalMs: options.keepAliveIntervalMs,
    qrTimeout: options.qrTimeoutMs,
    markOnlineOnConnect: false,
    // A session answers new messages; it never asks the phone for its full history (megabytes
    // of protobuf per session on a fresh link), and Baileys' default already skips FULL syncs.
    // The initial bootstrap sync stays: it carries the LID to phone-number mappings inbound
    // messages from LID senders are resolved with (Baileys warns that turning all sync off
    // breaks them).
    syncFullHistory: false,
    // Groups are never conversations here: skip decrypting them at all.
    shouldIgnoreJid: (jid) => jid.endsWith('@g.us') || jid.endsWith('@broadcast') || jid.endsWith('@newsletter'),
  });
  socket.ev.on('creds.update', () => {
    input.saveCreds().catch((error: unknown) => input.logger.error({ err: error }, 'could not save the credentials'));
  });
  socket.ev.on('connection.update', (update) => {
    handlers.connection({
      ...(update.connection ? { connection: update.connection } : {}),
      ...(update.qr ? { qr: update.qr } : {}),
      ...(update.lastDisconnect ? { closeError: update.lastDisconnect.error } : {}),
      registered: socket.authState.creds.registered === true || socket.authState.creds.me !== undefined,
    });
  });
  socket.ev.on('messages.upsert', ({ messages, type }) => handlers.messages(messages, type));

  let closing: Promise<void> | undefined;
  const session: SessionSocket = {
    async sendText(jid, text, messageId) {
      const sent = await socket.sendMessage(jid, { text }, { messageId });
      return sent?.key.id ?? messageId;
    },
    requestPairingCode: (phone) => socket.requestPairingCode(phone),
    async phoneForLid(lid) {
      return (await socket.signalRepository.lidMapping.getPNForLID(lid)) ?? undefined;
    },
    close() {
      closing ??= (async () => {
        socket.ev.removeAllListeners('connection.update');
        socket.ev.removeAllListeners('messages.upsert');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          socket.end(undefined),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, CLOSE_BUDGET_MS);
          }),
        ]).finally(() => clearTimeout(timer));
        socket.ev.removeAllListeners('creds.update');
      })();
      return closing;
    },
  };
  return session;
};
