/**
 * Ours: a whole Runtime (store, batchers, pipeline, recovery, HTTP) on the memory or the
 * Redis store, with an InlineRunner handler that records each delivered batch. A message
 * goes the real way: ingest.accept (what the webhook route calls) -> store -> the
 * conversation's batcher actor and its timer -> flush -> pipeline -> handler.
 */
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { Runtime } from '../../src/runtime.js';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import type { BenchMessage, Contender, ContenderOptions } from './contender.js';
import type { DeliveryLedger } from './delivery-ledger.js';

export interface RuntimeContender extends Contender {
  readonly runtime: Runtime;
  /** http://127.0.0.1:<port> of the runtime's own HTTP server. */
  readonly baseUrl: string;
}

export interface RuntimeContenderOptions extends ContenderOptions {
  readonly store: 'memory' | 'redis';
  /** Further config variables (strings, as in the environment). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The handler: the time is taken first, before anything else runs. */
export function recordingHandler(ledger: DeliveryLedger): (batch: FlushedBatch) => void {
  return (batch) => {
    const deliveredAt = Date.now();
    ledger.record({
      deliveredAt,
      conversation: batch.phone,
      ids: batch.messages.map((message) => message.id),
      lastAt: Date.parse(batch.lastAt),
      reason: batch.reason,
    });
  };
}

export async function startRuntime(options: RuntimeContenderOptions): Promise<RuntimeContender> {
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    BATCH_WINDOW_MS: String(options.windowMs),
    BATCH_STORE: options.store,
    ...(options.store === 'redis' ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: options.prefix } : {}),
    ...options.env,
  };
  const handler = recordingHandler(options.ledger);
  const runtime = new Runtime({
    loaded: loadConfig(env),
    logger: createLogger({ level: 'silent' }),
    handlerRunner: () => new InlineRunner(handler),
    onRootFailure: (error) => process.stderr.write(`bench: runtime root failed: ${error.message}\n`),
  });
  if (runtime.store.kind !== options.store) throw new Error(`bench bug: asked for the ${options.store} store, got ${runtime.store.kind}`);
  try {
    await runtime.start();
  } catch (error) {
    await runtime.shutdown().catch(() => undefined);
    throw error;
  }
  const address = await runtime.httpAddress();
  if (!address) {
    await runtime.shutdown();
    throw new Error('the runtime has no HTTP address');
  }
  const ingest = runtime.ingest;
  return {
    name: options.store === 'memory' ? 'ours, memory store' : 'ours, Redis store',
    runtime,
    baseUrl: `http://127.0.0.1:${address.port}`,
    async accept(message: BenchMessage): Promise<void> {
      const result = await ingest.accept({ sessionId: 'default', phone: message.phone, text: message.text, id: message.id });
      if (result.status !== 'accepted') throw new Error(`message ${message.id} was not accepted: ${result.status}`);
    },
    close: async () => {
      await runtime.shutdown();
    },
  };
}
