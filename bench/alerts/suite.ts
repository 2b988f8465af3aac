/**
 * The alerts suite: fan-in of an alert storm into grouped notifications (beside the old
 * one-message-per-event notifier), the latency from a group's due time to Telegram, and what
 * all the monitors cost at a 1 s interval.
 */
import { makeRow, measure, type Figure, type Row, type Suite, type SuiteResult } from '../support/suite.js';
import { dueToTelegramLatency } from './due-latency.js';
import { alertFanIn, naiveFanIn, type FanInPlan, type FanInResult } from './fan-in.js';
import { monitorsCpuShare } from './monitors-cost.js';

const PLAN: FanInPlan = { events: 10_000, fingerprints: 1_000, slices: 10 };

async function run(): Promise<SuiteResult> {
  const rows: Row[] = [];
  const notes: string[] = [];
  let fanIn: FanInResult | undefined;
  const grouped = await measure('fan-in: 10,000 events over 1,000 fingerprints (ours)', async () => {
    fanIn = await alertFanIn(PLAN);
    return fanIn.notifications;
  });
  const naive = await measure('fan-in sent naively: one Telegram message per event', () => naiveFanIn(PLAN));
  const naiveCount: Figure =
    naive.kind === 'throughput'
      ? { kind: 'value', value: PLAN.events, unit: 'notifications', text: `${PLAN.events.toLocaleString('en-US')} notifications (${(PLAN.events / 3600).toFixed(1)} h at 1 msg/s per chat)` }
      : naive;
  rows.push(
    makeRow('fan-in: notifications for 10,000 alert events (9 groups)', grouped, [{ name: 'one message per event', figure: naiveCount }], {
      stat: 'value',
      op: '<=',
      value: fanIn?.groups ?? 9,
      unit: 'notifications',
    }),
  );
  rows.push(
    makeRow(
      'fan-in: CPU per alert event (notifier)',
      fanIn ? fanIn.cpuPerEvent : grouped,
      naive.kind === 'throughput' && typeof naive.extra?.cpuPerEventUs === 'number'
        ? [{ name: 'one sendMessage per event', figure: { kind: 'value', value: naive.extra.cpuPerEventUs, unit: 'µs/event', text: `${naive.extra.cpuPerEventUs.toFixed(1)} µs CPU/event` } }]
        : [],
      null,
    ),
  );
  if (fanIn) notes.push(`fan-in: ${fanIn.groups} groups, ${fanIn.notifications.value} notifications, ${fanIn.telegramMessages} Telegram messages (a group of ~111 alerts is split at 4,096 characters); group wait 2 s for the run`);
  rows.push(
    makeRow('group due → Telegram request at the server', await measure('due → Telegram latency (300 samples)', () => dueToTelegramLatency(300)), [], { stat: 'p99', op: '<', value: 20, unit: 'ms' }),
  );
  rows.push(
    makeRow('all monitors at a 1 s interval: CPU share of one core', await measure('monitors cost (3 rounds × 2 × 10 s)', () => monitorsCpuShare({ seconds: 10, rounds: 3 })), [], {
      stat: 'value',
      op: '<',
      value: 1,
      unit: '% of a core',
    }),
  );
  notes.push('latency: one group at a time, group wait 20 ms; the server stamps arrival with Date.now() (1 ms resolution)');
  notes.push('monitors cost: a runtime with every monitor at 1 s (MONITOR_INTERVAL_MS, MEMORY_CHECK_INTERVAL_MS, CANARY_INTERVAL_MS; redis and canary included) against the same runtime with them at 1 h, taking turns (3 rounds of 10 s each, medians), CPU by process.cpuUsage, idle otherwise; the figure is the difference, the share of the whole runtime is in the JSON (busyPercent)');
  return { rows, notes, info: { plan: PLAN } };
}

export const alertsSuite: Suite = { name: 'alerts', title: 'Alerts: fan-in, due latency, monitor cost', run };
