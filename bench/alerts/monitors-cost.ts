/**
 * What the monitors cost: the same runtime (no traffic) twice over the same wall time, once
 * with every monitor checking each second and once with them at one hour; the difference in
 * process CPU is the monitors' share of one core. The canary fetches a local HTTP server; the
 * redis monitor runs when a Redis answers. Sessions are not configured: a session's own socket
 * work would swamp what its monitor costs, and the sessions' monitors only read counters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { Runtime } from '../../src/runtime.js';
import type { ValueFigure } from '../support/suite.js';
import { median } from '../support/stats.js';
import { sleep } from '../support/timing.js';
import { benchRedisUrl, redisProblem } from '../batching/redis-env.js';

async function cpuOver(env: Record<string, string>, seconds: number): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-monitors-'));
  const runtime = new Runtime({ loaded: loadConfig({ PORT: '0', DATA_DIR: dataDir, BATCH_STORE: 'sqlite', ...env }), logger: pino({ level: 'silent' }) });
  try {
    await runtime.start();
    await sleep(2_000);
    const before = process.cpuUsage();
    const started = performance.now();
    await sleep(seconds * 1000);
    const cpu = process.cpuUsage(before);
    return (cpu.user + cpu.system) / 1000 / (performance.now() - started);
  } finally {
    await runtime.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function monitorsCpuShare(options: { seconds: number; rounds: number }): Promise<ValueFigure> {
  const target = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/health#status=ok`;
  const redisUrl = benchRedisUrl();
  const withRedis = (await redisProblem(redisUrl)) === undefined;
  const common: Record<string, string> = { CANARY_URLS: `svc=${url}`, ...(withRedis ? { REDIS_URL: redisUrl } : {}) };
  const every = (ms: number): Record<string, string> => ({ MONITOR_INTERVAL_MS: String(ms), MEMORY_CHECK_INTERVAL_MS: String(ms), CANARY_INTERVAL_MS: String(ms) });
  try {
    // A first runtime warms the JIT and the disk; then the two take turns, so drift of the
    // machine falls on both, and each is the median of its rounds.
    await cpuOver({ ...common, ...every(1_000) }, 3);
    const idleRuns: number[] = [];
    const busyRuns: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      idleRuns.push(await cpuOver({ ...common, ...every(3_600_000) }, options.seconds));
      busyRuns.push(await cpuOver({ ...common, ...every(1_000) }, options.seconds));
    }
    const idle = median(idleRuns);
    const busy = median(busyRuns);
    const share = Math.max(0, busy - idle) * 100;
    return {
      kind: 'value',
      value: share,
      unit: '% of a core',
      text: `${share.toFixed(2)}% of a core`,
      extra: { idlePercent: Number((idle * 100).toFixed(2)), busyPercent: Number((busy * 100).toFixed(2)), redisMonitor: withRedis, seconds: options.seconds, rounds: options.rounds },
    };
  } finally {
    await new Promise<void>((resolve) => target.close(() => resolve()));
  }
}
