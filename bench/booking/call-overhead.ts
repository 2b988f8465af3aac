/**
 * What the service adds to a call below the limit (validation, limiter, breaker, answer
 * checks): the same lookup through it and as a bare undici request, and a second bare request
 * as a control, in turns whose order rotates, paced under the service's limit so that the
 * limiter lets each call go at once (that is the case measured: a call that must wait its turn
 * is waiting, not overhead).
 *
 * The overhead is read as ours' quantile minus bare's (p50 − p50, p99 − p99): how much later
 * ours' median and tail answer. The per-sample difference (ours_i − bare_i) is shown too, with
 * the control's (bare'_i − bare_i): two draws of the same request differ by the machine's own
 * jitter, so a per-sample p99 measures that jitter, not what the service adds.
 */
import { Pool } from 'undici';
import type { LatencyFigure } from '../support/suite.js';
import { summarize } from '../support/stats.js';
import { nowNs, nsToUs } from '../support/timing.js';
import { startBookingRig, yclientsHeaders } from './booking-rig.js';

export interface CallOverhead {
  readonly ours: LatencyFigure;
  readonly bare: LatencyFigure;
  /** ours_i − bare_i per sample. */
  readonly perSample: LatencyFigure;
  /** bare'_i − bare_i per sample: the same request twice. */
  readonly control: LatencyFigure;
  /** ours' quantile − bare's (p50, p90, p99; the rest not defined for a difference of quantiles). */
  readonly overhead: LatencyFigure;
}

/** The service's limit (100/s) and the pause between turns (15 ms: ~60 turns/s, each ours below the limit). */
const LIMIT_PER_SECOND = 100;
const TURN_GAP_MS = 15;
const WARMUP = 50;

export async function callOverhead(samples: number): Promise<CallOverhead> {
  // The bare requests use the same token: the server's own limit is off so that they are not counted against ours.
  const rig = await startBookingRig({ perSecond: LIMIT_PER_SECOND, perMinute: LIMIT_PER_SECOND * 60, server: { perSecond: 1_000_000, perMinute: 1_000_000 } });
  const url = new URL(rig.server.url);
  const pool = new Pool(url.origin, { connections: 4 });
  const path = `${url.pathname}/book_times/4564/6544/2026-12-03?service_ids%5B%5D=331`;
  const headers = yclientsHeaders(rig.server);
  const ours: number[] = [];
  const bare: number[] = [];
  const control: number[] = [];
  const timed = async (into: number[], call: () => Promise<unknown>, keep: boolean): Promise<void> => {
    const started = nowNs();
    await call();
    if (keep) into.push(nsToUs(nowNs() - started));
  };
  const viaService = () => rig.service.times({ staff_id: 6544, date: '2026-12-03', service_ids: [331] });
  const viaUndici = async () => {
    const answer = await pool.request({ method: 'GET', path, headers });
    return JSON.parse(await answer.body.text()) as unknown;
  };
  try {
    for (let i = 0; i < samples + WARMUP; i++) {
      await new Promise((resolve) => setTimeout(resolve, TURN_GAP_MS));
      const keep = i >= WARMUP;
      const turn = [() => timed(ours, viaService, keep), () => timed(bare, viaUndici, keep), () => timed(control, viaUndici, keep)];
      // Rotate who goes first: the first request after the pause pays the wake-up.
      for (let k = 0; k < turn.length; k++) await (turn[(i + k) % turn.length] as () => Promise<void>)();
    }
    if (rig.server.violations.length > 0) throw new Error(`the overhead run broke the server's limit ${rig.server.violations.length} times`);
    const oursSummary = summarize(ours);
    const bareSummary = summarize(bare);
    return {
      ours: { kind: 'latency', unit: 'µs', summary: oursSummary },
      bare: { kind: 'latency', unit: 'µs', summary: bareSummary },
      perSample: { kind: 'latency', unit: 'µs', summary: summarize(ours.map((value, index) => value - (bare[index] ?? 0))) },
      control: { kind: 'latency', unit: 'µs', summary: summarize(control.map((value, index) => value - (bare[index] ?? 0))) },
      overhead: {
        kind: 'latency',
        unit: 'µs',
        summary: { samples, min: Number.NaN, p50: oursSummary.p50 - bareSummary.p50, p90: oursSummary.p90 - bareSummary.p90, p99: oursSummary.p99 - bareSummary.p99, max: Number.NaN, mean: oursSummary.mean - bareSummary.mean },
        extra: { samples, limitPerSecond: LIMIT_PER_SECOND, turnGapMs: TURN_GAP_MS },
      },
    };
  } finally {
    await pool.close();
    await rig.close();
  }
}
