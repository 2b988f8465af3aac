import type { FastifyInstance } from 'fastify';
import { walkTree } from '../../../supervisor/tree-node.js';
import { errorCode } from '../../errors.js';
import { adminAuth } from '../admin-auth.js';
import { errorBody } from '../error-handler.js';
import { publishAdmin } from './dead-letters.js';
import type { HttpDeps } from '../http-deps.js';

const restartBody = {
  type: 'object',
  required: ['path'],
  additionalProperties: false,
  properties: {
    path: { type: 'string', minLength: 1, maxLength: 512, pattern: '^/' },
  },
} as const;

/**
 * POST /admin/restart {path}: restarts an actor or a subtree now (backoff count reset).
 * A restart that takes down this HTTP server itself answers 202 first, then restarts.
 */
export function adminRoutes(app: FastifyInstance, deps: HttpDeps, ownPath: string): void {
  app.register(async (admin) => {
    admin.addHook('onRequest', adminAuth(deps.config.adminToken));

    admin.post<{ Body: { path: string } }>(
      '/admin/restart',
      { schema: { body: restartBody }, bodyLimit: 4096 },
      async (request, reply) => {
        const { path } = request.body;
        const known = [...walkTree(deps.tree.snapshot())].some((node) => node.path === path);
        if (!known) return reply.code(404).send(errorBody(404, 'WAR_ERR_CHILD_NOT_FOUND', `no actor at ${path}`));
        if (path === '/') {
          return reply.code(400).send(errorBody(400, 'WAR_ERR_ROOT_RESTART', 'the root cannot be restarted; stop the process (SIGTERM) instead'));
        }
        if (ownPath === path || ownPath.startsWith(`${path}/`)) {
          reply.raw.once('finish', () => {
            publishAdmin(deps, request, 'restart', path, 'ok', 'restarts the HTTP server itself');
            deps.tree.restart(path).catch((error: unknown) => deps.logger.error({ err: error, path }, 'admin restart failed'));
          });
          return reply.code(202).send({ ok: true, restarting: path, note: 'this restarts the HTTP server itself' });
        }
        try {
          await deps.tree.restart(path);
        } catch (error) {
          publishAdmin(deps, request, 'restart', path, 'failed', error instanceof Error ? error.message : String(error));
          if (errorCode(error) === 'WAR_ERR_CHILD_NOT_FOUND') {
            return reply.code(404).send(errorBody(404, 'WAR_ERR_CHILD_NOT_FOUND', `no actor at ${path}`));
          }
          throw error;
        }
        publishAdmin(deps, request, 'restart', path, 'ok');
        return reply.code(200).send({ ok: true, restarted: path });
      },
    );
  });
}
