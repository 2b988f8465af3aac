import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http-deps.js';

export function metricsRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/metrics', async (_request, reply) => {
    const body = await deps.metrics.metrics();
    return reply.type(deps.metrics.contentType).send(body);
  });
}
