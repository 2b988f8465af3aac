import type { Feature, FeatureContext } from '../../src/feature.js';
import { ConditionLog } from '../../src/logging/condition-log.js';
import { TREE } from '../../src/tree-paths.js';
import { childId } from '../../supervisor/tree-node.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import type { BatchStore } from '../batcher/batch-store.js';
import { join } from 'node:path';
import { MemoryStore } from '../batcher/memory-store.js';
import { RedisStore } from '../batcher/redis-store.js';
import { SqliteStore } from '../batcher/sqlite-store.js';
import { storeOwner } from './store-owner.js';

export interface StoreOffers {
  readonly store: BatchStore;
}

/**
 * The store feature: the batch store (BATCH_STORE: SQLite under DATA_DIR by default, Redis
 * with REDIS_URL, or memory) and `/store`, which owns its connection. `/store` is a dependency
 * child: while Redis cannot be reached it is retried for ever, at most every
 * STORE_PING_INTERVAL_MS, and never takes the tree down (supervisor/restart-rule.ts). The
 * embedded stores are opened in the preflight instead: a data file another runtime holds, or
 * a spill that cannot be read, stops start-up (exit 78) rather than being retried for ever.
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
  const embedded = store.kind !== 'redis';
  return { children: [owner], offers: { store }, ...(embedded && !options.store ? { preflight: () => store.connect() } : {}) };
}

/** Files the embedded stores keep under DATA_DIR. */
export const DATA_FILES = { sqlite: 'batches.sqlite', memorySpill: 'memory-spill.json', outbox: 'outbox.sqlite' } as const;

function createStore(ctx: FeatureContext): BatchStore {
  const { config } = ctx;
  const seenTtlMs = config.batching.ttlSeconds * 1000;
  if (config.store.kind === 'memory') return new MemoryStore({ seenTtlMs, spillFile: join(config.dataDir, DATA_FILES.memorySpill) });
  if (config.store.kind === 'sqlite' || !config.redisUrl) {
    return new SqliteStore({ file: join(config.dataDir, DATA_FILES.sqlite), seenTtlMs, synchronous: config.store.sqliteSynchronous });
  }
  return new RedisStore({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    ttlSeconds: config.batching.ttlSeconds,
    reconnectMaxMs: config.store.pingIntervalMs,
  });
}
