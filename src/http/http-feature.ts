import type { Feature } from '../feature.js';
import { TREE } from '../tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import type { HttpDeps } from './http-deps.js';
import { httpServer } from './http-server.js';

/**
 * The HTTP feature: `/http`, the fastify server (health, metrics, webhook, sessions, admin).
 * It is added last, so it starts after everything it serves and stops first. `deps` is read
 * when it starts, after every other feature is composed.
 */
export function httpFeature(deps: () => HttpDeps): Feature<Record<string, never>> {
  const child: ChildSpec = { kind: 'actor', id: childId(TREE.http), behaviour: local(() => httpServer(deps())) };
  return { children: [child], offers: {} };
}
