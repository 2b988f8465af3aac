/**
 * Ingest over HTTP: autocannon in a separate process (http-load.ts) POSTs the batched
 * webhook of a server in this process: the runtime's own HTTP server, or a fastify front
 * for a baseline, or that front with no store at all (the HTTP ceiling). Reported: the
 * median requests/s of the timed runs. For a server that stores, every 2xx must then be
 * delivered exactly once (counted: the load generator cannot say which ids got a 2xx).
 */
import { median } from '../support/stats.js';
import type { ThroughputFigure } from '../support/suite.js';
import type { DeliveryLedger } from './delivery-ledger.js';
import type { LoadConfig, LoadReport, LoadRun } from './http-load.js';
import { runNodeChild } from './node-child.js';
import { MESSAGE_ID_PREFIX } from './workload.js';

export interface HttpPlan {
  readonly connections: number;
  readonly warmup: number;
  readonly amount: number;
  readonly runs: number;
  readonly drainTimeoutMs: number;
}

export interface HttpServerUnderTest {
  readonly baseUrl: string;
  /** Absent for the store-less ceiling. */
  readonly ledger: DeliveryLedger | undefined;
}

export async function httpIngest(server: HttpServerUnderTest, plan: HttpPlan, run: number): Promise<ThroughputFigure> {
  const config: LoadConfig = {
    baseUrl: server.baseUrl,
    run,
    connections: plan.connections,
    warmup: plan.warmup,
    amount: plan.amount,
    runs: plan.runs,
    timeoutS: 10,
  };
  const report = await runNodeChild<LoadReport>({
    base: import.meta.url,
    module: './http-load.js',
    args: [JSON.stringify(config)],
    timeoutMs: 240_000,
  });
  const all: LoadRun[] = [report.warmup, ...report.runs];
  const bad = all.reduce((sum, load) => sum + load.non2xx + load.errors + load.timeouts, 0);
  if (bad > 0) {
    const first = all.find((load) => load.non2xx + load.errors + load.timeouts > 0) as LoadRun;
    throw new Error(`invalid: ${bad} requests were not answered 2xx (non2xx ${first.non2xx}, errors ${first.errors}, timeouts ${first.timeouts})`);
  }
  const ok = all.reduce((sum, load) => sum + load.ok, 0);
  const expected = plan.warmup + plan.runs * plan.amount;
  if (ok !== expected) throw new Error(`invalid: ${ok} 2xx answers for ${expected} requests`);
  if (server.ledger) {
    server.ledger.expectAnonymous(ok, MESSAGE_ID_PREFIX);
    await server.ledger.waitForAll(plan.drainTimeoutMs);
    server.ledger.verify();
  }
  return {
    kind: 'throughput',
    unit: 'req/s',
    msgsPerSec: median(report.runs.map((load) => load.reqPerSec)),
    pick: 'median',
    runs: report.runs.map((load) => load.reqPerSec),
    messagesPerRun: plan.amount,
    extra: {
      connections: plan.connections,
      latencyP50Ms: median(report.runs.map((load) => load.latencyP50Ms)),
      latencyP99Ms: median(report.runs.map((load) => load.latencyP99Ms)),
      ...(server.ledger ? { delivered: server.ledger.deliveredOnce, batches: server.ledger.batches } : {}),
    },
  };
}
