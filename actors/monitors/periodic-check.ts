import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import type { CheckReport, CheckStatus, HealthChecks } from '../../src/health/health-checks.js';

/** `check` runs a round now (its answer is the fresh results); `status` answers the last ones. */
export type MonitorMessage = { readonly type: 'check' } | { readonly type: 'status' };

/** A monitor's current results by check name (what `check` and `status` answer). */
export type MonitorResults = Readonly<Record<string, CheckReport>>;

/**
 * One round's results by check name. `undefined`: not known this round (a session that did
 * not answer), so the last result stands rather than flapping to absent and back. A name
 * reported before and left out now is removed (a storm that calmed, a session that went away).
 */
export type CheckRound = ReadonlyMap<string, CheckReport | undefined>;

export interface PeriodicCheckOptions {
  readonly intervalMs: number;
  readonly checks: HealthChecks;
  /** Computes one round. It must not throw for a dependency being down: that is a status. */
  round(ctx: ActorContext<MonitorMessage>): CheckRound | Promise<CheckRound>;
  /** Runs before the first round (a subscription, a histogram to enable). */
  start?(ctx: ActorContext<MonitorMessage>): void;
  /** Runs when the incarnation ends, before its checks are removed. */
  stop?(): void;
}

const SEVERITY: Readonly<Record<CheckStatus, number>> = { ok: 0, warn: 1, critical: 2 };

/** The worst of some statuses; `ok` for none. */
export function worstStatus(statuses: Iterable<CheckStatus>): CheckStatus {
  let worst: CheckStatus = 'ok';
  for (const status of statuses) if (SEVERITY[status] > SEVERITY[worst]) worst = status;
  return worst;
}

/**
 * The behaviour every polling monitor shares: a round at start and every `intervalMs` on the
 * actor's clock, its reports published as health checks, one log line per change of a check's
 * status (never one per round), the results in the tree node's detail, and every check it
 * reported removed when the incarnation ends, so a stopped monitor leaves no stale `ok`.
 * Rounds are serialised by the mailbox; a periodic tick never queues a second one behind a slow round.
 */
export function periodicCheck(options: PeriodicCheckOptions): Behaviour<MonitorMessage, MonitorResults> {
  const current = new Map<string, CheckReport>();
  const results = (): MonitorResults => Object.fromEntries(current);

  const apply = (round: CheckRound, ctx: ActorContext<MonitorMessage>): void => {
    for (const name of [...current.keys()]) {
      if (round.has(name)) continue;
      current.delete(name);
      options.checks.remove(name);
    }
    for (const [name, report] of round) {
      if (!report) continue;
      const previous = current.get(name);
      if (previous?.status !== report.status) {
        if (report.status !== 'ok') ctx.log.warn({ check: name, status: report.status, ...report.data }, report.message);
        else if (previous) ctx.log.info({ check: name, status: report.status }, report.message);
      }
      current.set(name, report);
      options.checks.report(name, report);
    }
    const statuses = [...current.values()].map((report) => report.status);
    const only = current.size === 1 ? ([...current.values()][0] as CheckReport) : undefined;
    ctx.setDetail(
      only
        ? { status: only.status, ...only.data }
        : { status: worstStatus(statuses), checks: current.size, warn: statuses.filter((s) => s === 'warn').length, critical: statuses.filter((s) => s === 'critical').length },
    );
  };

  return {
    start(ctx) {
      options.start?.(ctx);
      ctx.timers.every('check', options.intervalMs, { type: 'check' });
      ctx.self.tell({ type: 'check' });
    },
    async receive(message, ctx) {
      if (message.type === 'status') return results();
      apply(await options.round(ctx), ctx);
      return results();
    },
    stop() {
      options.stop?.();
      for (const name of current.keys()) options.checks.remove(name);
      current.clear();
    },
  };
}
