import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import { closeLocal, listenLocal } from './net.js';

export interface ReceivedBatch {
  headers: IncomingHttpHeaders;
  batch: FlushedBatch;
}

/**
 * A local HTTP server standing in for n8n / an AI service: it records what the runtime's
 * real undici client POSTs, and answers with the statuses it is told to.
 */
export class WebhookReceiver {
  readonly received: ReceivedBatch[] = [];
  /** Every request, answered well or not: which batch, when (ms), with what status. */
  readonly attempts: { batchId: string; at: number; status: number }[] = [];
  /** Statuses to answer with, one per request; when empty, `fallback`. */
  readonly script: number[] = [];
  fallback = 200;
  replyText: string | undefined;
  delayMs = 0;
  readonly #server: Server;

  constructor() {
    this.#server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        const status = this.script.shift() ?? this.fallback;
        try {
          this.attempts.push({ batchId: (JSON.parse(body) as FlushedBatch).batchId, at: Date.now(), status });
        } catch {
          // Not a batch: only counted by the status it gets.
        }
        setTimeout(() => {
          if (status >= 200 && status < 300) this.received.push({ headers: request.headers, batch: JSON.parse(body) as FlushedBatch });
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(this.replyText ? { reply: this.replyText } : { ok: status < 300 }));
        }, this.delayMs);
      });
    });
  }

  listen(): Promise<string> {
    return listenLocal(this.#server);
  }

  close(): Promise<void> {
    return closeLocal(this.#server);
  }
}

/** A receiver on a free port, closed by the test file's cleanups (its afterEach runs them). */
export async function listeningReceiver(cleanups: (() => Promise<void> | void)[]): Promise<{ hook: WebhookReceiver; url: string }> {
  const hook = new WebhookReceiver();
  const url = await hook.listen();
  cleanups.push(() => hook.close());
  return { hook, url };
}
