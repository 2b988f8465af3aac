import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-handler.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Bearer `ADMIN_TOKEN` for the admin routes: 403 (and why) while no token is configured,
 * 401 without a token or with a wrong one. Compared in constant time.
 */
export function adminAuth(adminToken: string | undefined) {
  const expected = adminToken === undefined ? undefined : digest(adminToken);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!expected) {
      await reply
        .code(403)
        .send(errorBody(403, 'WAR_ERR_ADMIN_DISABLED', 'admin routes are disabled because ADMIN_TOKEN is not set'));
      return;
    }
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match || !timingSafeEqual(digest(match[1] as string), expected)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="admin"')
        .send(errorBody(401, 'WAR_ERR_UNAUTHORIZED', match ? 'wrong admin token' : 'missing bearer token (Authorization: Bearer <ADMIN_TOKEN>)'));
    }
  };
}
