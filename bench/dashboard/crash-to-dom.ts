/**
 * Time from an actor crash to the dashboard's DOM showing it, in headless Chromium: a
 * WhatsApp session against a local server that closes every connection the moment it opens,
 * so its socket actor fails (WAR_ERR_WA_CLOSED) about once a second; the server stamps each
 * connection (the crash follows within a millisecond or two), a MutationObserver in the page
 * stamps each rise of the row's outage retries. Same machine, same clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { loadConfig } from '../../src/config/config.js';
import { Runtime } from '../../src/runtime.js';
import { WaServer } from '../../test/support/wa-server.js';
import { summarize } from '../support/stats.js';
import type { LatencyFigure } from '../support/suite.js';
import { sleep } from '../support/timing.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SOCKET = '/whatsapp/s1/socket';

export async function crashToDom(crashes: number): Promise<LatencyFigure> {
  const wa = await WaServer.start('drop', 0);
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-dash-crash-'));
  const runtime = new Runtime({
    loaded: loadConfig({
      PORT: '0',
      DATA_DIR: dataDir,
      WA_SESSIONS: 's1',
      WA_WEBSOCKET_URL: wa.url,
      WA_AUTH_DIR: join(dataDir, 'wa-auth'),
      BACKOFF_INITIAL_MS: '1000',
      BACKOFF_MAX_MS: '1200',
      METRICS_PROCESS: 'false',
    }),
    logger: pino({ level: 'silent' }),
    handlerRunner: () => new InlineRunner(() => undefined),
    showQr: () => undefined,
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    await runtime.start();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(await runtime.httpAddress())?.port}/dashboard`);
    await page.waitForSelector(`[data-path="${SOCKET}"]`, { timeout: 30_000 });
    // Runs in the page (a string: this project's TypeScript has no DOM types).
    // Runs in the page (a string: this project's TypeScript has no DOM types). A crash shows
    // as the row's outage retries going up (its status may stay backing_off across crashes).
    await page.evaluate(`(() => {
      const seen = [];
      globalThis.seen = seen;
      let last = -1;
      const look = () => {
        const text = document.querySelector('[data-path="${SOCKET}"] .outage')?.textContent ?? '';
        const retries = Number(/(\\d+) retries/.exec(text)?.[1] ?? -1);
        if (retries > last) {
          if (last >= 0) seen.push(Date.now());
          last = retries;
        }
      };
      new MutationObserver(look).observe(document.body, { subtree: true, attributes: true, childList: true, characterData: true });
      look();
    })()`);
    const firstCrash = wa.connections.length;
    const deadline = Date.now() + crashes * 5_000;
    while (wa.connections.length < firstCrash + crashes + 1 && Date.now() < deadline) await sleep(200);
    await sleep(1_500);
    const seen = (await page.evaluate('globalThis.seen')) as number[];
    const latencies: number[] = [];
    for (const crash of wa.connections.slice(firstCrash, firstCrash + crashes)) {
      const shown = seen.find((at) => at >= crash.at);
      if (shown !== undefined && shown - crash.at < 10_000) latencies.push(shown - crash.at);
    }
    if (latencies.length < crashes * 0.9) throw new Error(`only ${latencies.length} of ${crashes} crashes were seen on the page`);
    return { kind: 'latency', unit: 'ms', summary: summarize(latencies), showMax: true, extra: { crashes: latencies.length } };
  } finally {
    await browser.close();
    await runtime.shutdown();
    await wa.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
