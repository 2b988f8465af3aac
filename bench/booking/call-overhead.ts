/**
 * What the service adds to a call below the limit (validation, limiter, breaker, answer
 * checks): the same lookups through it and as bare undici requests, taking turns.
 */
import { Pool } from 'undici';
import type { LatencyFigure } from '../support/suite.js';
import { summarize } from '../support/stats.js';
import { nowNs, nsToUs } from '../support/timing.js';
import { startBookingRig } from './booking-rig.js';

export async function callOverhead(samples: number): Promise<{ ours: LatencyFigure; bare: LatencyFigure; overhead: LatencyFigure }> {
  const rig = await startBookingRig({ perSecond: 1_000_000, perMinute: 60_000_000 });
  const url = new URL(rig.server.url);
  const pool = new Pool(url.origin, { connections: 4 });
  const path = `${url.pathname}/book_times/4564/6544/2026-12-03?service_ids%5B%5D=331`;
  const headers = { accept: 'application/vnd.yclients.v2+json', authorization: `Bearer ${rig.server.partnerToken}, User ${rig.server.userToken}`, 'content-type': 'application/json' };
  const ours: number[] = [];
  const bare: number[] = [];
  try {
    for (let i = 0; i < samples + 50; i++) {
      let started = nowNs();
      await rig.service.times({ staff_id: 6544, date: '2026-12-03', service_ids: [331] });
      const a = nsToUs(nowNs() - started);
      started = nowNs();
      const answer = await pool.request({ method: 'GET', path, headers });
      JSON.parse(await answer.body.text());
      const b = nsToUs(nowNs() - started);
      if (i >= 50) {
        ours.push(a);
        bare.push(b);
      }
    }
    const sortedDiffs = ours.map((value, index) => value - (bare[index] ?? 0));
    return {
      ours: { kind: 'latency', unit: 'µs', summary: summarize(ours) },
      bare: { kind: 'latency', unit: 'µs', summary: summarize(bare) },
      overhead: { kind: 'latency', unit: 'µs', summary: summarize(sortedDiffs), extra: { samples } },
    };
  } finally {
    await pool.close();
    await rig.close();
  }
}
