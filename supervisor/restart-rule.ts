import type { ExitReason } from '../src/actor/behaviour.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { RestartIntensity } from './restart-intensity.js';

/**
 * - `permanent`: always restarted, even after a normal exit;
 * - `transient`: restarted only after a failure;
 * - `temporary`: never restarted.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

export type RestartDecision =
  | { readonly action: 'none' }
  | { readonly action: 'restart'; readonly attempt: number; readonly delayMs: number; readonly baseMs: number }
  | { readonly action: 'give_up'; readonly attempts: number }
  | { readonly action: 'escalate'; readonly restartsInWindow: number };

export interface RestartInput {
  restart: RestartType;
  reason: ExitReason;
  /** Consecutive restarts so far without a stable run. */
  attempts: number;
  /** How long the incarnation that ended had been running. */
  ranForMs: number;
  backoff: BackoffOptions;
  intensity: RestartIntensity;
  now: number;
  random: () => number;
}

export function needsRestart(restart: RestartType, reason: ExitReason): boolean {
  if (reason.kind === 'shutdown') return false;
  if (restart === 'permanent') return true;
  if (restart === 'transient') return reason.kind === 'failure';
  return false;
}

/**
 * The restart rule, in one place. In order:
 * 1. an exit the restart type does not restart needs nothing;
 * 2. a run of at least `resetAfterMs` resets the attempt count;
 * 3. a restart that exceeds the supervisor's intensity escalates;
 * 4. more than `maxAttempts` consecutive restarts gives the child up;
 * 5. otherwise restart after the backoff delay of this attempt.
 */
export function decideRestart(input: RestartInput): RestartDecision {
  if (!needsRestart(input.restart, input.reason)) return { action: 'none' };
  const attempts = input.ranForMs >= input.backoff.resetAfterMs ? 0 : input.attempts;
  if (input.intensity.record(input.now)) return { action: 'escalate', restartsInWindow: input.intensity.recent };
  const attempt = attempts + 1;
  if (attempt > input.backoff.maxAttempts) return { action: 'give_up', attempts };
  const { delayMs, baseMs } = backoffDelay(attempt, input.backoff, input.random);
  return { action: 'restart', attempt, delayMs, baseMs };
}
