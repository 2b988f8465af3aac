import type { FastifyInstance } from 'fastify';
import { allowEmptyBody, emptyBodyAsObject } from '../empty-body.js';
import { recoveryProblem, type RecoverRequest, type WhatsAppRecoveryMode } from '../../operations/operations.js';
import { adminAuth } from '../admin-auth.js';
import { errorBody } from '../error-handler.js';
import type { HttpDeps } from '../http-deps.js';
import { requestInitiator } from '../request-initiator.js';

const restartBody = {
  type: 'object',
  required: ['path'],
  additionalProperties: false,
  properties: {
    path: { type: 'string', minLength: 1, maxLength: 512, pattern: '^/' },
  },
} as const;

const recoverParams = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string', enum: ['whatsapp', 'batches', 'company', 'all'] } },
} as const;

const recoverBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    /** The session (whatsapp) or the company id (company). */
    target: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    mode: { type: 'string', enum: ['reconnect', 'repair', 'pair'] },
    phone: { type: 'string', pattern: '^\\+?[0-9][0-9 ()-]{6,24}$' },
  },
} as const;

const logsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    level: { type: 'string', enum: ['warn', 'info'] },
    limit: { type: 'string', pattern: '^[0-9]{1,6}$' },
    after: { type: 'string', pattern: '^-?[0-9]{1,15}$' },
  },
} as const;

const testBody = {
  type: 'object',
  additionalProperties: false,
  properties: { session: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
} as const;

interface RecoverBody {
  target?: string;
  mode?: WhatsAppRecoveryMode;
  phone?: string;
}

/** The most lines one /admin/logs answer carries (the ring keeps LOG_BUFFER_LINES). */
const MAX_LOG_LINES = 100_000;

/**
 * The operations over HTTP, behind the admin token (src/operations does the work; the CLI
 * talks to these): GET /admin/status, /admin/health, /admin/queue, /admin/logs; POST
 * /admin/restart {path}, /admin/recover/:type {target, mode, phone}, /admin/test {session}.
 * A restart that takes down this HTTP server itself answers 202 first, then restarts.
 */
export function adminRoutes(app: FastifyInstance, deps: HttpDeps, ownPath: string): void {
  const { operations } = deps;
  app.register(async (admin) => {
    admin.addHook('onRequest', adminAuth(deps.config.adminToken));
    admin.get('/admin/status', async () => operations.status());

    admin.get('/admin/health', async (_request, reply) => {
      const health = operations.health();
      return reply.code(health.status === 'unhealthy' ? 503 : 200).send(health);
    });

    admin.get('/admin/queue', async () => operations.queue());

    admin.get<{ Querystring: { level?: 'warn' | 'info'; limit?: string; after?: string } }>('/admin/logs', { schema: { querystring: logsQuery } }, async (request) => {
      const { level = 'warn', limit, after } = request.query;
      return operations.logs({ level, limit: Math.min(Number(limit ?? 100), MAX_LOG_LINES), ...(after === undefined ? {} : { after: Number(after) }) });
    });

    admin.post<{ Body: { path: string } }>('/admin/restart', { schema: { body: restartBody }, bodyLimit: 4096 }, async (request, reply) => {
      const { path } = request.body;
      const by = requestInitiator(request);
      if (path !== '/' && operations.hasPath(path) && (ownPath === path || ownPath.startsWith(`${path}/`))) {
        // Answered first: the restart closes this very server.
        reply.raw.once('finish', () => {
          operations.restart(path, by).catch((error: unknown) => deps.logger.error({ err: error, path }, 'admin restart failed'));
        });
        return reply.code(202).send({ ok: true, restarting: path, note: 'this restarts the HTTP server itself' });
      }
      const result = await operations.restart(path, by);
      return { ok: true, ...result };
    });

    admin.post<{ Params: { type: RecoverRequest['type'] }; Body: RecoverBody }>(
      '/admin/recover/:type',
      { schema: { params: recoverParams, body: recoverBody }, bodyLimit: 4096, preParsing: allowEmptyBody, preValidation: emptyBodyAsObject },
      async (request, reply) => {
        const { type } = request.params;
        const body = request.body;
        const recover = toRecoverRequest(type, body);
        if (typeof recover === 'string') return reply.code(400).send(errorBody(400, 'WAR_ERR_BAD_REQUEST', recover));
        const result = await operations.recover(recover, requestInitiator(request));
        const problem = recoveryProblem(result);
        // 200 either way: the report says what was done; `ok` false and `problem` say what could not be.
        return problem === null ? { ok: true, ...result } : { ok: false, problem, ...result };
      },
    );

    admin.post<{ Body: { session?: string } }>('/admin/test', { schema: { body: testBody }, bodyLimit: 4096, preParsing: allowEmptyBody, preValidation: emptyBodyAsObject }, async (request, reply) => {
      const result = await operations.test(requestInitiator(request), request.body.session === undefined ? {} : { sessionId: request.body.session });
      return reply.code(result.pipeline.ok ? 200 : 502).send({ ok: result.pipeline.ok, ...result });
    });
  });
}

/** The body as the operation's request, or what is wrong with it. */
function toRecoverRequest(type: RecoverRequest['type'], body: RecoverBody): RecoverRequest | string {
  const extra = (names: (keyof RecoverBody)[]): string | undefined => names.find((name) => body[name] !== undefined);
  switch (type) {
    case 'whatsapp': {
      if (body.target === undefined) return 'recover whatsapp needs {"target": "<session id>"}';
      if (body.phone !== undefined && body.mode !== 'pair') return 'phone is only for mode "pair" (a pairing code for that phone)';
      return {
        type,
        sessionId: body.target,
        ...(body.mode ? { mode: body.mode } : {}),
        ...(body.phone ? { phone: body.phone.replace(/[^0-9]/g, '') } : {}),
      };
    }
    case 'company': {
      if (body.target === undefined) return 'recover company needs {"target": "<company id from COMPANIES>"}';
      const wrong = extra(['mode', 'phone']);
      return wrong ? `recover company takes no ${wrong}` : { type, company: body.target };
    }
    case 'batches':
    case 'all': {
      const wrong = extra(['target', 'mode', 'phone']);
      return wrong ? `recover ${type} takes no ${wrong}` : { type };
    }
  }
}
