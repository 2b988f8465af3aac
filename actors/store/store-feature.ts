import type { Feature, FeatureContext } from '../../src/feature.js';
import { ConditionLog } from '../../src/logging/condition-log.js';
import { TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import type { BatchStore } from '../batcher/batch-store.js';
import { MemoryStore } from '../batcher/memory-store.js';
import { RedisStore } from '../batcher/redis-store.js';
import { storeOwner } from './store-owner.js';

export interface StoreOffers {
  readonly store: BatchStore;
}

/**
 * The store feature: the batch store (Redis with REDIS_URL, else the embedded store) and
 * `/store`, which owns its connection. `/store` is a dependency child: while Redis cannot be
 * reached it is retried for ever, at most every STORE_PING_INTERVAL_MS, and never takes the
 * tree down (supervisor/restart-rule.ts).
 */
export function storeFeature(ctx: FeatureContext, options: { store?: BatchStore } = {}): Feature<StoreOffers> {
  const { config } = ctx;
  const store = options.store ?? createStore(ctx);
  const conditions = new ConditionLog(ctx.logger.child({ actor: TREE.store }), { now: () => ctx.clock.now() });
  const incarnations = { latest: 0 };
  const owner: ChildSpec = {
    kind: 'actor',
    id: childId(TREE.store),
    dependency: { name: store.kind },
    backoff: { initialMs: Math.min(config.store.retryMs, config.store.pingIntervalMs), maxMs: config.store.pingIntervalMs },
    behaviour: local(() =>
      storeOwner({
        store,
        checks: ctx.checks,
        pingIntervalMs: config.store.pingIntervalMs,
        conditions,
        incarnations,
      }),
    ),
  };
  return { children: [owner], offers: { store } };
}

function createStore(ctx: FeatureContext): BatchStore {
  const { config } = ctx;
  if (!config.redisUrl) return new MemoryStore({ seenTtlMs: config.batching.ttlSeconds * 1000 });
  return new RedisStore({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    ttlSeconds: config.batching.ttlSeconds,
    reconnectMaxMs: config.store.pingIntervalMs,
  });
}
