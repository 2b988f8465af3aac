/**
 * From a group's due time (its first alert plus the group wait) to the Telegram request
 * reaching the local Bot API server: the notifier's timer, the flush, the channel actor and
 * grammY's request. One group at a time, so each sample is one notification's path alone.
 */
import type { LatencyFigure } from '../support/suite.js';
import { summarize } from '../support/stats.js';
import { sleep } from '../support/timing.js';
import { startAlertRig } from './alert-rig.js';

export async function dueToTelegramLatency(samples: number, groupWaitMs = 20): Promise<LatencyFigure> {
  const rig = await startAlertRig({ groupWaitMs, groupIntervalMs: 3_600_000 });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples + 10; i++) {
      const before = rig.telegram.messages.length;
      const firedAt = Date.now();
      // A group of its own each time (a new rule's fingerprint would join an old group).
      rig.events.publish({ type: 'check', name: `bench${i}`, previous: 'absent', status: 'critical', message: 'probe', at: firedAt });
      const deadline = firedAt + groupWaitMs + 5_000;
      while (rig.telegram.messages.length === before && Date.now() < deadline) await sleep(1);
      const message = rig.telegram.messages[before];
      if (!message) throw new Error(`notification ${i} did not reach the Telegram server within 5 s of its due time`);
      if (i >= 10) latencies.push(message.at - (firedAt + groupWaitMs));
      // Resolve it, and let the group go, before the next one.
      rig.events.publish({ type: 'check', name: `bench${i}`, previous: 'critical', status: 'ok', message: 'ok', at: Date.now() });
    }
    return { kind: 'latency', unit: 'ms', summary: summarize(latencies), showMax: true, extra: { samples: latencies.length, groupWaitMs } };
  } finally {
    await rig.close();
  }
}
