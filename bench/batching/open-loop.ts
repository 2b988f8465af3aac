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
  /** Send time minus scheduled time, ms. */
  slipP99Ms: number;
  slipMaxMs: number;
  /** Slowest accept (send -> stored), ms. */
  acceptMaxMs: number;
}

export async function playOpenLoop(contender: Contender, ledger: DeliveryLedger, run: number, sends: readonly ScheduledSend[]): Promise<PlayResult> {
  const pending: Promise<void>[] = [];
  const slips: number[] = [];
  const errors: string[] = [];
  let acceptMaxMs = 0;
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
      pending.push(
        contender.accept(message).then(
          () => {
            acceptMaxMs = Math.max(acceptMaxMs, performance.now() - sentAt);
            ledger.expect(message.id);
          },
          (error: unknown) => {
            errors.push(error instanceof Error ? error.message : String(error));
          },
        ),
      );
    }
    if (next < sends.length) await sleep(Math.max(0, (sends[next] as ScheduledSend).atMs - (performance.now() - started)));
  }
  await Promise.all(pending);
  if (errors.length > 0) throw new Error(`${errors.length} of ${sends.length} messages were not accepted (first: ${errors[0]})`);
  slips.sort((a, b) => a - b);
  return { sent: sends.length, slipP99Ms: percentile(slips, 99), slipMaxMs: slips[slips.length - 1] ?? 0, acceptMaxMs };
}
