/**
 * A backlog of lookups (all at once) through the one limiter: the rate YClients sees, and the
 * violations its server counts.
 */
import type { ThroughputFigure } from '../support/suite.js';
import { SALON_DAYS, startBookingRig } from './booking-rig.js';

export async function rateUnderBacklog(options: { requests: number; perSecond: number; perMinute: number }): Promise<ThroughputFigure> {
  const rig = await startBookingRig({ perSecond: options.perSecond, perMinute: options.perMinute });
  try {
    const lookups = Array.from({ length: options.requests }, (_, i) => rig.service.times({ staff_id: i % 2 === 0 ? 6544 : 6545, date: SALON_DAYS[i % SALON_DAYS.length]!, service_ids: [331] }));
    const results = await Promise.allSettled(lookups);
    const failed = results.filter((result) => result.status === 'rejected').length;
    const calls = rig.server.requests.filter((call) => call.endpoint === 'book_times');
    const first = calls[0]?.at ?? 0;
    const last = calls.at(-1)?.at ?? 0;
    // n requests span n - 1 intervals: the rate the server saw between the first and the last.
    const rate = calls.length > 1 ? ((calls.length - 1) * 1000) / (last - first) : 0;
    return {
      kind: 'throughput',
      msgsPerSec: rate,
      unit: 'req/s',
      pick: 'median',
      runs: [rate],
      messagesPerRun: calls.length,
      extra: { limitPerSecond: options.perSecond, ofLimit: Number((rate / options.perSecond).toFixed(4)), violations: rig.server.violations.length, failed },
    };
  } finally {
    await rig.close();
  }
}
