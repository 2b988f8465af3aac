/**
 * The direct-ingest load on the SQLite store, in a process of its own so that fsyncs.ts can
 * run it under strace and count the fsync/fdatasync calls it makes. One warm-up run, then
 * one timed run (the closed loop of ingest-direct.ts), then the drain of its batches (the
 * flushes and acks, untimed). Prints one JSON line: FsyncChildReport, with the windows in
 * epoch ms (the clock strace -ttt prints).
 *
 *   node fsync-child.js '<FsyncChildConfig as JSON>'
 */
import { closedLoop } from './ingest-direct.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { startRuntime } from './runtime-contender.js';
import { streamMessage } from './workload.js';

export interface FsyncChildConfig {
  synchronous: 'normal' | 'full';
  warmupRun: number;
  run: number;
  warmupMessages: number;
  messages: number;
  callers: number;
  windowMs: number;
  drainTimeoutMs: number;
  /** The child ends itself after this long, whatever happens (a killed strace would leave it running). */
  deadlineMs: number;
}

export interface FsyncChildReport {
  synchronous: 'normal' | 'full';
  messages: number;
  /** The timed ingest, epoch ms. */
  ingestFrom: number;
  ingestTo: number;
  /** From the end of the ingest until its batches were all delivered (flushes, acks), epoch ms. */
  drainTo: number;
  msgsPerSec: number;
  pid: number;
}

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as FsyncChildConfig;
  setTimeout(() => {
    process.stderr.write(`fsync-child: deadline of ${config.deadlineMs} ms passed\n`);
    process.exit(3);
  }, config.deadlineMs).unref();
  const ledger = new DeliveryLedger(config.windowMs);
  const contender = await startRuntime({
    store: 'sqlite',
    windowMs: config.windowMs,
    ledger,
    redisUrl: '',
    prefix: '',
    env: { SQLITE_SYNCHRONOUS: config.synchronous },
  });
  let closed = false;
  try {
    const warmup = Array.from({ length: config.warmupMessages }, (_, n) => streamMessage(config.warmupRun, n));
    await closedLoop(contender, ledger, warmup, config.callers);
    await ledger.waitForAll(config.drainTimeoutMs);
    const stream = Array.from({ length: config.messages }, (_, n) => streamMessage(config.run, n));
    const ingestFrom = epochMs();
    const elapsedNs = await closedLoop(contender, ledger, stream, config.callers);
    const ingestTo = epochMs();
    await ledger.waitForAll(config.drainTimeoutMs);
    const drainTo = epochMs();
    closed = true;
    await contender.close();
    ledger.verify();
    const report: FsyncChildReport = {
      synchronous: config.synchronous,
      messages: config.messages,
      ingestFrom,
      ingestTo,
      drainTo,
      msgsPerSec: config.messages / (elapsedNs / 1e9),
      pid: process.pid,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
  } finally {
    if (!closed) await contender.close().catch(() => undefined);
  }
}

await main();
