import type { CheckReport, CheckStatus } from '../../../src/health/health-checks.js';
import type { ProbeOutcome } from './canary-probe.js';

/** Gatus' thresholds: how many results in a row change a target's state. */
export interface CanaryThresholds {
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

/** One target's standing: up or down, and the current runs of results. */
export interface CanaryState {
  readonly up: boolean;
  readonly failuresInARow: number;
  readonly successesInARow: number;
}

/** A target is presumed up until it is proven down: a runtime that starts must not alert on services it has not asked yet. */
export const INITIAL_CANARY_STATE: CanaryState = Object.freeze({ up: true, failuresInARow: 0, successesInARow: 0 });

/**
 * Gatus' rule: an up target goes down after `failureThreshold` failures in a row, a down one
 * comes back after `successThreshold` successes in a row; a result of the other kind breaks the run.
 */
export function nextCanaryState(state: CanaryState, success: boolean, thresholds: CanaryThresholds): CanaryState {
  if (success) {
    const successesInARow = state.successesInARow + 1;
    return { up: state.up || successesInARow >= thresholds.successThreshold, failuresInARow: 0, successesInARow };
  }
  const failuresInARow = state.failuresInARow + 1;
  return { up: state.up && failuresInARow < thresholds.failureThreshold, failuresInARow, successesInARow: 0 };
}

/** Down is critical; up but failing (below the threshold) warns, so an operator sees it coming. */
export function canaryStatus(state: CanaryState): CheckStatus {
  if (!state.up) return 'critical';
  return state.failuresInARow > 0 ? 'warn' : 'ok';
}

/** The `canary:<name>` check for a target after its latest result. `url` is already redacted. */
export function canaryReport(target: { readonly name: string; readonly url: string }, state: CanaryState, outcome: ProbeOutcome, thresholds: CanaryThresholds, at: Date): CheckReport {
  const status = canaryStatus(state);
  const result = outcome.failure ?? `HTTP ${outcome.statusCode ?? '-'}`;
  const timing = `(${outcome.responseTimeMs} ms)`;
  let message: string;
  if (status === 'ok') message = `${target.name}: ${result} ${timing}`;
  else if (status === 'warn') message = `${target.name} failing (${state.failuresInARow} of ${thresholds.failureThreshold} before down): ${result} ${timing}`;
  else if (outcome.failure === undefined) message = `${target.name} is down, recovering (${state.successesInARow} of ${thresholds.successThreshold} successes): ${result} ${timing}`;
  else message = `${target.name} is down (${state.failuresInARow} failures in a row): ${result} ${timing}`;
  return {
    status,
    message,
    at: at.toISOString(),
    data: {
      url: target.url,
      statusCode: outcome.statusCode,
      responseTimeMs: outcome.responseTimeMs,
      failuresInARow: state.failuresInARow,
      successesInARow: state.successesInARow,
    },
  };
}
