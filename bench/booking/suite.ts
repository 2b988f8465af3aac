/**
 * The booking suite: the rate YClients sees under a backlog, what the service adds to a call,
 * and lost book_record answers without a duplicate record, beside a naive client.
 */
import { makeRow, measure, type Figure, type Row, type Suite, type SuiteResult } from '../support/suite.js';
import { callOverhead } from './call-overhead.js';
import { rateUnderBacklog } from './rate-under-backlog.js';
import { naiveDuplicates, timeoutsWithoutDuplicates } from './timeouts-duplicates.js';

async function run(): Promise<SuiteResult> {
  const rows: Row[] = [];
  const atLimit = await measure('200 lookups at the documented 5/s (one minute of its 200/min)', () => rateUnderBacklog({ requests: 200, perSecond: 5, perMinute: 200 }));
  rows.push(makeRow('backlog of 200 at 5/s: rate the server saw', atLimit, [], { stat: 'req/s', op: '>=', value: 4.9, unit: 'req/s' }));
  const backlog = await measure('backlog of 1,000 lookups at 50/s (limits ×10 on both sides)', () => rateUnderBacklog({ requests: 1_000, perSecond: 50, perMinute: 3_000 }));
  rows.push(makeRow('backlog of 1,000 at 50/s: rate the server saw', backlog, [], { stat: 'req/s', op: '>=', value: 49, unit: 'req/s' }));
  let overhead: Awaited<ReturnType<typeof callOverhead>> | undefined;
  const overheadFigure = await measure('call overhead below the limit (2,000 samples)', async () => {
    overhead = await callOverhead(2_000);
    return overhead.overhead;
  });
  rows.push(makeRow('overhead per call below the limit (ours − bare undici, per sample)', overheadFigure, overhead ? [{ name: 'ours', figure: overhead.ours }, { name: 'bare undici', figure: overhead.bare }] : [], { stat: 'p99', op: '<', value: 1, unit: 'ms' }));
  const ours = await measure('100 lost book_record answers (ours, 10/s)', () => timeoutsWithoutDuplicates(100, 10));
  const naiveOne = await measure('one naive client: 50 lost answers, retried blindly', () => naiveDuplicates(50, 1));
  const naiveTen = await measure('ten naive clients, each paced at 5/s: 50 lost answers', () => naiveDuplicates(50, 10));
  rows.push(
    makeRow('duplicate records after lost book_record answers', ours, [
      { name: 'one naive client (50 bookings)', figure: naiveOne as Figure },
      { name: 'ten naive clients (50 bookings)', figure: naiveTen as Figure },
    ], { stat: 'value', op: '<=', value: 0, unit: 'notifications' }),
  );
  const notes = [
    'rates: the server counts arrivals per token in sliding 1 s and 60 s windows and answers 429 to anything over (`violations`); the rate is (n − 1) / (last − first arrival)',
    'the 1,000-request backlog runs with both limits ×10 (50/s, 3,000/min): at the documented 5/s and 200/min, 1,000 requests take 5 minutes and the per-minute limit, not 5/s, sets the rate; the 200-request row is the documented limit itself',
    'duplicates: every book_record is carried out by the server and its answer never sent; the service times out (200 ms), looks the day up for its api_id, and answers the record it finds (10/s on both sides: each booking is ~4 requests); the naive clients time out too and send the same request again',
  ];
  return { rows, notes, info: {} };
}

export const bookingSuite: Suite = { name: 'booking', title: 'Booking: rate limit, overhead, never twice', run };
