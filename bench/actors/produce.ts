import type { ThroughputFigure } from '../support/suite.js';
import { median } from '../support/stats.js';
import { nowNs, yieldToLoop } from '../support/timing.js';

export interface ProduceOptions {
  /** Messages to send; `send(seq)` is called for seq = 0 .. total - 1. */
  total: number;
  /** Messages sent synchronously between two yields to the event loop. */
  chunk: number;
  /** After each chunk, wait while more than this many sent messages are still unprocessed. */
  maxBacklog: number;
  /** Returns false when the message was refused. */
  send(seq: number): boolean;
  /** Messages processed so far (cumulative; only differences are used). */
  processed(): number;
}

export interface ProduceResult {
  elapsedNs: number;
  refused: number;
}

const STALL_MS = 15_000;

/**
 * Sends `total` messages with flow control and returns when all have been processed, so a
 * bounded mailbox is never overrun and the time covers processing, not just enqueueing.
 */
export async function produce(options: ProduceOptions): Promise<ProduceResult> {
  const { total, chunk, maxBacklog, send, processed } = options;
  const base = processed();
  let refused = 0;
  let lastProgress = performance.now();
  let lastSeen = base;
  const waitUntil = async (done: () => boolean): Promise<void> => {
    while (!done()) {
      await yieldToLoop();
      const seen = processed();
      if (seen !== lastSeen) {
        lastSeen = seen;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > STALL_MS) {
        throw new Error(`no progress for ${STALL_MS} ms: ${seen - base} of ${total} processed`);
      }
    }
  };
  const started = nowNs();
  let sent = 0;
  while (sent < total) {
    const end = Math.min(total, sent + chunk);
    for (; sent < end; sent++) if (!send(sent)) refused++;
    await yieldToLoop();
    const target = sent;
    await waitUntil(() => target - (processed() - base) <= maxBacklog);
  }
  await waitUntil(() => processed() - base >= total - refused);
  return { elapsedNs: nowNs() - started, refused };
}

export interface ThroughputPlan {
  warmupMessages: number;
  /** Messages per timed run; raised (see `minRunMs`) when a run would be too short to time well. */
  messages: number;
  runs: number;
  /** A timed run lasts at least about this long, judged from the warm-up's rate. */
  minRunMs?: number;
  /** Run sizes stay multiples of this (the actor count, so round-robin shares are equal). */
  multipleOf?: number;
}

/** One warm-up run, then `runs` timed runs; reports the median rate. */
export async function throughput(
  plan: ThroughputPlan,
  run: (messages: number) => Promise<number>,
  extra?: () => Record<string, number | string | boolean>,
): Promise<ThroughputFigure> {
  let messages = plan.messages;
  if (plan.warmupMessages > 0) {
    const warmupNs = await run(plan.warmupMessages);
    if (plan.minRunMs !== undefined) {
      const multiple = plan.multipleOf ?? 1;
      const wanted = (plan.warmupMessages / (warmupNs / 1e9)) * (plan.minRunMs / 1e3);
      messages = Math.max(messages, Math.ceil(wanted / multiple) * multiple);
    }
  }
  const rates: number[] = [];
  for (let i = 0; i < plan.runs; i++) {
    const elapsedNs = await run(messages);
    rates.push(Math.round(messages / (elapsedNs / 1e9)));
  }
  const figure: ThroughputFigure = {
    kind: 'throughput',
    msgsPerSec: median(rates),
    pick: 'median',
    runs: rates,
    messagesPerRun: messages,
  };
  const more = extra?.();
  if (more) figure.extra = more;
  return figure;
}
