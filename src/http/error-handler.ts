import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';

export interface ErrorBody {
  error: string;
  code: string;
  message: string;
}

export function errorBody(statusCode: number, code: string, message: string): ErrorBody {
  return { error: STATUS_CODES[statusCode] ?? 'Error', code, message };
}

/**
 * One error shape for every route: `{error, code, message}`. Client errors say what was
 * wrong; server errors are logged with their stack and answered without it.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(statusCode).send(errorBody(statusCode, error.code ?? 'WAR_ERR_INTERNAL', 'internal error; see the server log'));
    }
    return reply.code(statusCode).send(errorBody(statusCode, error.code ?? 'WAR_ERR_BAD_REQUEST', error.message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(404, 'WAR_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
