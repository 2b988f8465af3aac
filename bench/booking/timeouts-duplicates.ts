/**
 * Never book twice: book_record answers lost (the server books, then says nothing) for every
 * booking; the service looks before it books again. Beside it, the naive client the old
 * system had: undici, no limiter, the same request again on a timeout.
 */
import { Pool } from 'undici';
import type { ValueFigure } from '../support/suite.js';
import { bigSalon, startBookingRig } from './booking-rig.js';

const MASTERS = 10;
/** Slot n: master n % 10, then day and hour (the service takes an hour): 7 days × 10 hours × 10 masters = 700 slots. */
function slot(n: number): { staff_id: number; datetime: string } {
  const k = Math.floor(n / MASTERS);
  const day = 1 + (k % 7);
  const hh = String(10 + (Math.floor(k / 7) % 10)).padStart(2, '0');
  return { staff_id: 9000 + (n % MASTERS), datetime: `2026-12-0${day}T${hh}:00:00+03:00` };
}

export async function timeoutsWithoutDuplicates(bookings: number, perSecond: number): Promise<ValueFigure> {
  const rig = await startBookingRig({ perSecond, perMinute: perSecond * 60, timeoutMs: 200, salon: bigSalon(MASTERS) });
  try {
    rig.server.loseAnswerNext('book_record', bookings);
    const results = await Promise.allSettled(
      Array.from({ length: bookings }, (_, n) => {
        const { staff_id, datetime } = slot(n);
        return rig.service.book({ phone: `+7916${String(1_000_000 + n)}`, fullname: `Client ${n}`, api_id: `bench-${n}`, appointments: [{ id: 0, services: [331], staff_id, datetime }] });
      }),
    );
    const failed = results.filter((result) => result.status === 'rejected').length;
    const duplicates = duplicateCount(rig.server.records.map((record) => record.api_id));
    return { kind: 'value', value: duplicates, unit: 'notifications', text: `${duplicates} duplicate records`, extra: { bookings, records: rig.server.records.length, failed, violations: rig.server.violations.length, lostAnswers: bookings } };
  } finally {
    await rig.close();
  }
}

/**
 * The old client: undici, its own pacing at `perClientPerSecond`, the same request again on a
 * timeout. One of them books twice; ten of them (ten `new YclientsClient()`, each with its own
 * limiter) also break the shared limit.
 */
export async function naiveDuplicates(bookings: number, clients: number, perClientPerSecond = 5): Promise<ValueFigure> {
  const rig = await startBookingRig({ perSecond: 5, perMinute: 200, salon: bigSalon(MASTERS) });
  const url = new URL(rig.server.url);
  const pool = new Pool(url.origin, { connections: 8, headersTimeout: 200, bodyTimeout: 200 });
  const headers = { accept: 'application/vnd.yclients.v2+json', authorization: `Bearer ${rig.server.partnerToken}, User ${rig.server.userToken}`, 'content-type': 'application/json' };
  try {
    rig.server.loseAnswerNext('book_record', bookings);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < bookings) {
        const n = next++;
        const { staff_id, datetime } = slot(n);
        const body = JSON.stringify({ phone: `7916${1_000_000 + n}`, fullname: `Client ${n}`, api_id: `naive-${n}`, appointments: [{ id: 0, services: [331], staff_id, datetime }] });
        for (let attempt = 0; attempt < 2; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 1_000 / perClientPerSecond));
          try {
            const answer = await pool.request({ method: 'POST', path: `${url.pathname}/book_record/4564`, headers, body });
            await answer.body.text();
            break;
          } catch {
            // timed out: the old client sent it again
          }
        }
      }
    };
    await Promise.all(Array.from({ length: clients }, worker));
    const duplicates = duplicateCount(rig.server.records.map((record) => record.api_id));
    return { kind: 'value', value: duplicates, unit: 'notifications', text: `${duplicates} duplicate records, ${rig.server.violations.length} rate violations`, extra: { bookings, clients, records: rig.server.records.length, violations: rig.server.violations.length } };
  } finally {
    await pool.close();
    await rig.close();
  }
}

function duplicateCount(apiIds: readonly string[]): number {
  const seen = new Map<string, number>();
  for (const id of apiIds) seen.set(id, (seen.get(id) ?? 0) + 1);
  let duplicates = 0;
  for (const count of seen.values()) if (count > 1) duplicates += count - 1;
  return duplicates;
}
