import { Boom } from '@hapi/boom';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
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
      closed = true;
      clearInterval(poll);
      input.handlers.connection({ connection: 'close', closeError: new Boom('Connection Terminated', { statusCode: 428 }) });
    }
  }, POLL_MS);
  setImmediate(() => {
    if (!closed) input.handlers.connection({ connection: 'open', registered: true });
  });
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
      if (dir) appendFileSync(join(dir, 'sent.jsonl'), `${JSON.stringify({ sessionId: input.sessionId, jid, text, messageId, threadId })}\n`);
      return messageId;
    },
    requestPairingCode: async () => 'TESTCODE',
    phoneForLid: async () => undefined,
    async close() {
      closed = true;
      clearInterval(poll);
    },
  };
  return socket;
};

/** The export WA_SOCKET_MODULE names. */
export const createSocket = createControlledSocket;
