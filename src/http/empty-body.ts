import type { FastifyRequest, RequestPayload } from 'fastify';

/**
 * Route hooks for a POST whose body is optional (a pairing request, `recover batches`):
 * fastify refuses an empty body sent with a JSON content type, so `preParsing` drops the
 * content type of an empty one, and `preValidation` makes it `{}` for the schema.
 */
export async function allowEmptyBody(request: FastifyRequest, _reply: unknown, payload: RequestPayload): Promise<RequestPayload> {
  if (request.headers['content-length'] === '0') delete request.headers['content-type'];
  return payload;
}

export async function emptyBodyAsObject(request: { body: unknown }): Promise<void> {
  request.body ??= {};
}
