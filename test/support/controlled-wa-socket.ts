import { Boom } from '@hapi/boom';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { WebSocket } from 'ws';
import type { SessionSocket, SocketFactory } from '../../actors/whatsapp/wa-socket.js';

/**
 * A socket factory for session THREADS in tests, loaded by module path inside the worker (so
 * no live object can be handed to it): it opens at once and is steered through files in
 * `WA_TEST_CONTROL_DIR` (worker threads see the parent's environment as it was when they
 * started):
 *   close-<sessionId>   that session's socket closes with 428, as Baileys reports a dropped connection
 *   exit-<threadId>     the worker thread with that id calls process.exit
 *   hold-sends          sends wait (unacknowledged) while the file exists
 *   send-delay-ms       each send takes this long (the file's content, in ms) before it is acknowledged
 * Every acknowledged send is appended to `sent.jsonl` before the send resolves: that line is
 * "WhatsApp acknowledged it", which the outbound tests count.
 *
 * With a WebSocket URL (WA_WEBSOCKET_URL) the socket also holds a real WebSocket to it, named
 * by `?session=<id>`, opens only once that connection is up and closes (428) when the server
 * drops it: the cluster tests' server counts connections per session. With `probe-writes` in
 * the control directory it writes an auth key (`probe:<id>` = this NODE_ID) every 100 ms and
 * records each outcome in `auth-writes.jsonl`.
 */
const POLL_MS = 25;

export const createControlledSocket: SocketFactory = (input) => {
  const dir = process.env['WA_TEST_CONTROL_DIR'];
  let closed = false;
  const poll = setInterval(() => {
    if (!dir) return;
    if (existsSync(join(dir, `exit-${threadId}`))) process.exit(7);
    const closeFile = join(dir, `close-${input.sessionId}`);
    if (!closed && existsSync(closeFile)) {
      rmSync(closeFile, { force: true });
      ws?.terminate();
      dropped();
    }
  }, POLL_MS);
  const dropped = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(poll);
    clearInterval(probe);
    input.handlers.connection({ connection: 'close', closeError: new Boom('Connection Terminated', { statusCode: 428 }) });
  };
  const url = input.options.webSocketUrl;
  const ws = url ? new WebSocket(`${url}?session=${encodeURIComponent(input.sessionId)}`) : undefined;
  if (ws) {
    ws.on('error', () => undefined);
    ws.once('open', () => {
      if (!closed) input.handlers.connection({ connection: 'open', registered: true });
    });
    ws.once('close', dropped);
  } else {
    setImmediate(() => {
      if (!closed) input.handlers.connection({ connection: 'open', registered: true });
    });
  }
  const node = process.env['NODE_ID'] ?? '';
  const probe = setInterval(() => {
    if (!dir || closed || !existsSync(join(dir, 'probe-writes'))) return;
    const at = Date.now();
    const record = (ok: boolean, code?: string): void => appendFileSync(join(dir, 'auth-writes.jsonl'), `${JSON.stringify({ sessionId: input.sessionId, node, at, ok, code })}\n`);
    Promise.resolve()
      .then(() => input.auth.keys.set({ probe: { [input.sessionId]: { node, at } } } as unknown as Parameters<typeof input.auth.keys.set>[0]))
      .then(
        () => record(true),
        (error: unknown) => record(false, (error as { code?: string }).code),
      );
  }, 100);
  const held = async (): Promise<void> => {
    while (dir && existsSync(join(dir, 'hold-sends')) && !closed) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const delayFile = dir ? join(dir, 'send-delay-ms') : undefined;
    const delayMs = delayFile && existsSync(delayFile) ? Number(readFileSync(delayFile, 'utf8')) : 0;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  };
  const socket: SessionSocket = {
    async sendText(jid, text, messageId) {
      await held();
      if (closed) throw new Boom('Connection Closed', { statusCode: 428 });
      if (dir) appendFileSync(join(dir, 'sent.jsonl'), `${JSON.stringify({ sessionId: input.sessionId, jid, text, messageId, threadId, node: process.env['NODE_ID'] ?? null })}\n`);
      return messageId;
    },
    requestPairingCode: async () => 'TESTCODE',
    phoneForLid: async () => undefined,
    async close() {
      closed = true;
      clearInterval(poll);
      clearInterval(probe);
      if (ws && ws.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close();
        });
      }
    },
  };
  return socket;
};

/** The export WA_SOCKET_MODULE names. */
export const createSocket = createControlledSocket;
