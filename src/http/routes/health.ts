import type { FastifyInstance } from 'fastify';
import { walkTree, type NodeStatus } from '../../../supervisor/tree-node.js';
import { STORE_CHECK } from '../../../actors/store/store-owner.js';
import type { Uptimes } from '../../health/check-history.js';
import { assessHealth } from '../../health/health-score.js';
import { errorBody } from '../error-handler.js';
import type { HttpDeps } from '../http-deps.js';

const historyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    check: { type: 'string', minLength: 1, maxLength: 256 },
    since: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

/** GET /health, /health/live, /health/ready, /health/tree, /health/cluster, /health/history, /health/extended: DESIGN section 10. */
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

  /** The nodes sharing the sessions on one Redis and who owns each (one node, owning all, without Redis). */
  app.get('/health/cluster', async (_request, reply) => {
    try {
      return await deps.cluster();
    } catch (error) {
      return reply.code(503).send(errorBody(503, 'WAR_ERR_STORE_UNAVAILABLE', `the cluster view cannot be read: ${error instanceof Error ? error.message : String(error)}`));
    }
  });

  /** One check's results, transitions and uptime; without `check`, a line per check kept. */
  app.get<{ Querystring: { check?: string; since?: string } }>('/health/history', { schema: { querystring: historyQuery } }, async (request, reply) => {
    const { check, since } = request.query;
    const sinceMs = since === undefined ? Number.NEGATIVE_INFINITY : parseSince(since);
    if (Number.isNaN(sinceMs)) {
      return reply.code(400).send(errorBody(400, 'WAR_ERR_BAD_REQUEST', `since: ${JSON.stringify(since)} is not an ISO-8601 date or time (for example 2024-05-01T12:00:00Z)`));
    }
    if (check === undefined) {
      return {
        checks: deps.history.summary().map((line) => ({
          check: line.check,
          status: line.status,
          since: iso(line.since),
          uptime: rounded(line.uptime),
          transitions: since === undefined ? line.transitions : (deps.history.transitions(line.check, sinceMs)?.length ?? 0),
        })),
      };
    }
    const uptime = deps.history.has(check) ? deps.history.uptimes(check) : undefined;
    if (!uptime) return reply.code(404).send(errorBody(404, 'WAR_ERR_CHECK_NOT_FOUND', `no check ${JSON.stringify(check)} in the history`));
    return {
      check,
      results: (deps.history.results(check, sinceMs) ?? []).map(({ status, message, at }) => ({ status, message, at: iso(at) })),
      transitions: (deps.history.transitions(check, sinceMs) ?? []).map(({ from, to, message, at }) => ({ from, to, message, at: iso(at) })),
      uptime: rounded(uptime),
    };
  });

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

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** `since` as epoch milliseconds, NaN if it is not ISO-8601; a time without a zone is UTC, as a date alone is. */
function parseSince(since: string): number {
  const match = ISO_TIME.exec(since);
  if (!match) return Number.NaN;
  return Date.parse(match[1] && !match[4] ? `${since}Z` : since);
}

const iso = (at: number): string => new Date(at).toISOString();

/** Four decimals: 0.9931 says 99.31 %, and JSON does not carry float noise. */
const rounded = (uptime: Uptimes): Uptimes => ({ '1h': Math.round(uptime['1h'] * 1e4) / 1e4, '24h': Math.round(uptime['24h'] * 1e4) / 1e4 });

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
