/**
 * Ours: a whole Runtime (store, batchers, pipeline, recovery, HTTP) on the memory, the
 * embedded SQLite or the Redis store, with an InlineRunner handler that records each
 * delivered batch. A message goes the real way: ingest.accept (what the webhook route
 * calls) -> store -> the conversation's batcher actor and its timer -> flush -> pipeline
 * -> handler. Every runtime gets a DATA_DIR of its own (mkdtemp, removed at close): the
 * SQLite file lives there, and the memory store's shutdown spill would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { Runtime } from '../../src/runtime.js';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import type { BatchHandler, FlushedBatch } from '../../actors/pipeline/handler.js';
import type { BenchMessage, Contender, ContenderOptions } from './contender.js';
import type { DeliveryLedger } from './delivery-ledger.js';

export type RuntimeStore = 'memory' | 'sqlite' | 'redis';

export const STORE_LABEL: Record<RuntimeStore, string> = { memory: 'ours, memory store', sqlite: 'ours, SQLite store', redis: 'ours, Redis store' };

export interface RuntimeContender extends Contender {
  readonly runtime: Runtime;
  /** http://127.0.0.1:<port> of the runtime's own HTTP server. */
  readonly baseUrl: string;
  /** The runtime's DATA_DIR (a temp dir of its own, removed at close). */
  readonly dataDir: string;
}

export interface RuntimeContenderOptions extends ContenderOptions {
  readonly store: RuntimeStore;
  /** Further config variables (strings, as in the environment), e.g. SQLITE_SYNCHRONOUS. */
  readonly env?: Readonly<Record<string, string>>;
  /** Instead of the recording handler (the ledger then sees nothing). */
  readonly handler?: BatchHandler;
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

/** A fresh DATA_DIR under the OS temp dir. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'war-bench-'));
}

export async function startRuntime(options: RuntimeContenderOptions): Promise<RuntimeContender> {
  const dataDir = tempDataDir();
  const removeDataDir = (): void => rmSync(dataDir, { recursive: true, force: true });
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    BATCH_WINDOW_MS: String(options.windowMs),
    BATCH_STORE: options.store,
    DATA_DIR: dataDir,
    ...(options.store === 'redis' ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: options.prefix } : {}),
    ...options.env,
  };
  const handler = options.handler ?? recordingHandler(options.ledger);
  let runtime: Runtime;
  try {
    runtime = new Runtime({
      loaded: loadConfig(env),
      logger: createLogger({ level: 'silent' }),
      handlerRunner: () => new InlineRunner(handler),
      onRootFailure: (error) => process.stderr.write(`bench: runtime root failed: ${error.message}\n`),
    });
    if (runtime.store.kind !== options.store) throw new Error(`bench bug: asked for the ${options.store} store, got ${runtime.store.kind}`);
  } catch (error) {
    removeDataDir();
    throw error;
  }
  try {
    await runtime.start();
  } catch (error) {
    await runtime.shutdown().catch(() => undefined);
    removeDataDir();
    throw error;
  }
  const address = await runtime.httpAddress();
  if (!address) {
    await runtime.shutdown();
    removeDataDir();
    throw new Error('the runtime has no HTTP address');
  }
  const ingest = runtime.ingest;
  return {
    name: STORE_LABEL[options.store],
    runtime,
    baseUrl: `http://127.0.0.1:${address.port}`,
    dataDir,
    async accept(message: BenchMessage): Promise<void> {
      const result = await ingest.accept({ sessionId: 'default', phone: message.phone, text: message.text, id: message.id });
      if (result.status !== 'accepted') throw new Error(`message ${message.id} was not accepted: ${result.status}`);
    },
    close: async () => {
      try {
        await runtime.shutdown();
      } finally {
        removeDataDir();
      }
    },
  };
}
