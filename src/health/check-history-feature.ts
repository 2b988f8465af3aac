import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Feature } from '../feature.js';
import { CheckHistory } from './check-history.js';
import { RedisCheckLog } from './check-history-redis.js';

export interface CheckHistoryOffers {
  /** Fed by HealthChecks; read by GET /health/history, the alerts actor and the dashboard. */
  readonly history: CheckHistory;
  /** Writes what is still buffered for Redis and closes its connection (Runtime.shutdown, last). */
  close(): Promise<void>;
}

/**
 * Check history: the rings every check keeps (CHECK_HISTORY_SIZE) and, with REDIS_URL, the
 * Redis streams that carry their transitions across a restart. It has no actor: the history
 * is written synchronously by HealthChecks and must exist before the first check reports, so
 * it is made before HealthChecks and is the first feature, whose preflight reads the streams
 * back before anything reports (bounded by a timeout; Redis down is a warning, never a failed
 * start). The runtime closes it after the tree has stopped, so that the checks' removals at
 * shutdown reach Redis too.
 */
export function checkHistoryFeature(deps: { readonly config: Config; readonly logger: Logger; readonly clock: Clock }): Feature<CheckHistoryOffers> {
  const { config, logger, clock } = deps;
  const log = config.redisUrl
    ? new RedisCheckLog({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix, size: config.checkHistorySize, logger, clock })
    : undefined;
  const history = new CheckHistory({ size: config.checkHistorySize, now: () => clock.now(), ...(log ? { sink: log } : {}) });
  return {
    children: [],
    offers: { history, close: async () => log?.close() },
    ...(log ? { preflight: () => log.load(history) } : {}),
  };
}
