import { alertRoutes } from './routes/alerts.js';
import { bookingRoutes } from './routes/booking.js';
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
import { dashboardRoutes } from './routes/dashboard.js';

/** Builds (does not start) the fastify app; `ownPath` is the HTTP actor's path in the tree. */
export function buildApp(deps: HttpDeps, ownPath: string): FastifyInstance {
  const limits = deps.config.http;
  const app = Fastify({
    // fastify copies its own requestTimeout and keepAliveTimeout onto the server after
    // creating it, so they are given there as well as to Node (which checks headers <= request).
    requestTimeout: limits.bodyTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      requestTimeout: limits.bodyTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node looks for timed-out requests only this often (30 s by default): a trickled body
      // would otherwise hold its connection up to 30 s past the timeout.
      connectionsCheckingInterval: checkingIntervalMs(limits.headersTimeoutMs),
    },
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
  // Node's own meaning of 0 (and unset) is no cap, as HTTP_MAX_CONNECTIONS documents.
  if (limits.maxConnections > 0) {
    app.server.maxConnections = limits.maxConnections;
    warnOnRefusals(app, deps);
  }
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
  dashboardRoutes(app, deps);
  if (deps.alerts) alertRoutes(app, deps, deps.alerts);
  if (deps.booking) bookingRoutes(app, deps, deps.booking);
  return app;
}

/** Half the shortest timeout, at most 1 s: how late after its timeout a slow request may be cut. */
function checkingIntervalMs(shortestTimeoutMs: number): number {
  return Math.max(50, Math.min(1_000, Math.floor(shortestTimeoutMs / 2)));
}

const REFUSAL_WARN_EVERY_MS = 60_000;

/** A refused connection is logged, at most once a minute: a flood must not flood the log too. */
function warnOnRefusals(app: FastifyInstance, deps: HttpDeps): void {
  let refused = 0;
  let warnedAt = Number.NEGATIVE_INFINITY;
  app.server.on('drop', () => {
    refused += 1;
    const now = deps.clock.now();
    if (now - warnedAt < REFUSAL_WARN_EVERY_MS) return;
    deps.logger.warn({ refused, maxConnections: deps.config.http.maxConnections }, 'http connections refused: HTTP_MAX_CONNECTIONS reached');
    warnedAt = now;
    refused = 0;
  });
}
