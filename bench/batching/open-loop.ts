/**
 * Plays a schedule open-loop: each message is sent at its time whether or not earlier
 * ones were accepted yet (clients do not wait for each other), and every accepted one is
 * entered in the ledger. Reports how late the sends were against the schedule, so an
 * overloaded process shows as slip rather than as a quietly slower load.
 */
import type { Contender } from './contender.js';
import type { DeliveryLedger } from './delivery-ledger.js';
import { messageOf, type ScheduledSend } from './workload.js';
import { percentile } from '../support/stats.js';
import { sleep } from '../support/timing.js';

export interface PlayResult {
  sent: number;
  /**
   * Send time minus scheduled time, ms, unsorted: summarise them with slipSummary once the
   * run has drained. Sorting tens of thousands of them here blocked the measured process's
   * event loop for 10-20 ms while its flushes were coming due, and showed up as flush lag.
   */
  slips: number[];
  /** Slowest accept (send -> stored), ms. */
  acceptMaxMs: number;
}

export async function playOpenLoop(contender: Contender, ledger: DeliveryLedger, run: number, sends: readonly ScheduledSend[]): Promise<PlayResult> {
  const slips: number[] = [];
  const errors: string[] = [];
  let acceptMaxMs = 0;
  // Accepts still under way, and the wake-up for when the last one settles (a counter, not a
  // Promise.all over every send: that too paused the loop at the end of a large run).
  let outstanding = 0;
  let allSettled: (() => void) | undefined;
  const settled = (): void => {
    if (--outstanding === 0) allSettled?.();
  };
  const started = performance.now();
  let next = 0;
  while (next < sends.length) {
    const now = performance.now() - started;
    for (; next < sends.length && (sends[next] as ScheduledSend).atMs <= now; next++) {
      const send = sends[next] as ScheduledSend;
      slips.push(now - send.atMs);
      const message = messageOf(run, send.conversation, send.index);
      ledger.sent(message.phone);
      const sentAt = performance.now();
      outstanding++;
      contender.accept(message).then(
        () => {
          acceptMaxMs = Math.max(acceptMaxMs, performance.now() - sentAt);
          ledger.expect(message.id);
          settled();
        },
        (error: unknown) => {
          errors.push(error instanceof Error ? error.message : String(error));
          settled();
        },
      );
    }
    if (next < sends.length) await sleep(Math.max(0, (sends[next] as ScheduledSend).atMs - (performance.now() - started)));
  }
  if (outstanding > 0) await new Promise<void>((resolve) => (allSettled = resolve));
  if (errors.length > 0) throw new Error(`${errors.length} of ${sends.length} messages were not accepted (first: ${errors[0]})`);
  return { sent: sends.length, slips, acceptMaxMs };
}

/** p99 and max of a run's send slips (sorts them: call it once the run has drained). */
export function slipSummary(slips: number[]): { slipP99Ms: number; slipMaxMs: number } {
  slips.sort((a, b) => a - b);
  return { slipP99Ms: percentile(slips, 99), slipMaxMs: slips[slips.length - 1] ?? 0 };
}
