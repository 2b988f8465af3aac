/**
 * The dashboard suite: SSE bytes per second per client with 10,000 pending conversations and
 * 100 events a second (beside an idle runtime), and the time from an actor crash to the page's
 * DOM showing it in headless Chromium.
 */
import { makeRow, measure, type Row, type Suite, type SuiteResult } from '../support/suite.js';
import { crashToDom } from './crash-to-dom.js';
import { sseBytesPerClient } from './sse-bytes.js';

async function run(): Promise<SuiteResult> {
  const rows: Row[] = [];
  const loaded = await measure('SSE bytes/s, 10,000 pending conversations, 100 events/s (20 s)', () => sseBytesPerClient({ conversations: 10_000, eventsPerSecond: 100, seconds: 20 }));
  const idle = await measure('SSE bytes/s, idle runtime (20 s)', () => sseBytesPerClient({ conversations: 0, eventsPerSecond: 0, seconds: 20 }));
  rows.push(makeRow('SSE bytes per second per client (10,000 pending, 100 events/s)', loaded, [{ name: 'idle runtime', figure: idle }], null));
  rows.push(makeRow('actor crash → the page shows it (50 crashes, headless Chromium)', await measure('crash → DOM (50 crashes)', () => crashToDom(50)), [], { stat: 'p99', op: '<', value: 1_000, unit: 'ms' }));
  return {
    rows,
    notes: [
      'SSE: one client reading with fetch; the 100 events/s are check transitions over 10 checks (each a change of the checks section); the batchers are summarised, so 10,000 conversations are one row',
      'crash → DOM: a WhatsApp socket against a local server that closes every connection at once fails about once a second (WAR_ERR_WA_CLOSED); from the server stamping the connection to a MutationObserver in the page seeing the row\'s outage retries rise; includes the up to 250 ms coalescing',
    ],
    info: {},
  };
}

export const dashboardSuite: Suite = { name: 'dashboard', title: 'Dashboard: the event stream and the page', run };
