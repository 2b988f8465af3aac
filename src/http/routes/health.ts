import type { FastifyInstance } from 'fastify';
import { walkTree, type NodeStatus } from '../../../supervisor/tree-node.js';
import { STORE_CHECK } from '../../../actors/store/store-owner.js';
import { assessHealth } from '../../health/health-score.js';
import type { HttpDeps } from '../http-deps.js';

/** GET /health, /health/live, /health/ready, /health/tree, /health/extended: DESIGN section 10. */
export function healthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const uptimeSeconds = (): number => Math.floor((deps.clock.now() - deps.service.startedAt) / 1000);

  app.get('/health', async (_request, reply) => {
    const tree = deps.tree.snapshot();
    const checks = deps.checks.all();
    const health = assessHealth(tree, checks);
    return reply.code(health.status === 'unhealthy' ? 503 : 200).send({
      status: health.status,
      service: deps.service.name,
      version: deps.service.version,
      health_score: health.score,
      uptime_seconds: uptimeSeconds(),
      checks: { tree: health.tree, ...checks },
      timestamp: new Date(deps.clock.now()).toISOString(),
    });
  });

  // Liveness never looks at dependencies: a Redis or WhatsApp outage must not get the pod killed.
  app.get('/health/live', async () => ({ status: 'alive', uptime_seconds: uptimeSeconds() }));

  app.get('/health/ready', async (_request, reply) => {
    const tree = deps.tree.snapshot();
    const reasons: string[] = [];
    if (tree.status !== 'running') reasons.push(`root is ${tree.status}`);
    // No store check yet (starting) or any more (its owner is restarting) is not ready either.
    const store = deps.checks.get(STORE_CHECK);
    if (!store) reasons.push('store: not checked yet');
    else if (store.status === 'critical') reasons.push(`store: ${store.message}`);
    const ready = reasons.length === 0;
    return reply.code(ready ? 200 : 503).send({ ready, reasons });
  });

  app.get('/health/tree', async () => ({ tree: deps.tree.snapshot() }));

  app.get('/health/extended', async () => {
    const tree = deps.tree.snapshot();
    const checks = deps.checks.all();
    const health = assessHealth(tree, checks);
    const nodes: Partial<Record<NodeStatus, number>> = {};
    let actors = 0;
    const sessions = await sessionSummaries(deps);
    const sum = (pick: (session: SessionSummary) => number): number => Object.values(sessions).reduce((total, session) => total + pick(session), 0);
    for (const node of walkTree(tree)) {
      nodes[node.status] = (nodes[node.status] ?? 0) + 1;
      if (node.kind === 'actor') actors++;
    }
    return {
      status: health.status,
      health_score: health.score,
      service: deps.service.name,
      version: deps.service.version,
      uptime_seconds: uptimeSeconds(),
      sessions,
      totals: {
        sessions: Object.keys(sessions).length,
        messages_sent_24h: sum((session) => session.messages_sent_24h),
        messages_received_24h: sum((session) => session.messages_received_24h),
        errors_24h: sum((session) => session.errors_24h),
        actors,
        nodes,
        restarts: [...walkTree(tree)].reduce((sum, node) => sum + node.restarts, 0),
      },
      checks: { tree: health.tree, ...checks },
      config: deps.effectiveConfig,
      process: {
        pid: process.pid,
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
      },
      timestamp: new Date(deps.clock.now()).toISOString(),
    };
  });
}

interface SessionSummary {
  status: string;
  messages_sent_24h: number;
  messages_received_24h: number;
  errors_24h: number;
  last_activity: string | null;
  last_close_code: number | null;
  send_queue: number;
}

/** Each session's figures from its gateway; a gateway that does not answer shows as `unknown`. */
async function sessionSummaries(deps: HttpDeps): Promise<Record<string, SessionSummary>> {
  const sampled = (await deps.sessions?.sample()) ?? [];
  return Object.fromEntries(
    sampled.map(({ id, info }): [string, SessionSummary] => [
      id,
      {
        status: info?.status ?? 'unknown',
        messages_sent_24h: info?.messages_sent_24h ?? 0,
        messages_received_24h: info?.messages_received_24h ?? 0,
        errors_24h: info?.errors_24h ?? 0,
        last_activity: info?.last_activity ?? null,
        last_close_code: info?.lastCloseCode ?? null,
        send_queue: info?.queue.depth ?? 0,
      },
    ]),
  );
}
