import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { closeLocal, listenLocal } from './net.js';

/** One request the sink got: what it carried, when (Date.now()), and the status it was answered with. */
export interface SinkRequest {
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined if it was not JSON). */
  readonly body: unknown;
  readonly url: string;
  readonly at: number;
  readonly status: number | 'hang';
}

interface Scripted {
  remaining: number;
  readonly status: number | 'hang';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/**
 * A local webhook standing in for n8n: records every POST (`attempts`) and the ones it took
 * with a 2xx (`received`), and answers the next ones as scripted (`failNext(2, 503)`, with a
 * Retry-After or a body if asked), or holds them unanswered until `release`.
 */
export class N8nSink {
  readonly attempts: SinkRequest[] = [];
  readonly received: SinkRequest[] = [];
  /** The status of unscripted requests. */
  fallback = 200;
  #script: Scripted[] = [];
  readonly #held: { response: ServerResponse; entry: SinkRequest }[] = [];
  readonly #server: Server;

  constructor() {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        const scripted = this.#take();
        const status = scripted?.status ?? this.fallback;
        const entry: SinkRequest = { headers: request.headers, body, url: request.url ?? '', at: Date.now(), status };
        this.attempts.push(entry);
        if (status === 'hang') {
          this.#held.push({ response, entry });
          return;
        }
        if (status >= 200 && status < 300) this.received.push(entry);
        response.writeHead(status, { 'content-type': 'application/json', ...scripted?.headers });
        response.end(scripted?.body ?? JSON.stringify({ ok: status < 300 }));
      });
    });
  }

  /** Starts listening; resolves with the webhook URL (…/hook). */
  listen(): Promise<string> {
    return listenLocal(this.#server);
  }

  /** Answers the next `count` requests with `status` (or holds them, `hang`), then as before. */
  failNext(count: number, status: number | 'hang', options: { headers?: Record<string, string>; body?: string } = {}): void {
    this.#script.push({ remaining: count, status, headers: options.headers ?? {}, body: options.body });
  }

  /** Answers the held requests now, with `status` (their attempts stay recorded as `hang`; a 2xx counts them received). */
  release(status = 200): void {
    for (const { response, entry } of this.#held.splice(0)) {
      if (status >= 200 && status < 300) this.received.push({ ...entry, status });
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: status < 300 }));
    }
  }

  get held(): number {
    return this.#held.length;
  }

  close(): Promise<void> {
    return closeLocal(this.#server);
  }

  #take(): Scripted | undefined {
    const entry = this.#script[0];
    if (!entry) return undefined;
    if (--entry.remaining <= 0) this.#script.shift();
    return entry;
  }
}

/** A sink on a free port, closed by the test file's cleanups. */
export async function listeningSink(cleanups: (() => Promise<void> | void)[]): Promise<{ sink: N8nSink; url: string }> {
  const sink = new N8nSink();
  const url = await sink.listen();
  cleanups.push(() => sink.close());
  return { sink, url };
}
