import type { FastifyInstance, FastifyRequest } from 'fastify';
import { describe } from '../../errors.js';
import type { AdminOperation } from '../../events/runtime-events.js';
import { adminAuth } from '../admin-auth.js';
import { requestInitiator } from '../request-initiator.js';
import { errorBody } from '../error-handler.js';
import type { BatchingAccess, HttpDeps } from '../http-deps.js';

const idParams = {
  type: 'object',
  required: ['batchId'],
  properties: { batchId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' } },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'string', pattern: '^[0-9]{1,4}$' } },
} as const;

/** Audits what an operator did through a route the operations module does not cover (src/operations/audit.ts). */
export function publishAdmin(deps: HttpDeps, request: FastifyRequest, operation: AdminOperation, target: string, outcome: 'ok' | 'failed', message: string | null = null): void {
  deps.operations.audit(requestInitiator(request), operation, target, outcome, message);
}

/**
 * Behind the admin token: GET /admin/dead-letters (oldest first, `?limit=`, default 100),
 * POST /admin/dead-letters/:batchId/retry (back in flight and to the pipeline with a fresh
 * attempt count), DELETE /admin/dead-letters/:batchId (gone for good).
 */
export function deadLetterRoutes(app: FastifyInstance, deps: HttpDeps, batching: BatchingAccess): void {
  app.register(async (admin) => {
    admin.addHook('onRequest', adminAuth(deps.config.adminToken));

    admin.get<{ Querystring: { limit?: string } }>('/admin/dead-letters', { schema: { querystring: listQuery } }, async (request) => {
      const limit = Math.min(Number(request.query.limit ?? 100), 1_000);
      const [letters, total] = await Promise.all([batching.deadLetters.list(limit), batching.deadLetters.count()]);
      return {
        total,
        deadLetters: letters.map(({ batch, error, at }) => ({
          batchId: batch.batchId,
          sessionId: batch.sessionId,
          phone: batch.phone,
          reason: batch.reason,
          messages: batch.messages.map((message) => ({ id: message.id, text: message.text, at: new Date(message.at).toISOString() })),
          firstAt: new Date(batch.firstAt).toISOString(),
          lastAt: new Date(batch.lastAt).toISOString(),
          flushedAt: new Date(batch.flushedAt).toISOString(),
          error,
          deadAt: new Date(at).toISOString(),
        })),
      };
    });

    admin.post<{ Params: { batchId: string } }>('/admin/dead-letters/:batchId/retry', { schema: { params: idParams } }, async (request, reply) => {
      const { batchId } = request.params;
      try {
        const retried = await batching.deadLetters.retry(batchId);
        if (!retried) return reply.code(404).send(errorBody(404, 'WAR_ERR_DEAD_LETTER_NOT_FOUND', `no dead letter ${batchId}`));
        publishAdmin(deps, request, 'dead_letter_retry', batchId, 'ok');
        return reply.code(202).send({
          ok: true,
          batchId,
          // Not taken now (the pipeline is full or restarting): it stays in flight and the recovery sweep delivers it.
          queued: retried.queued,
        });
      } catch (error) {
        publishAdmin(deps, request, 'dead_letter_retry', batchId, 'failed', describe(error));
        throw error;
      }
    });

    admin.delete<{ Params: { batchId: string } }>('/admin/dead-letters/:batchId', { schema: { params: idParams } }, async (request, reply) => {
      const { batchId } = request.params;
      const dropped = await batching.deadLetters.drop(batchId);
      if (!dropped) return reply.code(404).send(errorBody(404, 'WAR_ERR_DEAD_LETTER_NOT_FOUND', `no dead letter ${batchId}`));
      publishAdmin(deps, request, 'dead_letter_drop', batchId, 'ok');
      return { ok: true, batchId, dropped: true };
    });
  });
}
