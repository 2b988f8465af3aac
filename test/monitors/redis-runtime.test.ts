import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { CheckResult } from '../../src/health/health-checks.js';
import { Runtime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { silentLogger } from '../support/logger.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';

let runtime: Runtime | undefined;
const prefix = testPrefix('redis-monitor-runtime');
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
  await deletePrefix(prefix);
});

describe('the redis monitor in the runtime', () => {
  it("runs with REDIS_URL, beside the store, and /health shows the redis check with the store's counters", async () => {
    runtime = new Runtime({
      loaded: testConfig({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, METRICS_PROCESS: 'false' }),
      logger: silentLogger(),
      handlerRunner: () => new InlineRunner(() => []),
    });
    await runtime.start();
    const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
    const check = await waitFor(async () => ((await (await fetch(`${base}/health`)).json()) as { checks: Record<string, CheckResult> }).checks.redis, 10_000, 'the redis check');
    expect(check).toMatchObject({ status: 'ok', data: { reachable: true, deadLetters: 0, inFlightConversations: 0 } });
    expect(nodeAt(runtime.system.snapshot(), '/monitors/redis')).toMatchObject({ status: 'running', detail: { status: 'ok' } });
  });

  it('is not in the tree without REDIS_URL', async () => {
    runtime = new Runtime({ loaded: testConfig({ METRICS_PROCESS: 'false' }), logger: silentLogger(), handlerRunner: () => new InlineRunner(() => []) });
    await runtime.start();
    expect(nodeAt(runtime.system.snapshot(), '/monitors/redis')).toBeUndefined();
    expect(runtime.checks.get('redis')).toBeUndefined();
  });
});
