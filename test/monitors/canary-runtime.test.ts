import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { CheckResult } from '../../src/health/health-checks.js';
import { Runtime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { FlakyHttp } from '../support/flaky-http.js';
import { silentLogger } from '../support/logger.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';

let runtime: Runtime | undefined;
let server: FlakyHttp | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
  await server?.close();
  server = undefined;
});

describe('the canary in the runtime', () => {
  it('runs only with CANARY_URLS, as a dependency child, and its checks show on /health', async () => {
    server = await new FlakyHttp().start();
    server.answer({ status: 200, body: { status: 'ok' } });
    runtime = new Runtime({
      loaded: testConfig({ CANARY_URLS: `booking=${server.url()}#status=ok`, METRICS_PROCESS: 'false' }),
      logger: silentLogger(),
      handlerRunner: () => new InlineRunner(() => []),
    });
    await runtime.start();
    const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
    const health = async () => ((await (await fetch(`${base}/health`)).json()) as { checks: Record<string, CheckResult> }).checks;
    const check = await waitFor(async () => (await health())['canary:booking'], 10_000, 'the canary check');
    expect(check).toMatchObject({ status: 'ok', data: { statusCode: 200, url: server.url() } });
    expect(nodeAt(runtime.system.snapshot(), '/monitors/canary')).toMatchObject({ status: 'running' });
  });

  it('is not in the tree without CANARY_URLS', async () => {
    runtime = new Runtime({ loaded: testConfig({ METRICS_PROCESS: 'false' }), logger: silentLogger(), handlerRunner: () => new InlineRunner(() => []) });
    await runtime.start();
    expect(nodeAt(runtime.system.snapshot(), '/monitors/canary')).toBeUndefined();
    expect(Object.keys(runtime.checks.all()).filter((name) => name.startsWith('canary:'))).toEqual([]);
  });
});
