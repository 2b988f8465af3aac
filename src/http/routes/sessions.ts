import type { FastifyInstance, FastifyReply } from 'fastify';
import { QR_CONTENT_TYPES, renderQr, type QrFormat } from '../../../actors/whatsapp/qr-render.js';
import { SessionDirectory } from '../../../actors/whatsapp/session-directory.js';
import { ERROR_CODES, errorCode } from '../../errors.js';
import { adminAuth } from '../admin-auth.js';
import { allowEmptyBody, emptyBodyAsObject } from '../empty-body.js';
import { errorBody } from '../error-handler.js';
import type { HttpDeps } from '../http-deps.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
} as const;

const qrQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { format: { type: 'string', enum: ['json', 'text', 'svg', 'png'] } },
} as const;

const sendBody = {
  type: 'object',
  required: ['to', 'text'],
  additionalProperties: false,
  properties: {
    to: { type: 'string', minLength: 1, maxLength: 64 },
    text: { type: 'string', minLength: 1, maxLength: 65_536 },
  },
} as const;

const pairBody = {
  type: 'object',
  additionalProperties: false,
  properties: { phone: { type: 'string', pattern: '^\\+?[0-9][0-9 ()-]{6,24}$' } },
} as const;

/**
 * GET /sessions and GET /sessions/:id; behind the admin token, GET /sessions/:id/qr (json,
 * text, svg or png: whoever scans it links a phone to this runtime), POST /sessions/:id/pair
 * and POST /sessions/:id/send (they act as the salon's number).
 */
export function sessionRoutes(app: FastifyInstance, deps: HttpDeps): void {
  // Without sessions every id is unknown: the empty directory says so (404).
  const directory = deps.sessions ?? new SessionDirectory({ ids: [], lookup: () => undefined, askTimeoutMs: 0, pairTimeoutMs: 0 });
  /** A session actor's refusal answers with its code's status (src/errors.ts); anything else is the error handler's. */
  const fail = (reply: FastifyReply, error: unknown): FastifyReply => {
    const code = errorCode(error);
    if (!code) throw error;
    const status = ERROR_CODES[code].status;
    if (status === 503) void reply.header('retry-after', '5');
    return reply.code(status).send(errorBody(status, code, error instanceof Error ? error.message : String(error)));
  };

  app.get('/sessions', async (_request, reply) => {
    try {
      const elsewhere = directory.elsewhere();
      return { sessions: await directory.all(), ...(elsewhere.length > 0 ? { elsewhere } : {}) };
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get<{ Params: { id: string } }>('/sessions/:id', { schema: { params: idParams } }, async (request, reply) => {
    try {
      return await directory.info(request.params.id);
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.register(async (admin) => {
    admin.addHook('onRequest', adminAuth(deps.config.adminToken));
    // A pairing request may have no body.
    admin.addHook('preParsing', allowEmptyBody);

    admin.get<{ Params: { id: string }; Querystring: { format?: QrFormat | 'json' } }>(
      '/sessions/:id/qr',
      { schema: { params: idParams, querystring: qrQuery } },
      async (request, reply) => {
        try {
          const qr = await directory.qr(request.params.id);
          const format = request.query.format ?? preferredFormat(request.headers.accept);
          if (qr.qr === null) {
            return reply
              .code(404)
              .send({ ...errorBody(404, 'WAR_ERR_NO_QR', `no QR on offer: session ${request.params.id} is ${qr.status}`), status: qr.status });
          }
          if (format === 'json') return qr;
          return reply.header('cache-control', 'no-store').type(QR_CONTENT_TYPES[format]).send(await renderQr(qr.qr, format));
        } catch (error) {
          return fail(reply, error);
        }
      },
    );

    admin.post<{ Params: { id: string }; Body: { phone?: string } | undefined }>(
      '/sessions/:id/pair',
      {
        schema: { params: idParams, body: pairBody },
        bodyLimit: 4096,
        preValidation: emptyBodyAsObject,
      },
      async (request, reply) => {
        try {
          const phone = request.body?.phone?.replace(/[^0-9]/g, '');
          return await directory.pair(request.params.id, phone);
        } catch (error) {
          return fail(reply, error);
        }
      },
    );

    admin.post<{ Params: { id: string }; Body: { to: string; text: string } }>(
      '/sessions/:id/send',
      { schema: { params: idParams, body: sendBody } },
      async (request, reply) => {
        try {
          const accepted = await directory.send(request.params.id, { to: request.body.to, text: request.body.text, source: 'api' });
          return reply.code(202).send({ queued: true, ...accepted });
        } catch (error) {
          return fail(reply, error);
        }
      },
    );
  });
}

function preferredFormat(accept: string | undefined): QrFormat | 'json' {
  if (!accept) return 'json';
  if (accept.includes('image/png')) return 'png';
  if (accept.includes('image/svg')) return 'svg';
  if (accept.includes('text/plain')) return 'text';
  return 'json';
}
