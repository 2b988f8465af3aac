import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import { describe } from '../../src/errors.js';
import type { CheckReport, CheckStatus, HealthChecks } from '../../src/health/health-checks.js';
import type { ConditionLog } from '../../src/logging/condition-log.js';
import type { BatchStore } from '../batcher/batch-store.js';

export type StoreOwnerMessage =
  | { readonly type: 'ping' }
  | { readonly type: 'status' }
  | { readonly type: 'availability'; readonly available: boolean; readonly cause: string | null };

export interface StoreOwnerDeps {
  readonly store: BatchStore;
  readonly checks: HealthChecks;
  readonly pingIntervalMs: number;
  /** Outlives the actor's incarnations, so an outage across restarts is one line, then summaries. */
  readonly conditions: ConditionLog;
  /**
   * Outlives the incarnations too: which one is the latest. A start abandoned at its timeout
   * still runs its `stop` later; only the latest incarnation may close the shared store.
   */
  readonly incarnations: { latest: number };
}

export const STORE_CHECK = 'store';

/**
 * `/store`: owns the store's connection (opened in `start`, closed in `stop`) and reports the
 * `store` check that /health and /health/ready read. It is a dependency child: a store that
 * cannot be reached at start fails the start, and the supervisor retries for ever at the
 * store's capped backoff (supervisor/restart-rule.ts). An outage after start is a state, not
 * a failure: ioredis reconnects, the check turns critical the moment a command fails (the
 * store tells its availability listeners) and ok again when the connection is back.
 */
export function storeOwner(deps: StoreOwnerDeps): Behaviour<StoreOwnerMessage, CheckReport | undefined> {
  const { store, checks, conditions } = deps;
  const mine = ++deps.incarnations.latest;
  const latest = (): boolean => deps.incarnations.latest === mine;
  let unsubscribe: (() => void) | undefined;

  const report = (ctx: ActorContext<StoreOwnerMessage>, status: CheckStatus, what: string): void => {
    const at = new Date(ctx.clock.now()).toISOString();
    const since = status === 'ok' ? undefined : (checks.since(STORE_CHECK, status) ?? at);
    checks.report(STORE_CHECK, {
      status,
      message: since ? `${what} (down since ${since})` : what,
      at,
      data: { kind: store.kind, target: store.target, up: status === 'ok' },
    });
  };

  const down = (ctx: ActorContext<StoreOwnerMessage>, cause: string): void => {
    report(ctx, 'critical', `${store.target} is unreachable: ${cause}`);
    conditions.on('store_down', 'error', { target: store.target, cause }, `${store.target} is unreachable: ${cause}`);
  };

  const up = (ctx: ActorContext<StoreOwnerMessage>): void => {
    report(ctx, 'ok', `${store.target} is reachable`);
    conditions.off('store_down', `${store.target} is reachable again`, { target: store.target });
  };

  return {
    async start(ctx) {
      try {
        await store.connect();
      } catch (error) {
        // Readiness says why before the supervisor retries; the error names target and cause.
        if (latest()) down(ctx, describe((error as { cause?: unknown }).cause ?? error));
        throw error;
      }
      if (!latest()) return;
      unsubscribe = store.onAvailability((change) => void ctx.self.tell({ type: 'availability', ...change }));
      up(ctx);
      ctx.timers.every('ping', deps.pingIntervalMs, { type: 'ping' });
    },
    async receive(message, ctx) {
      switch (message.type) {
        case 'status':
          return checks.get(STORE_CHECK);
        case 'availability':
          if (message.available) up(ctx);
          else down(ctx, message.cause ?? 'the connection was lost');
          return checks.get(STORE_CHECK);
        case 'ping':
          try {
            await store.ping();
            if (checks.get(STORE_CHECK)?.status !== 'ok') up(ctx);
          } catch (error) {
            down(ctx, describe((error as { cause?: unknown }).cause ?? error));
          }
          return checks.get(STORE_CHECK);
      }
    },
    async stop() {
      unsubscribe?.();
      if (!latest()) return;
      checks.remove(STORE_CHECK);
      await store.close();
    },
  };
}
