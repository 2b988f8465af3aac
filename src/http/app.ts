import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { clientErrorHandler, installErrorHandlers } from './error-handler.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import type { HttpDeps } from './http-deps.js';
import { lazyRequestLogger } from './request-logger.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { sessionRoutes } from './routes/sessions.js';
import { webhookRoutes } from './routes/webhook.js';

/** Builds (does not start) the fastify app; `ownPath` is the HTTP actor's path in the tree. */
export function buildApp(deps: HttpDeps, ownPath: string): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Health probes and webhooks arrive many times a second: no per-request log lines.
    logController: new LogController({ disableRequestLogging: true }),
    // A request's child logger is made only if the request logs.
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: 64 * 1024,
    clientErrorHandler,
    ajv: {
      // Reject what does not fit instead of silently repairing it.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false, allowUnionTypes: true },
    },
  });
  installErrorHandlers(app);
  const countRequest = deps.countRequest;
  if (countRequest) {
    // The route's pattern, never the raw URL: the label stays bounded whatever clients send.
    app.addHook('onResponse', async (request, reply) => countRequest(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode));
  }
  healthRoutes(app, deps);
  metricsRoutes(app, deps);
  adminRoutes(app, deps, ownPath);
  if (deps.batching) {
    webhookRoutes(app, deps, deps.batching);
    deadLetterRoutes(app, deps, deps.batching);
  }
  sessionRoutes(app, deps);
  return app;
}
