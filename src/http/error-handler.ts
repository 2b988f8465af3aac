import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_CODES, errorCode, type RuntimeErrorCode } from '../errors.js';

export interface ErrorBody {
  error: string;
  code: RuntimeErrorCode;
  message: string;
}

export function errorBody(statusCode: number, code: RuntimeErrorCode, message: string): ErrorBody {
  return { error: STATUS_CODES[statusCode] ?? 'Error', code, message };
}

/** fastify's own codes, as ours: a client never sees a code that is not in src/errors.ts. */
const FASTIFY_CODES: Readonly<Record<string, RuntimeErrorCode>> = {
  FST_ERR_VALIDATION: 'WAR_ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'WAR_ERR_BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'WAR_ERR_BAD_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'WAR_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'WAR_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'WAR_ERR_BAD_REQUEST',
  FST_ERR_NOT_FOUND: 'WAR_ERR_NOT_FOUND',
};

/** The code and status an error answers with: ours as they are, fastify's mapped, anything else a 500. */
export function httpErrorOf(error: FastifyError | Error): { statusCode: number; code: RuntimeErrorCode } {
  const ours = errorCode(error);
  if (ours) return { statusCode: ERROR_CODES[ours].status, code: ours };
  const mapped = FASTIFY_CODES[(error as FastifyError).code ?? ''];
  const statusCode = (error as FastifyError).statusCode;
  if (mapped) return { statusCode: statusCode && statusCode >= 400 ? statusCode : ERROR_CODES[mapped].status, code: mapped };
  if (statusCode && statusCode >= 400 && statusCode < 500) return { statusCode, code: 'WAR_ERR_BAD_REQUEST' };
  return { statusCode: 500, code: 'WAR_ERR_INTERNAL' };
}

/**
 * What an error may add to the common shape: the request field it is about (`field`), the
 * code of the service that refused (`yclients_code`), and when to come back.
 */
function errorDetails(error: Error): { fields: Record<string, string | number>; retryAfterS: number | undefined } {
  const candidate = error as { field?: unknown; yclientsCode?: unknown; retryAfterMs?: unknown };
  const fields: Record<string, string | number> = {};
  if (typeof candidate.field === 'string') fields.field = candidate.field;
  if (typeof candidate.yclientsCode === 'number') fields.yclients_code = candidate.yclientsCode;
  const retryAfterS = typeof candidate.retryAfterMs === 'number' && candidate.retryAfterMs > 0 ? Math.ceil(candidate.retryAfterMs / 1000) : undefined;
  return { fields, retryAfterS };
}

/**
 * One error shape for every answer: `{error, code, message}`. Client errors say what was
 * wrong; server errors are logged with their stack and answered without it.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { statusCode, code } = httpErrorOf(error);
    // 502, 503, 504 say what the service behind us did (YClients refused, a breaker is open): the caller needs the words.
    if (statusCode >= 500 && statusCode !== 502 && statusCode !== 503 && statusCode !== 504) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(statusCode).send(errorBody(statusCode, code, 'internal error; see the server log'));
    }
    const details = errorDetails(error);
    if (statusCode === 503 || statusCode === 429) void reply.header('retry-after', String(details.retryAfterS ?? 5));
    return reply.code(statusCode).send({ ...errorBody(statusCode, code, error.message), ...details.fields });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(404, 'WAR_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}

/**
 * What Node's HTTP parser refuses before fastify sees a request (bad HTTP, headers over
 * Node's limit) is answered in the same shape; fastify's own default says `Client Error`.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let body: ErrorBody = errorBody(400, 'WAR_ERR_BAD_HTTP', `the request is not valid HTTP (${error.code ?? error.message})`);
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    body = errorBody(431, 'WAR_ERR_HEADERS_TOO_LARGE', "the request's headers exceed the server's limit");
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    body = errorBody(408, 'WAR_ERR_REQUEST_TIMEOUT', 'the request was not received in time');
  }
  if (socket.writable) {
    const json = JSON.stringify(body);
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${json}`);
  }
  socket.destroy(error);
}
