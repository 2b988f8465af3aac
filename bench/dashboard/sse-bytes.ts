/**
 * What one dashboard client costs on the wire: a runtime holding 10,000 pending
 * conversations (10,000 batchers, summarised as one row) while 100 check transitions a second
 * are published, and one client reading GET /dashboard/events; bytes per second over the
 * window, frames per second, and the largest frame. Beside it, the same client on an idle
 * runtime (only the periodic samples).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { loadConfig } from '../../src/config/config.js';
import { Runtime } from '../../src/runtime.js';
import { openSse } from '../../test/support/sse-client.js';
import type { ValueFigure } from '../support/suite.js';
import { sleep } from '../support/timing.js';

export interface SseBytesPlan {
  readonly conversations: number;
  readonly eventsPerSecond: number;
  readonly seconds: number;
}

export async function sseBytesPerClient(plan: SseBytesPlan): Promise<ValueFigure> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-dashboard-'));
  const runtime = new Runtime({
    loaded: loadConfig({ PORT: '0', DATA_DIR: dataDir, BATCH_STORE: 'memory', BATCH_WINDOW_MS: '3600000', BATCH_MAX_AGE_MS: '3600000', METRICS_PROCESS: 'false' }),
    logger: pino({ level: 'silent' }),
    handlerRunner: () => new InlineRunner(() => undefined),
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await runtime.start();
    for (let i = 0; i < plan.conversations; i++) await runtime.ingest.accept({ sessionId: 'default', phone: `7916${String(i).padStart(7, '0')}`, text: 'Запишите на стрижку' });
    const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
    const client = await openSse(`${base}/dashboard/events`);
    await sleep(2_000);
    let flip = 0;
    const perTick = Math.max(1, Math.round(plan.eventsPerSecond / 20));
    if (plan.eventsPerSecond > 0) {
      timer = setInterval(() => {
        for (let i = 0; i < perTick; i++) {
          flip++;
          runtime.checks.report(`bench:${flip % 10}`, { status: flip % 20 < 10 ? 'ok' : 'warn', message: `flip ${flip}`, at: new Date().toISOString() });
        }
      }, 50);
    }
    const bytesBefore = client.bytes();
    const framesBefore = client.events.length;
    const started = performance.now();
    await sleep(plan.seconds * 1000);
    const seconds = (performance.now() - started) / 1000;
    const bytesPerSecond = (client.bytes() - bytesBefore) / seconds;
    const frames = client.events.slice(framesBefore);
    client.close();
    const largest = Math.max(0, ...frames.map((frame) => frame.data.length));
    return {
      kind: 'value',
      value: bytesPerSecond,
      unit: 'B/s',
      text: `${(bytesPerSecond / 1024).toFixed(1)} KiB/s (${(frames.length / seconds).toFixed(1)} frames/s, largest ${(largest / 1024).toFixed(1)} KiB)`,
      extra: { framesPerSecond: frames.length / seconds, largestFrameBytes: largest, batchers: plan.conversations, eventsPerSecond: plan.eventsPerSecond },
    };
  } finally {
    if (timer) clearInterval(timer);
    await runtime.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
