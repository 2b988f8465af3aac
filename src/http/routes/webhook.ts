import type { FastifyError, FastifyInstance } from 'fastify';
import { DEFAULT_SESSION, isSessionId, normalizePhone } from '../../../actors/batcher/conversation.js';
import { decideFlush } from '../../../actors/batcher/flush-rule.js';
import { hasVisibleText, parseTimestamp } from '../../../actors/batcher/message-input.js';
import { errorCode } from '../../errors.js';
import { adminAuth } from '../admin-auth.js';
import { errorBody } from '../error-handler.js';
import { publishAdmin } from './dead-letters.js';
import type { BatchingAccess, HttpDeps } from '../http-deps.js';

const BODY_LIMIT = 64 * 1024;
const STATS_LIMIT = 100;

/** The body schema of POST /webhook/whatsapp/batched (the benchmark's baselines reuse it). */
export const batchedBody = {
  type: 'object',
  required: ['phone', 'message'],
  properties: {
    phone: { type: 'string', minLength: 1, maxLength: 64 },
    message: { type: 'string', minLength: 1, maxLength: BODY_LIMIT },
    id: { type: 'string', minLength: 1, maxLength: 256 },
    timestamp: { type: ['number', 'string'] },
    sessionId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  },
} as const;

export interface BatchedBody {
  phone: string;
  message: string;
  id?: string;
  timestamp?: number | string;
  sessionId?: string;
}

/**
 * The batched webhook (DESIGN section 10): a message is answered 202 once stored, 400 with
 * what was wrong, 503 while the store cannot take a write (retry it: with the same `id` a
 * retry is never counted twice).
 */
export function webhookRoutes(app: FastifyInstance, deps: HttpDeps, batching: BatchingAccess): void {
  app.register(async (scope) => {
    // The contract says 400 for a body over 64 KiB (fastify's own answer would be 413).
    scope.setErrorHandler((error: FastifyError, _request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return reply.code(400).send(errorBody(400, 'WAR_ERR_BODY_TOO_LARGE', `body exceeds ${BODY_LIMIT / 1024} KiB`));
      }
      throw error;
    });

    scope.post<{ Body: BatchedBody }>('/webhook/whatsapp/batched', { schema: { body: batchedBody }, bodyLimit: BODY_LIMIT }, async (request, reply) => {
      const body = request.body;
      const phone = normalizePhone(body.phone);
      if (!phone.ok) return reply.code(400).send(errorBody(400, 'WAR_ERR_BAD_PHONE', phone.problem));
      if (!hasVisibleText(body.message)) {
        return reply.code(400).send(errorBody(400, 'WAR_ERR_EMPTY_MESSAGE', 'message must have a visible character (not only spaces, zero-width or control characters)'));
      }
      let sentAt: number | undefined;
      if (body.timestamp !== undefined) {
        const parsed = parseTimestamp(body.timestamp);
        if (!parsed.ok) return reply.code(400).send(errorBody(400, 'WAR_ERR_BAD_TIMESTAMP', parsed.problem));
        sentAt = parsed.at;
      }
      const sessionId = body.sessionId ?? DEFAULT_SESSION;
      try {
        // `id` absent (or empty, which the schema refuses anyway) is left to ingest, which makes one.
        const result = await batching.ingest.accept({ sessionId, phone: phone.phone, text: body.message, id: body.id || undefined, ...(sentAt === undefined ? {} : { sentAt }) });
        return reply.code(202).send({
          success: true,
          status: result.status,
          id: result.id,
          sessionId,
          phone: phone.phone,
          pending: result.pending?.count ?? 0,
        });
      } catch (error) {
        if (errorCode(error) === 'WAR_ERR_STORE_UNAVAILABLE') {
          return reply.code(503).header('retry-after', '1').send(errorBody(503, 'WAR_ERR_STORE_UNAVAILABLE', 'the store cannot take the message now; retry with the same id'));
        }
        throw error;
      }
    });

    scope.get('/webhook/whatsapp/batched/stats', async (_request, reply) => {
      try {
        const [stats, pipeline] = await Promise.all([batching.store.stats(STATS_LIMIT), batching.pipelineStatus().catch(() => undefined)]);
        const now = deps.clock.now();
        return {
          success: true,
          stats: {
            store: batching.store.kind,
            pendingBatches: stats.pendingBatches,
            pendingMessages: stats.pendingMessages,
            inFlight: stats.inFlight,
            // Of those, cut behind an undelivered batch of their conversation (ordering.ts).
            waitingForEarlier: stats.waitingForEarlier,
            deadLetters: stats.deadLetters,
            accepted: batching.ingest.counts.accepted,
            duplicates: batching.ingest.counts.duplicates,
            batches: stats.batches.map((pending) => {
              const decision = decideFlush(pending, now, batching.rules);
              return {
                sessionId: pending.sessionId,
                phone: pending.phone,
                messages: pending.count,
                firstAt: new Date(pending.firstAt).toISOString(),
                lastAt: new Date(pending.lastAt).toISOString(),
                dueAt: decision.due ? new Date(now).toISOString() : new Date(decision.dueAt).toISOString(),
              };
            }),
            pipeline: pipeline ?? null,
          },
        };
      } catch (error) {
        if (errorCode(error) === 'WAR_ERR_STORE_UNAVAILABLE') return reply.code(503).send(errorBody(503, 'WAR_ERR_STORE_UNAVAILABLE', 'the store is unavailable'));
        throw error;
      }
    });

    // Dropping a conversation's messages loses them for good: an admin operation, guarded
    // (and disabled without ADMIN_TOKEN) like every other one.
    scope.delete<{ Params: { phone: string }; Querystring: { sessionId?: string } }>('/webhook/whatsapp/batched/:phone', { onRequest: adminAuth(deps.config.adminToken) }, async (request, reply) => {
      const phone = normalizePhone(request.params.phone);
      if (!phone.ok) return reply.code(400).send(errorBody(400, 'WAR_ERR_BAD_PHONE', phone.problem));
      const sessionId = request.query.sessionId ?? DEFAULT_SESSION;
      if (!isSessionId(sessionId)) return reply.code(400).send(errorBody(400, 'WAR_ERR_BAD_SESSION', `sessionId ${JSON.stringify(sessionId)} is not a session id`));
      try {
        const deleted = await batching.store.drop({ sessionId, phone: phone.phone });
        if (deleted === 0) return reply.code(404).send(errorBody(404, 'WAR_ERR_NO_PENDING_BATCH', `no pending batch for ${sessionId}:${phone.phone}`));
        publishAdmin(deps, request, 'pending_drop', `${sessionId}:${phone.phone}`, 'ok', `${deleted} messages`);
        return { success: true, sessionId, phone: phone.phone, deleted };
      } catch (error) {
        if (errorCode(error) === 'WAR_ERR_STORE_UNAVAILABLE') return reply.code(503).send(errorBody(503, 'WAR_ERR_STORE_UNAVAILABLE', 'the store is unavailable'));
        throw error;
      }
    });
  });
}
