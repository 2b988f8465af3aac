/**
 * From a group's due time (its first alert plus the group wait) to the Telegram request
 * reaching the local Bot API server: the notifier's timer, the flush, the channel actor and
 * grammY's request. One group at a time, so each sample is one notification's path alone.
 */
import type { LatencyFigure } from '../support/suite.js';
import { summarize } from '../support/stats.js';
import { sleep } from '../support/timing.js';
import { startAlertRig } from './alert-rig.js';

const GROUP_INTERVAL_MS = 50;

export async function dueToTelegramLatency(samples: number, groupWaitMs = 20): Promise<LatencyFigure> {
  // A short group interval lets each sample's group resolve and go before the next one.
  const rig = await startAlertRig({ groupWaitMs, groupIntervalMs: GROUP_INTERVAL_MS });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples + 10; i++) {
      const before = rig.telegram.messages.length;
      const firedAt = Date.now();
      // Each sample is a group of its own: the previous one has resolved and gone.
      rig.events.publish({ type: 'check', name: `bench${i}`, previous: 'absent', status: 'critical', message: 'probe', at: firedAt });
      const deadline = firedAt + groupWaitMs + 5_000;
      while (rig.telegram.messages.length === before && Date.now() < deadline) await sleep(1);
      const message = rig.telegram.messages[before];
      if (!message) throw new Error(`notification ${i} did not reach the Telegram server within 5 s of its due time`);
      if (i >= 10) latencies.push(message.at - (firedAt + groupWaitMs));
      // Resolve it, and let the group (and its resolved notice) go before the next sample.
      rig.events.publish({ type: 'check', name: `bench${i}`, previous: 'critical', status: 'ok', message: 'ok', at: Date.now() });
      const gone = Date.now() + 5_000;
      while ((rig.groupCount() > 0 || rig.telegram.messages.length < before + 2) && Date.now() < gone) await sleep(2);
      if (rig.groupCount() > 0) throw new Error(`the group of sample ${i} did not resolve and go within 5 s`);
      // An emptied group lingers, unlisted, until its next flush (so a new alert cannot skip
      // the group interval): past that, the next sample starts a group of its own again.
      await sleep(GROUP_INTERVAL_MS + 10);
    }
    return { kind: 'latency', unit: 'ms', summary: summarize(latencies), showMax: true, extra: { samples: latencies.length, groupWaitMs } };
  } finally {
    await rig.close();
  }
}
