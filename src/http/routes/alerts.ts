import type { FastifyInstance } from 'fastify';
import type { AlertsAccess } from '../../../actors/alerts/alerts-feature.js';
import { MAX_SILENCE_MS, type SilenceMatcher } from '../../../actors/alerts/silences.js';
import { adminAuth } from '../admin-auth.js';
import { errorBody } from '../error-handler.js';
import type { HttpDeps } from '../http-deps.js';
import { requestInitiator } from '../request-initiator.js';

const silenceBody = {
  type: 'object',
  required: ['matchers', 'durationMs'],
  additionalProperties: false,
  properties: {
    matchers: {
      type: 'array',
      minItems: 1,
      maxItems: 20,
      items: {
        type: 'object',
        required: ['name', 'value'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 128 },
          value: { type: 'string', maxLength: 512 },
          isRegex: { type: 'boolean' },
        },
      },
    },
    durationMs: { type: 'integer', minimum: 1, maximum: MAX_SILENCE_MS },
    comment: { type: 'string', maxLength: 1_000 },
  },
} as const;

const silenceParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

/**
 * GET /alerts: the groups with their alerts (silenced ones marked) and the silences. Behind the
 * admin token: POST /admin/alerts/silence {matchers, durationMs, comment}, GET
 * /admin/alerts/silences, DELETE /admin/alerts/silences/:id.
 */
export function alertRoutes(app: FastifyInstance, deps: HttpDeps, alerts: AlertsAccess): void {
  app.get('/alerts', async () => alerts.view());

  app.register(async (admin) => {
    admin.addHook('onRequest', adminAuth(deps.config.adminToken));

    admin.post<{ Body: { matchers: SilenceMatcher[]; durationMs: number; comment?: string } }>(
      '/admin/alerts/silence',
      { schema: { body: silenceBody }, bodyLimit: 16_384 },
      async (request, reply) => {
        const { matchers, durationMs, comment } = request.body;
        const silence = deps.operations.silence({ matchers, durationMs, comment: comment ?? '' }, requestInitiator(request));
        return reply.code(201).send(silence);
      },
    );

    admin.get('/admin/alerts/silences', async () => ({ silences: alerts.silences() }));

    admin.delete<{ Params: { id: string } }>('/admin/alerts/silences/:id', { schema: { params: silenceParams } }, async (request, reply) => {
      const { id } = request.params;
      if (!alerts.silences().some((silence) => silence.id === id)) return reply.code(404).send(errorBody(404, 'WAR_ERR_SILENCE_NOT_FOUND', `no active silence ${id}`));
      deps.operations.unsilence(id, requestInitiator(request));
      return { ok: true, deleted: id };
    });
  });
}
