import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-handler.js';

/** A token as it is compared: its SHA-256, so the comparison is constant-time whatever the lengths. */
export const tokenDigest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** The digest of the request's `Authorization: Bearer <token>`, or undefined when it has none. */
export function bearerDigest(request: FastifyRequest): Buffer | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? tokenDigest(match[1] as string) : undefined;
}

/** Whether a request's bearer digest is this token's (constant time). */
export function sameToken(given: Buffer | undefined, expected: Buffer | undefined): boolean {
  return given !== undefined && expected !== undefined && timingSafeEqual(given, expected);
}

/**
 * Bearer `ADMIN_TOKEN` for the admin routes: 403 (and why) while no token is configured,
 * 401 without a token or with a wrong one. Compared in constant time.
 */
export function adminAuth(adminToken: string | undefined) {
  const expected = adminToken === undefined ? undefined : tokenDigest(adminToken);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!expected) {
      await reply
        .code(403)
        .send(errorBody(403, 'WAR_ERR_ADMIN_DISABLED', 'admin routes are disabled because ADMIN_TOKEN is not set'));
      return;
    }
    const given = bearerDigest(request);
    if (!sameToken(given, expected)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="admin"')
        .send(errorBody(401, 'WAR_ERR_UNAUTHORIZED', given ? 'wrong admin token' : 'missing bearer token (Authorization: Bearer <ADMIN_TOKEN>)'));
    }
  };
}
