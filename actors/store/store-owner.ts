import type { Behaviour } from '../../src/actor/behaviour.js';
import { describe } from '../../src/errors.js';
import type { CheckResult, HealthChecks } from '../../src/health/health-checks.js';
import type { BatchStore } from '../batcher/batch-store.js';

export type StoreOwnerMessage = { readonly type: 'ping' } | { readonly type: 'status' };

export interface StoreOwnerDeps {
  readonly store: BatchStore;
  readonly checks: HealthChecks;
  readonly pingIntervalMs: number;
}

export const STORE_CHECK = 'store';

/**
 * `/store`: owns the store's connection (opened in `start`, closed in `stop`) and reports
 * the `store` health check that /health/ready reads. A Redis outage after start is not a
 * failure of this actor: ioredis reconnects, and the check says critical meanwhile.
 */
export function storeOwner(deps: StoreOwnerDeps): Behaviour<StoreOwnerMessage, CheckResult | undefined> {
  let last: CheckResult | undefined;
  const report = (result: CheckResult): void => {
    last = result;
    deps.checks.report(STORE_CHECK, result);
  };
  return {
    async start(ctx) {
      try {
        await deps.store.connect();
      } catch (error) {
        // Readiness must say why before the supervisor retries.
        report({ status: 'critical', message: `${deps.store.kind} store cannot connect: ${describe(error)}`, at: new Date(ctx.clock.now()).toISOString(), data: { kind: deps.store.kind } });
        throw error;
      }
      report({ status: 'ok', message: `${deps.store.kind} store connected`, at: new Date(ctx.clock.now()).toISOString(), data: { kind: deps.store.kind } });
      ctx.timers.every('ping', deps.pingIntervalMs, { type: 'ping' });
    },
    async receive(message, ctx) {
      if (message.type === 'status') return last;
      const at = new Date(ctx.clock.now()).toISOString();
      try {
        await deps.store.ping();
        if (last?.status !== 'ok') ctx.log.info('store reachable again');
        report({ status: 'ok', message: `${deps.store.kind} store reachable`, at, data: { kind: deps.store.kind } });
      } catch (error) {
        if (last?.status === 'ok') ctx.log.error({ err: error }, 'store unreachable');
        report({ status: 'critical', message: `${deps.store.kind} store unreachable: ${describe(error)}`, at, data: { kind: deps.store.kind } });
      }
      return last;
    },
    async stop() {
      deps.checks.remove(STORE_CHECK);
      await deps.store.close();
    },
  };
}
