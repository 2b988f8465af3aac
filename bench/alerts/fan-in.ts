/**
 * Fan-in: a burst of alert events (10,000 over 1,000 fingerprints and every rule, in one
 * second) through the real notifier and Telegram channel. What an operator's phone gets is
 * one notification per group; beside it, the same burst sent the way the old notifier did
 * (one Telegram message per event).
 */
import { Api } from 'grammy';
import type { RuntimeEvent } from '../../src/events/runtime-events.js';
import type { ThroughputFigure, ValueFigure } from '../support/suite.js';
import { sleep, yieldToLoop } from '../support/timing.js';
import { TelegramServer } from '../../test/support/telegram-server.js';
import { BENCH_BOT_TOKEN, startAlertRig } from './alert-rig.js';

export interface FanInPlan {
  readonly events: number;
  readonly fingerprints: number;
  /** The burst is published in this many slices spread over one second. */
  readonly slices: number;
}

/** One event per rule family, for fingerprint `i` of that family. */
const FAMILIES: readonly ((i: number, at: number) => RuntimeEvent)[] = [
  (i, at) => ({ type: 'check', name: `whatsapp:salon${i}`, previous: 'warn', status: 'critical', message: `session salon${i} not open for 60 s`, at }),
  (i, at) => ({ type: 'check', name: `restarts:/batchers/s1:7916${i}`, previous: 'absent', status: 'critical', message: 'restarted 12 times in 5 min', at }),
  (i, at) => ({ type: 'check', name: `canary:svc${i}`, previous: 'warn', status: 'critical', message: 'HTTP 503 in 12 ms', at }),
  (i, at) => ({ type: 'check', name: `alert-channel:c${i}`, previous: 'warn', status: 'critical', message: 'down', at }),
  (i, at) => ({ type: 'check', name: `activity:salon${i}`, previous: 'ok', status: 'warn', message: 'nothing received for 2 h', at }),
  (i, at) => ({ type: 'check', name: `whatsapp-decrypt:salon${i}`, previous: 'ok', status: 'warn', message: '900 decrypt errors per minute', at }),
  (i, at) => ({ type: 'check', name: `probe${i}`, previous: 'ok', status: 'critical', message: 'failing', at }),
  (i, at) => ({ type: 'gave_up', path: `/whatsapp/salon${i}/socket`, attempts: 10, at }),
  (i, at) => ({ type: 'dead_lettered', batchId: `b${i}-${at}`, sessionId: 'salon1', phone: `7916${String(i).padStart(7, '0')}`, attempts: 5, error: 'webhook answered 500', at }),
];

export interface FanInResult {
  readonly notifications: ValueFigure;
  readonly telegramMessages: number;
  readonly cpuPerEvent: ValueFigure;
  readonly groups: number;
}

export async function alertFanIn(plan: FanInPlan): Promise<FanInResult> {
  const groupWaitMs = 2_000;
  const rig = await startAlertRig({ groupWaitMs, groupIntervalMs: 300_000 });
  try {
    const perFamily = Math.ceil(plan.fingerprints / FAMILIES.length);
    const perSlice = Math.ceil(plan.events / plan.slices);
    const processedBefore = rig.notifierProcessed();
    const cpuBefore = process.cpuUsage();
    let published = 0;
    for (let slice = 0; slice < plan.slices && published < plan.events; slice++) {
      const at = Date.now();
      for (let k = 0; k < perSlice && published < plan.events; k++, published++) {
        const fingerprint = published % plan.fingerprints;
        const family = FAMILIES[fingerprint % FAMILIES.length]!;
        rig.events.publish(family(Math.floor(fingerprint / FAMILIES.length) % perFamily, at));
      }
      await sleep(1_000 / plan.slices);
    }
    // Processed: every event taken by the notifier (the bus tells it one message per event).
    while (rig.notifierProcessed() - processedBefore < published || rig.notifierDepth() > 0) await yieldToLoop();
    const cpu = process.cpuUsage(cpuBefore);
    const cpuUs = cpu.user + cpu.system;
    // Past the group wait: every group's first notification has been made and sent.
    await sleep(groupWaitMs + 1_500);
    const deadline = Date.now() + 10_000;
    while (rig.telegram.messages.length < rig.notifications.length && Date.now() < deadline) await sleep(20);
    return {
      notifications: { kind: 'value', value: rig.notifications.length, unit: 'notifications', text: `${rig.notifications.length} notifications`, extra: { telegramMessages: rig.telegram.messages.length, events: published } },
      telegramMessages: rig.telegram.messages.length,
      cpuPerEvent: { kind: 'value', value: cpuUs / published, unit: 'µs/event', text: `${(cpuUs / published).toFixed(1)} µs CPU/event`, extra: { cpuMs: Math.round(cpuUs / 1000) } },
      groups: new Set(rig.notifications.map((n) => n.notification.groupKey)).size,
    };
  } finally {
    await rig.close();
  }
}

/** The old way: one Telegram message per event, to the same local server (no pacing: Telegram would take one a second). */
export async function naiveFanIn(plan: FanInPlan, concurrency = 16): Promise<ThroughputFigure> {
  const telegram = new TelegramServer();
  const root = await telegram.listen();
  const api = new Api(BENCH_BOT_TOKEN, { apiRoot: root });
  try {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plan.events) {
        const i = next++;
        await api.sendMessage('1001', `alert ${i}: session salon${i % plan.fingerprints} down`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      kind: 'throughput',
      msgsPerSec: plan.events / seconds,
      pick: 'median',
      runs: [plan.events / seconds],
      messagesPerRun: plan.events,
      extra: { telegramMessages: telegram.messages.length, atTelegramsRateS: plan.events, cpuPerEventUs: (cpu.user + cpu.system) / plan.events },
    };
  } finally {
    await telegram.close();
  }
}
