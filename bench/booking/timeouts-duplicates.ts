/**
 * Never book twice: book_record answers lost (the server books, then says nothing) for every
 * booking; the service looks before it books again. Beside it, the naive client the old
 * system had: undici, no limiter, "any master" chosen afresh on every attempt, the same
 * request again on a timeout.
 */
import { Pool } from 'undici';
import type { ValueFigure } from '../support/suite.js';
import { bigSalon, startBookingRig, yclientsHeaders } from './booking-rig.js';

/** 15 masters × 7 days × 10 hours (the service takes an hour) = 1,050 slots. */
const MASTERS = 15;
const FIRST_MASTER = 9000;
const SLOTS = MASTERS * 7 * 10;

/** Slot n: master n % 15, then day and hour. */
function slot(n: number): { staff_id: number; datetime: string } {
  const k = Math.floor(n / MASTERS);
  const day = 1 + (k % 7);
  const hh = String(10 + (Math.floor(k / 7) % 10)).padStart(2, '0');
  return { staff_id: FIRST_MASTER + (n % MASTERS), datetime: `2026-12-0${day}T${hh}:00:00+03:00` };
}

export async function timeoutsWithoutDuplicates(bookings: number, perSecond: number): Promise<ValueFigure> {
  if (bookings > SLOTS) throw new Error(`at most ${SLOTS} bookings fit the salon, asked for ${bookings}`);
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
    const lost = rig.server.requests.filter((call) => call.endpoint === 'book_record' && call.status === 'hang').length;
    const duplicates = duplicateCount(rig.server.records.map((record) => record.api_id));
    return {
      kind: 'value',
      value: duplicates,
      unit: 'notifications',
      text: `${duplicates} duplicate records`,
      extra: { bookings, records: rig.server.records.length, failed, violations: rig.server.violations.length, lostAnswers: lost, requests: rig.server.requests.length },
    };
  } finally {
    await rig.close();
  }
}

/**
 * The old client: undici, its own pacing at `perClientPerSecond`, "any master" resolved by
 * asking book_staff which master is bookable at that time, and on a timeout the whole thing
 * again. After a lost answer the master it just booked is no longer bookable, so the retry
 * books the client with the next one: a second record for one request. Ten of them (ten
 * `new YclientsClient()`, each with its own limiter) also break the shared limit.
 */
export async function naiveDuplicates(bookings: number, clients: number, perClientPerSecond = 5): Promise<ValueFigure> {
  const rig = await startBookingRig({ perSecond: 5, perMinute: 200, salon: bigSalon(MASTERS) });
  const url = new URL(rig.server.url);
  const pool = new Pool(url.origin, { connections: 8, headersTimeout: 200, bodyTimeout: 200 });
  const headers = yclientsHeaders(rig.server);
  const pace = () => new Promise((resolve) => setTimeout(resolve, 1_000 / perClientPerSecond));
  let refused = 0;
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < bookings) {
        const n = next++;
        const { datetime } = slot(n);
        // The first answer of every booking is lost, as for ours.
        rig.server.loseAnswerNext('book_record', 1);
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            await pace();
            const staff = await pool.request({ method: 'GET', path: `${url.pathname}/book_staff/4564?service_ids%5B%5D=331&datetime=${encodeURIComponent(datetime)}`, headers });
            const master = (JSON.parse(await staff.body.text()) as { data?: { id: number; bookable: boolean }[] }).data?.find((candidate) => candidate.bookable);
            if (!master) break;
            await pace();
            const body = JSON.stringify({ phone: `7916${1_000_000 + n}`, fullname: `Client ${n}`, api_id: `naive-${n}`, appointments: [{ id: 0, services: [331], staff_id: master.id, datetime }] });
            const answer = await pool.request({ method: 'POST', path: `${url.pathname}/book_record/4564`, headers, body });
            await answer.body.text();
            if (answer.statusCode === 201) break;
            refused++;
          } catch {
            // timed out: the old client tried again
          }
        }
      }
    };
    await Promise.all(Array.from({ length: clients }, worker));
    const duplicates = duplicateCount(rig.server.records.map((record) => record.api_id));
    return {
      kind: 'value',
      value: duplicates,
      unit: 'notifications',
      text: `${duplicates} duplicate records (${rig.server.records.length} records for ${bookings} bookings), ${rig.server.violations.length} rate violations`,
      extra: { bookings, clients, records: rig.server.records.length, violations: rig.server.violations.length, refused },
    };
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
