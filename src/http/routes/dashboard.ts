import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TREE } from '../../tree-paths.js';
import { walkTree } from '../../../supervisor/tree-node.js';
import { DashboardHub } from '../dashboard/dashboard-hub.js';
import { DashboardState, recentLogs } from '../dashboard/dashboard-state.js';
import { bearerDigest, sameToken, tokenDigest } from '../admin-auth.js';
import { errorBody } from '../error-handler.js';
import type { HttpDeps } from '../http-deps.js';

/** The page's files: built (minified) into dist/ next to this module's compiled copy, or the sources as they are. */
const PAGE_DIR = new URL('../dashboard/page/', import.meta.url);
const ASSETS: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '/dashboard': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const batchersQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', maxLength: 128 },
    limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
  },
} as const;

type Access = 'admin' | 'read' | 'none';

/**
 * GET /dashboard (the page, its script and style, served from the runtime: nothing from a
 * CDN), GET /dashboard/events (Server-Sent Events, src/http/dashboard/dashboard-hub.ts),
 * GET /dashboard/batchers?q= (search the conversations a summary row stands for), GET
 * /dashboard/stats. Read-only views need no token unless DASHBOARD_TOKEN is set; the admin
 * token (as a bearer header, never in a URL) adds the logs, and the page's buttons and QR use
 * it on the admin routes.
 */
export function dashboardRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const admin = deps.config.adminToken === undefined ? undefined : tokenDigest(deps.config.adminToken);
  const reader = deps.config.dashboard.token === undefined ? undefined : tokenDigest(deps.config.dashboard.token);
  const accessOf = (request: FastifyRequest): Access => {
    const given = bearerDigest(request);
    if (sameToken(given, admin)) return 'admin';
    if (sameToken(given, reader)) return 'read';
    return reader === undefined ? 'read' : 'none';
  };
  const refuse = (reply: FastifyReply): FastifyReply =>
    reply.code(401).header('www-authenticate', 'Bearer realm="dashboard"').send(errorBody(401, 'WAR_ERR_UNAUTHORIZED', 'the dashboard needs a bearer token (DASHBOARD_TOKEN or ADMIN_TOKEN)'));

  const hub = new DashboardHub({
    state: new DashboardState({
      operations: deps.operations,
      history: deps.history,
      ...(deps.sessions ? { sessions: deps.sessions } : {}),
      ...(deps.batching ? { batching: deps.batching } : {}),
      ...(deps.alerts ? { alerts: deps.alerts } : {}),
      now: () => deps.clock.now(),
    }),
    events: deps.events,
    clock: deps.clock,
    logger: deps.logger,
    logs: () => {
      const report = deps.operations.logs({ level: 'warn', limit: 50 });
      return { lines: report.lines, next: report.next };
    },
    maxClients: deps.config.dashboard.maxClients,
    clientBufferBytes: deps.config.dashboard.clientBufferBytes,
  });
  app.addHook('onReady', async () => hub.start());
  app.addHook('preClose', async () => hub.close());

  const files = new Map<string, Buffer>();
  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(path, async (_request, reply) => {
      let body = files.get(asset.file);
      if (!body) {
        body = await readFile(new URL(asset.file, PAGE_DIR));
        files.set(asset.file, body);
      }
      return reply.type(asset.type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body);
    });
  }

  app.get('/dashboard/events', async (request, reply) => {
    const access = accessOf(request);
    if (access === 'none') return refuse(reply);
    const lastHeader = request.headers['last-event-id'];
    const lastEventId = typeof lastHeader === 'string' && lastHeader.length <= 64 ? lastHeader : undefined;
    if (deps.config.dashboard.maxClients <= hub.stats.clients) {
      hub.noteRefused();
      return reply.code(503).header('retry-after', '5').send(errorBody(503, 'WAR_ERR_DASHBOARD_FULL', `${deps.config.dashboard.maxClients} pages already follow the dashboard (DASHBOARD_MAX_CLIENTS)`));
    }
    reply.hijack();
    const attached = await hub.attach(reply.raw, { admin: access === 'admin', lastEventId });
    if (!attached) {
      reply.raw.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
      reply.raw.end(JSON.stringify(errorBody(503, 'WAR_ERR_DASHBOARD_FULL', `${deps.config.dashboard.maxClients} pages already follow the dashboard (DASHBOARD_MAX_CLIENTS)`)));
    }
  });

  app.get<{ Querystring: { q?: string; limit?: string } }>('/dashboard/batchers', { schema: { querystring: batchersQuery } }, async (request, reply) => {
    if (accessOf(request) === 'none') return refuse(reply);
    const q = (request.query.q ?? '').toLowerCase();
    const limit = Math.min(Number(request.query.limit ?? 50), 200);
    const batchers = [...walkTree(deps.tree.snapshot())].find((node) => node.path === TREE.batchers);
    const children = batchers?.children ?? [];
    const matches = children.filter((child) => child.path.toLowerCase().includes(q));
    return {
      total: children.length,
      matching: matches.length,
      children: matches.slice(0, limit).map((child) => ({ path: child.path, status: child.status, restarts: child.restarts, mailboxDepth: child.mailbox.depth, lastError: child.lastError })),
    };
  });

  app.get('/dashboard/stats', async (request, reply) => {
    if (accessOf(request) === 'none') return refuse(reply);
    return hub.stats;
  });

  app.get('/dashboard/logs', async (request, reply) => {
    if (accessOf(request) !== 'admin') return refuse(reply);
    return { lines: recentLogs(deps.operations, 50) };
  });
}
