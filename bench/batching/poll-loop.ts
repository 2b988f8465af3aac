/**
 * Baseline (a): the batch processor this runtime replaces. Ingest RPUSHes the message onto
 * the conversation's Redis list and sets its last-message timestamp (both with a TTL); a
 * loop wakes every second, SCANs the timestamps, and flushes each conversation whose
 * quiet window has passed (LRANGE + DEL in one MULTI, so a message lands in exactly one
 * batch). Its flush lag is the poll period's phase: ~500 ms on average, up to ~1 s.
 */
import type { Redis } from 'ioredis';
import type { BenchMessage, Contender, ContenderOptions } from './contender.js';
import { connect } from './redis-env.js';
import { listEntry, recordDrainedList } from './list-batch.js';

export const POLL_INTERVAL_MS = 1_000;
const TTL_SECONDS = 600;
const SCAN_COUNT = 1_000;


export interface PollLoopContender extends Contender {
  /** Ticks run so far, and the slowest one (ms). */
  readonly ticks: { count: number; slowestMs: number };
}

export async function startPollLoop(options: ContenderOptions): Promise<PollLoopContender> {
  const { ledger, windowMs, prefix } = options;
  const listKey = (phone: string): string => `${prefix}batch:${phone}`;
  const lastKey = (phone: string): string => `${prefix}last:${phone}`;
  const lastPrefix = `${prefix}last:`;
  // Ingest (the API process) and the loop (the batch processor) had a connection each.
  const ingestRedis = connect(options.redisUrl);
  const loopRedis = connect(options.redisUrl);
  await Promise.all([ingestRedis.connect(), loopRedis.connect()]);

  const ticks = { count: 0, slowestMs: 0 };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let tickError: Error | undefined;

  const take = async (redis: Redis, phone: string): Promise<void> => {
    const results = await redis.multi().lrange(listKey(phone), 0, -1).del(listKey(phone)).del(lastKey(phone)).exec();
    const deliveredAt = Date.now();
    recordDrainedList(ledger, phone, results?.[0]?.[1], deliveredAt);
  };

  const tick = async (): Promise<void> => {
    const started = performance.now();
    let cursor = '0';
    do {
      const [next, keys] = await loopRedis.scan(cursor, 'MATCH', `${lastPrefix}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (keys.length === 0) continue;
      const values = await loopRedis.mget(...keys);
      const now = Date.now();
      const due: string[] = [];
      keys.forEach((key, index) => {
        const value = values[index];
        if (value !== null && value !== undefined && now - Number(value) >= windowMs) due.push(key.slice(lastPrefix.length));
      });
      await Promise.all(due.map((phone) => take(loopRedis, phone)));
    } while (cursor !== '0');
    ticks.count++;
    ticks.slowestMs = Math.max(ticks.slowestMs, performance.now() - started);
  };

  let nextAt = performance.now() + POLL_INTERVAL_MS;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick()
        .catch((error: unknown) => {
          tickError ??= error instanceof Error ? error : new Error(String(error));
        })
        .finally(() => {
          running = undefined;
          // Every second on the clock; an overrunning tick is followed at once by the next.
          nextAt = Math.max(nextAt + POLL_INTERVAL_MS, performance.now());
          schedule();
        });
    }, Math.max(0, nextAt - performance.now()));
  };
  schedule();

  return {
    name: 'poll loop (1 s SCAN)',
    ticks,
    async accept(message: BenchMessage): Promise<void> {
      if (tickError) throw tickError;
      const at = Date.now();
      const results = await ingestRedis
        .multi()
        .rpush(listKey(message.phone), listEntry(message, at))
        .expire(listKey(message.phone), TTL_SECONDS)
        .set(lastKey(message.phone), String(at), 'EX', TTL_SECONDS)
        .exec();
      const failed = results?.find(([error]) => error !== null);
      if (!results || failed) throw new Error(`poll-loop ingest failed: ${failed?.[0]?.message ?? 'transaction aborted'}`);
    },
    async close(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
      ingestRedis.disconnect();
      loopRedis.disconnect();
      if (tickError) throw tickError;
    },
  };
}
