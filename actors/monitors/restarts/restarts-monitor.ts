import type { Behaviour } from '../../../src/actor/behaviour.js';
import type { RuntimeEvent, RuntimeEvents } from '../../../src/events/runtime-events.js';
import type { CheckReport, HealthChecks } from '../../../src/health/health-checks.js';
import { durationText } from '../duration-text.js';
import { periodicCheck, type CheckRound, type MonitorMessage, type MonitorResults } from '../periodic-check.js';
import { RestartWindows } from './restart-windows.js';

/** The summary check; each storming actor has its own, `restarts:<path>`. */
export const RESTARTS_CHECK = 'restarts';

export function restartStormCheck(path: string): string {
  return `${RESTARTS_CHECK}:${path}`;
}

export interface RestartThresholds {
  /** Restarts of one actor within `windowMs` that make a storm (RESTART_ALERT_COUNT). */
  readonly count: number;
  /** RESTART_ALERT_WINDOW_MS. */
  readonly windowMs: number;
}

export interface RestartsMonitorOptions extends RestartThresholds {
  /** How often a storm that calmed is noticed without waiting for the next restart. */
  readonly intervalMs: number;
  readonly checks: HealthChecks;
  readonly events: Pick<RuntimeEvents, 'subscribe'>;
  /** Actor paths tracked at once (default 1,000); the least recently restarted are forgotten first. */
  readonly maxTracked?: number;
}

type RestartingEvent = Extract<RuntimeEvent, { readonly type: 'restarting' }>;

const DEFAULT_MAX_TRACKED = 1_000;
/** Storming actors the summary's message names; the rest are counted. */
const NAMED_IN_SUMMARY = 5;

/**
 * One critical check per actor with at least `count` restarts in the window, named for its
 * path, with the count in its data, and the `restarts` summary: critical while any actor
 * storms, naming how many. An actor that calmed has no check at all (not an `ok` one):
 * thousands of batchers restarting once each must not leave thousands of checks behind.
 */
export function classifyRestarts(counts: ReadonlyMap<string, number>, thresholds: RestartThresholds, at: Date): Map<string, CheckReport> {
  const iso = at.toISOString();
  const window = durationText(thresholds.windowMs);
  const reports = new Map<string, CheckReport>();
  const storms = [...counts].filter(([, count]) => count >= thresholds.count).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [actor, count] of storms) {
    reports.set(restartStormCheck(actor), {
      status: 'critical',
      message: `${actor} restarted ${count} times in the last ${window}`,
      at: iso,
      data: { actor, count, windowMs: thresholds.windowMs },
    });
  }
  const named = storms
    .slice(0, NAMED_IN_SUMMARY)
    .map(([actor, count]) => `${actor} (${count})`)
    .join(', ');
  const more = storms.length > NAMED_IN_SUMMARY ? ` and ${storms.length - NAMED_IN_SUMMARY} more` : '';
  reports.set(RESTARTS_CHECK, {
    status: storms.length > 0 ? 'critical' : 'ok',
    message:
      storms.length > 0
        ? `${storms.length} ${storms.length === 1 ? 'actor is' : 'actors are'} in a restart storm (${thresholds.count} or more restarts in ${window}): ${named}${more}`
        : `no restart storm (${thresholds.count} restarts of one actor within ${window} make one)`,
    at: iso,
    data: { storming: storms.length, count: thresholds.count, windowMs: thresholds.windowMs },
  });
  return reports;
}

/**
 * `monitors/restarts`: counts every supervisor restart per actor path over a sliding window on
 * the actor's clock and reports restart storms. Restarts an operator asked for, and a
 * dependency's outage restarts (the dependency's own check reports the outage), are not
 * storms. A storm is reported as soon as the restart that starts it is seen; while it lasts
 * the same check is refreshed (its count grows, no new transition); a round on the timer
 * removes it once the actor calms below the count, even if it never restarts again.
 */
export function restartsMonitor(options: RestartsMonitorOptions): Behaviour<MonitorMessage, MonitorResults> {
  const windows = new RestartWindows({ windowMs: options.windowMs, maxPaths: options.maxTracked ?? DEFAULT_MAX_TRACKED });
  const storming = new Set<string>();
  let unsubscribe: (() => boolean) | undefined;
  return periodicCheck({
    intervalMs: options.intervalMs,
    checks: options.checks,
    start(ctx) {
      // A function, not the mailbox: 10,000 restarts cost 10,000 slot increments, and the
      // actor hears only of a storm starting.
      const onRestart = (event: RestartingEvent): void => {
        if (event.manual || event.outage) return;
        const count = windows.record(event.path, event.at);
        if (count >= options.count && !storming.has(event.path)) {
          storming.add(event.path);
          ctx.self.tell({ type: 'check' });
        }
      };
      unsubscribe = options.events.subscribe(onRestart, { types: ['restarting'], name: ctx.path });
    },
    round(ctx): CheckRound {
      const now = ctx.clock.now();
      const counts = windows.sweep(now);
      storming.clear();
      for (const [path, count] of counts) if (count >= options.count) storming.add(path);
      const reports = classifyRestarts(counts, options, new Date(now));
      const summary = reports.get(RESTARTS_CHECK);
      if (summary) reports.set(RESTARTS_CHECK, { ...summary, data: { ...summary.data, tracked: windows.size, forgotten: windows.forgotten } });
      return reports;
    },
    stop() {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  });
}
