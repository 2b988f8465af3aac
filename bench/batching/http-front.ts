/**
 * An HTTP front for the baselines, as the old API process was: fastify with the same
 * route, body schema and phone normalisation as the runtime's webhook, answering 202 once
 * the baseline stored the message. Without a contender it stores nothing and answers 202
 * at once: the ceiling the HTTP layer alone allows on this machine.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { normalizePhone } from '../../actors/batcher/conversation.js';
import { batchedBody, type BatchedBody } from '../../src/http/routes/webhook.js';
import type { Contender } from './contender.js';

export interface HttpFront {
  readonly baseUrl: string;
  close(): Promise<void>;
}

export async function startHttpFront(contender: Contender | undefined): Promise<HttpFront> {
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    // allowUnionTypes: the same schema without Ajv's strict-mode warning on stderr.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false, allowUnionTypes: true } },
  });
  app.post<{ Body: BatchedBody }>('/webhook/whatsapp/batched', { schema: { body: batchedBody } }, async (request, reply) => {
    const phone = normalizePhone(request.body.phone);
    if (!phone.ok) return reply.code(400).send({ success: false, error: phone.problem });
    const id = request.body.id ?? randomUUID();
    if (contender) await contender.accept({ phone: phone.phone, id, text: request.body.message });
    return reply.code(202).send({ success: true, status: 'accepted', id, sessionId: 'default', phone: phone.phone });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address !== 'object') {
    await app.close();
    throw new Error('the HTTP front has no address');
  }
  return { baseUrl: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}
