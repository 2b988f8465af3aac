/**
 * Baseline (b): a BullMQ debounce. BullMQ's own debounce keeps only the last job's data,
 * so the messages live in a Redis list per conversation; the trigger is a delayed job per
 * conversation in BullMQ's debounce mode (deduplication id = the conversation, ttl = delay
 * = the window, extend + replace: each new message replaces the delayed job and restarts
 * its delay). A Worker processes the job by taking the list (LRANGE + DEL in one MULTI).
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { BenchMessage, Contender, ContenderOptions } from './contender.js';
import { connect } from './redis-env.js';
import { listEntry, recordDrainedList } from './list-batch.js';

const TTL_SECONDS = 600;
const QUEUE = 'flush';
export const WORKER_CONCURRENCY = 64;


interface FlushJob {
  phone: string;
}

export interface BullmqOptions extends ContenderOptions {
  /** false: no Worker (jobs only pile up), for the memory measure. */
  readonly worker?: boolean;
}

export async function startBullmqDebounce(options: BullmqOptions): Promise<Contender> {
  const { ledger, windowMs, prefix } = options;
  const listKey = (phone: string): string => `${prefix}batch:${phone}`;
  const redis = connect(options.redisUrl);
  await redis.connect();
  // BullMQ keys: <prefix>bull:flush:*, under the suite's root prefix like everything else.
  const bullPrefix = `${prefix}bull`;
  const connection = { url: options.redisUrl, maxRetriesPerRequest: null };
  const queue = new Queue<FlushJob>(QUEUE, { connection, prefix: bullPrefix });
  queue.on('error', () => undefined);
  let workerError: Error | undefined;

  const takeBatch = async (job: Job<FlushJob>): Promise<void> => {
    const { phone } = job.data;
    const results = await redis.multi().lrange(listKey(phone), 0, -1).del(listKey(phone)).exec();
    const deliveredAt = Date.now();
    recordDrainedList(ledger, phone, results?.[0]?.[1], deliveredAt);
  };

  const worker =
    options.worker === false
      ? undefined
      : new Worker<FlushJob>(QUEUE, takeBatch, { connection, prefix: bullPrefix, concurrency: WORKER_CONCURRENCY });
  worker?.on('error', (error) => {
    workerError ??= error;
  });
  worker?.on('failed', (_job, error) => {
    workerError ??= error;
  });
  await queue.waitUntilReady();
  await worker?.waitUntilReady();

  return {
    name: 'BullMQ debounce',
    async accept(message: BenchMessage): Promise<void> {
      if (workerError) throw workerError;
      const at = Date.now();
      const results = await redis.multi().rpush(listKey(message.phone), listEntry(message, at)).expire(listKey(message.phone), TTL_SECONDS).exec();
      const failed = results?.find(([error]) => error !== null);
      if (!results || failed) throw new Error(`BullMQ baseline ingest failed: ${failed?.[0]?.message ?? 'transaction aborted'}`);
      await queue.add(
        'flush',
        { phone: message.phone },
        {
          delay: windowMs,
          deduplication: { id: message.phone, ttl: windowMs, extend: true, replace: true },
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
    },
    async close(): Promise<void> {
      await worker?.close();
      await queue.close();
      redis.disconnect();
      if (workerError) throw workerError;
    },
  };
}
