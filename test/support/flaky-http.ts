import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeLocal, listenLocal } from './net.js';

/** What the server does with one request: answer, never answer, or cut the connection. */
export type FlakyAnswer =
  | { readonly status: number; readonly body?: string | object; readonly headers?: Readonly<Record<string, string>> }
  | 'hang'
  | 'reset';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
}

/**
 * A local HTTP server that fails on cue: a standing answer (`answer`), optionally preceded by
 * a script of one-off answers (`script`), each used once in order. Every request is recorded.
 */
export class FlakyHttp {
  readonly requests: SeenRequest[] = [];
  #standing: FlakyAnswer = { status: 200, body: { status: 'ok' } };
  readonly #script: FlakyAnswer[] = [];
  readonly #hanging = new Set<ServerResponse>();
  readonly #server: Server;
  #base = '';

  constructor() {
    this.#server = createServer((request, response) => this.#handle(request, response));
  }

  /** The server's URL for `path` (default `/health`). */
  url(path = '/health'): string {
    return `${this.#base}${path}`;
  }

  get hanging(): number {
    return this.#hanging.size;
  }

  async start(): Promise<this> {
    this.#base = (await listenLocal(this.#server)).replace(/\/hook$/, '');
    return this;
  }

  /** The answer from now on, once the script is used up. */
  answer(answer: FlakyAnswer): this {
    this.#standing = answer;
    return this;
  }

  /** One-off answers for the next requests, in order. */
  script(...answers: FlakyAnswer[]): this {
    this.#script.push(...answers);
    return this;
  }

  async close(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#hanging.clear();
    await closeLocal(this.#server);
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests.push({ method: request.method ?? 'GET', path: request.url ?? '/', headers: request.headers });
    request.resume();
    const answer = this.#script.shift() ?? this.#standing;
    if (answer === 'hang') {
      this.#hanging.add(response);
      response.once('close', () => this.#hanging.delete(response));
      return;
    }
    if (answer === 'reset') {
      request.socket.destroy();
      return;
    }
    const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    const type = typeof answer.body === 'object' ? 'application/json' : 'text/plain';
    response.writeHead(answer.status, { 'content-type': type, ...answer.headers });
    response.end(body);
  }
}
