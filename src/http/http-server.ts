import type { FastifyInstance } from 'fastify';
import type { Behaviour } from '../actor/behaviour.js';
import { buildApp } from './app.js';
import type { HttpDeps } from './http-deps.js';

export type HttpMessage = { readonly type: 'address' };

export interface HttpAddress {
  host: string;
  port: number;
}

/**
 * The HTTP server as a supervised actor: it listens in `start` (a port in use fails the
 * start, and the supervisor retries with backoff) and stops accepting in `stop`, waiting
 * for requests in flight.
 */
export function httpServer(deps: HttpDeps): Behaviour<HttpMessage, HttpAddress | undefined> {
  let app: FastifyInstance | undefined;
  let address: HttpAddress | undefined;
  return {
    async start(ctx) {
      const built = buildApp({ ...deps, logger: ctx.log }, ctx.path);
      app = built;
      await built.listen({ host: deps.config.host, port: deps.config.port });
      const bound = built.server.address();
      address = typeof bound === 'object' && bound ? { host: bound.address, port: bound.port } : undefined;
      ctx.setDetail(address ? { listening: `${address.host}:${address.port}` } : undefined);
      ctx.log.info({ address }, 'http listening');
    },
    receive(message) {
      switch (message.type) {
        case 'address':
          return address;
      }
    },
    async stop() {
      await app?.close();
      app = undefined;
    },
  };
}
