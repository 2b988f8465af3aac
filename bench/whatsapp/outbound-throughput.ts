import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { loadConfig } from '../../src/config/config.js';
import { Runtime } from '../../src/runtime.js';
import { silentLogger } from '../../test/support/logger.js';
import { deleteUnder } from '../batching/redis-env.js';

export interface OutboundOptions {
  readonly store: 'memory' | 'sqlite' | 'redis';
  readonly messages: number;
  readonly redisUrl: string;
}

const here = import.meta.url;
const socketModule = new URL(here.endsWith('.ts') ? '../../test/support/controlled-wa-socket.ts' : '../../test/support/controlled-wa-socket.js', here).href;

/**
 * One session on a real session thread whose socket acknowledges each send at once (the
 * controlled socket, appending to its file): `messages` sends accepted through the session
 * directory (what POST /sessions/:id/send does, without HTTP) as fast as they are accepted,
 * timed until the last acknowledgement. What differs between the rows is only where the send
 * queue is kept: a push before each acceptance and a removal after each acknowledgement.
 */
export async function outboundThroughput(options: OutboundOptions): Promise<number> {
  const control = mkdtempSync(join(tmpdir(), 'wa-outbound-'));
  const prefix = `bench:outbound:${randomUUID().slice(0, 8)}:`;
  process.env['WA_TEST_CONTROL_DIR'] = control;
  const runtime = new Runtime({
    loaded: loadConfig({
      PORT: '0',
      DATA_DIR: control,
      METRICS_PROCESS: 'false',
      WA_SESSIONS: 'out',
      WA_SEND_QUEUE_MAX: String(options.messages + 1),
      BATCH_STORE: options.store,
      ...(options.store === 'redis' ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: prefix, WA_LEASE_MS: '15000' } : {}),
    }),
    logger: silentLogger(),
    handlerRunner: () => new InlineRunner(() => undefined),
    whatsappPlacement: { kind: 'thread', factory: { module: socketModule, exportName: 'createSocket' } },
    showQr: () => undefined,
  });
  try {
    await runtime.start();
    const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
    for (let i = 0; i < 600; i++) {
      const answer = await fetch(`${base}/sessions/out`).catch(() => undefined);
      if (answer?.ok && ((await answer.json()) as { status: string }).status === 'open') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sentFile = join(control, 'sent.jsonl');
    const started = performance.now();
    const accepts: Promise<unknown>[] = [];
    const gateway = runtime.system.lookup('/whatsapp/out/gateway');
    if (!gateway) throw new Error('no gateway');
    for (let i = 0; i < options.messages; i++) {
      accepts.push(gateway.ask({ type: 'send', to: '79990000001', text: `message ${i}`, source: 'api' }, { timeoutMs: 60_000 }));
    }
    const outcomes = (await Promise.all(accepts)) as { ok: boolean }[];
    if (outcomes.some((outcome) => !outcome.ok)) throw new Error('a send was refused');
    for (;;) {
      const acked = existsSync(sentFile) ? readFileSync(sentFile, 'utf8').split('\n').length - 1 : 0;
      if (acked >= options.messages) break;
      if (performance.now() - started > 120_000) throw new Error(`only ${acked} of ${options.messages} acknowledged`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return options.messages / ((performance.now() - started) / 1000);
  } finally {
    await runtime.shutdown();
    delete process.env['WA_TEST_CONTROL_DIR'];
    rmSync(control, { recursive: true, force: true });
    if (options.store === 'redis') await deleteUnder(options.redisUrl, prefix);
  }
}
