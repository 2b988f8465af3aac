/**
 * Memory per pending conversation, measured in a process of its own started with
 * --expose-gc: after a full GC, heap (and RSS, and Redis's used_memory) before and after
 * `conversations` conversations each accepted one short message of its own, with a window
 * so long that nothing flushes. Prints one JSON line: FootprintReport.
 *
 *   node --expose-gc memory-child.js '<FootprintConfig as JSON>'
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { ContenderKind, Contender } from './contender.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { startBullmqDebounce } from './bullmq-debounce.js';
import { startPollLoop } from './poll-loop.js';
import { connect, countUnder, redisUsedMemory } from './redis-env.js';
import { startRuntime, type RuntimeContender } from './runtime-contender.js';
import { phoneOf } from './workload.js';
import { sleep } from '../support/timing.js';

export interface FootprintConfig {
  kind: ContenderKind;
  redisUrl: string;
  prefix: string;
  run: number;
  conversations: number;
}

export interface FootprintReport {
  conversations: number;
  textBytes: number;
  /** Growth per conversation, bytes, text not subtracted. */
  heapPerConversation: number;
  rssPerConversation: number;
  redisPerConversation: number | null;
  /** SQLite store: growth of its files in DATA_DIR (database + WAL), bytes per conversation, text not subtracted. */
  diskPerConversation: number | null;
  /** What was checked to be pending after the measure. */
  pendingChecked: number;
}

const WINDOW_MS = 600_000;
const CALLERS = 256;

const gc = (globalThis as { gc?: () => void }).gc;

async function fullGc(): Promise<void> {
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
}

/** A distinct short text per conversation (distinct strings, as parsed from each request body). */
function textOf(conversation: number): string {
  return `Book me at 18:00 #${String(conversation).padStart(5, '0')}`;
}

/** A WhatsApp-like message id. */
function idOf(conversation: number): string {
  return `3EB0${conversation.toString(16).toUpperCase().padStart(16, '0')}`;
}

async function start(config: FootprintConfig, ledger: DeliveryLedger): Promise<Contender> {
  const options = { windowMs: WINDOW_MS, ledger, redisUrl: config.redisUrl, prefix: config.prefix };
  switch (config.kind) {
    case 'memory':
    case 'sqlite':
    case 'redis':
      return startRuntime({ ...options, store: config.kind, env: { BATCH_MAX_AGE_MS: String(WINDOW_MS) } });
    case 'poll':
      return startPollLoop(options);
    case 'bullmq':
      return startBullmqDebounce({ ...options, worker: false });
  }
}

/** Bytes of every file in `dir` (the SQLite database, its WAL). */
function filesBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

function batchersOf(contender: RuntimeContender): number {
  return contender.runtime.system.snapshot().children.find((node) => node.path === '/batchers')?.children.length ?? 0;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as FootprintConfig;
  const n = config.conversations;
  const ledger = new DeliveryLedger(WINDOW_MS);
  const usesRedis = config.kind !== 'memory' && config.kind !== 'sqlite';
  let redis: Redis | undefined;
  if (usesRedis) {
    redis = connect(config.redisUrl);
    await redis.connect();
  }
  const contender = await start(config, ledger);
  let closed = false;
  try {
    // The inputs exist before the first reading, so only what the contender keeps is counted.
    const messages = Array.from({ length: n }, (_, c) => ({ phone: phoneOf(config.run, c), id: idOf(c), text: textOf(c) }));
    await sleep(200);
    await fullGc();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage().rss;
    const redisBefore = redis ? await redisUsedMemory(redis) : 0;
    const dataDir = config.kind === 'sqlite' ? (contender as RuntimeContender).dataDir : undefined;
    const diskBefore = dataDir ? filesBytes(dataDir) : 0;

    let next = 0;
    const caller = async (): Promise<void> => {
      for (let c = next++; c < n; c = next++) await contender.accept(messages[c] as (typeof messages)[number]);
    };
    await Promise.all(Array.from({ length: CALLERS }, caller));
    // Batchers start and arm their timers after the accepts resolve.
    await sleep(500);
    await fullGc();
    const heapAfter = process.memoryUsage().heapUsed;
    const rssAfter = process.memoryUsage().rss;
    const redisAfter = redis ? await redisUsedMemory(redis) : 0;
    const diskAfter = dataDir ? filesBytes(dataDir) : 0;

    // Check that what was measured is what was meant: n conversations pending, one message each.
    let pendingChecked: number;
    if (config.kind === 'memory' || config.kind === 'sqlite' || config.kind === 'redis') {
      const runtime = contender as RuntimeContender;
      const stats = await runtime.runtime.store.stats(0);
      const batchers = batchersOf(runtime);
      if (stats.pendingBatches !== n || stats.pendingMessages !== n || batchers !== n) {
        throw new Error(`invalid: expected ${n} pending conversations with one message and a batcher each, found ${stats.pendingBatches} / ${stats.pendingMessages} messages / ${batchers} batchers`);
      }
      pendingChecked = stats.pendingBatches;
    } else {
      pendingChecked = await countUnder(redis as Redis, `${config.prefix}batch:`);
      if (pendingChecked !== n) throw new Error(`invalid: expected ${n} pending lists, found ${pendingChecked}`);
    }
    for (const message of messages) ledger.expect(message.id);
    closed = true;
    await contender.close();
    // The memory store hands everything pending to the pipeline at shutdown: all n must arrive, once.
    if (config.kind === 'memory') {
      await ledger.waitForAll(30_000);
      ledger.verify();
    }
    const report: FootprintReport = {
      conversations: n,
      textBytes: Buffer.byteLength(textOf(0)),
      heapPerConversation: (heapAfter - heapBefore) / n,
      rssPerConversation: (rssAfter - rssBefore) / n,
      redisPerConversation: redis ? (redisAfter - redisBefore) / n : null,
      diskPerConversation: dataDir ? (diskAfter - diskBefore) / n : null,
      pendingChecked,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
  } finally {
    if (!closed) await contender.close().catch(() => undefined);
    redis?.disconnect();
  }
}

await main();
