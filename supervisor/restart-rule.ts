import type { ExitReason } from '../src/actor/behaviour.js';
import { anyErrorCode } from '../src/errors.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { IntensityOptions } from './restart-intensity.js';
import type { Strategy } from './strategy.js';
import { restartSet } from './strategy.js';

/**
 * Every rule a supervisor applies when a child ends, and every default it applies them
 * with, in one file. The supervisor (supervisor-behaviour.ts) only carries decisions out.
 *
 * - restart types: `permanent` is always restarted, `transient` only after a failure,
 *   `temporary` never;
 * - backoff: the n-th consecutive restart waits `min(initial * 2^(n-1), max)` plus jitter;
 *   a run of `resetAfterMs` resets the count;
 * - intensity: more than `maxRestarts` restarts within `withinMs` fails the supervisor
 *   (escalates to its parent);
 * - give-up: more than `maxAttempts` consecutive restarts gives the child up; then its
 *   supervisor escalates, or (`onGiveUp: 'stay_down'`) leaves it failed;
 * - dependencies: a child that owns a connection to something outside the process (the
 *   store, a WhatsApp socket, the booking API, an alert channel) is a dependency child. Its
 *   outages (see `isOutage`) are retried for ever at the capped backoff: they never count
 *   toward giving up, nor toward the supervisor's intensity, and never escalate. An outage is
 *   a state the health checks report, not a reason to take the tree down. Any other failure
 *   of a dependency child (a bug) is handled like any child's;
 * - passivation race: a dynamic child that ends normally while mail waits for it is started
 *   again at once to handle it (as Akka's sharding does): not a failure, no backoff;
 * - group restarts: the strategy's set goes down together and comes back in start order;
 *   as in OTP, a `temporary` sibling taken down with the set is not brought back;
 * - an operator's restart: at once, with the backoff count reset, not counted against the
 *   intensity.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/** The field's numbers: 3 s, 6 s, 12 s, 24 s, 48 s, then 60 s, at most 10 attempts. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialMs: 3_000,
  maxMs: 60_000,
  maxAttempts: 10,
  multiplier: 2,
  jitter: 0.2,
  resetAfterMs: 60_000,
});

/** OTP's default is 1 in 5 s; the runtime's supervisors set their own (strict at the top, generous at the leaves). */
export const DEFAULT_INTENSITY: Readonly<IntensityOptions> = Object.freeze({ maxRestarts: 10, withinMs: 60_000 });

/** OTP's ordered-stop budget of a worker; a supervisor waits for its whole subtree. */
export const DEFAULT_ACTOR_SHUTDOWN_MS = 5_000;

/** A dependency child's declaration (`ChildSpec.dependency`). */
export interface DependencyOptions {
  /** What is outside the process, for checks and events: `redis`, `whatsapp:salon1`. */
  readonly name: string;
  /** Which failures are the dependency being down; by default `isOutage`. */
  readonly isOutage?: (error: Error) => boolean;
}

/**
 * Codes that say "what I talk to is not there", ours and the network stack's. A dependency
 * child's start that timed out counts too: its start waits on the connection (a Redis still
 * loading its append-only file, an auth store holding commands while Redis is away).
 */
const OUTAGE_CODES: ReadonlySet<string> = new Set([
  'WAR_ERR_STORE_UNAVAILABLE',
  'WAR_ERR_ACTOR_START_TIMEOUT',
  'WAR_ERR_WA_CLOSED',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The default outage classifier: the error (or its cause) carries an outage code. */
export function isOutage(error: Error): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = anyErrorCode(current);
    if (code !== undefined && OUTAGE_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function needsRestart(restart: RestartType, reason: ExitReason): boolean {
  if (reason.kind === 'shutdown') return false;
  if (restart === 'permanent') return true;
  if (restart === 'transient') return reason.kind === 'failure';
  return false;
}

/** What the rule reads. Not readonly: a supervisor fills one object per exit instead of making one (a batcher passivates thousands of times a second). */
export interface RestartInput {
  restart: RestartType;
  reason: ExitReason;
  /** Consecutive restarts so far without a stable run: drives the delay. */
  attempts: number;
  /** Of those, the ones that were not outages: drives giving up. */
  countedAttempts: number;
  /** How long the incarnation that ended had been running. */
  ranForMs: number;
  backoff: BackoffOptions;
  intensity: IntensityOptions;
  /** Restarts the supervisor counted within `intensity.withinMs` before now. */
  restartsInWindow: number;
  /** The child is a dependency and this failure is its dependency being down. */
  outage: boolean;
  /** A dynamic child with mail waiting in its mailbox. */
  mailWaiting: boolean;
  dynamic: boolean;
  onGiveUp: 'escalate' | 'stay_down';
  /** A sample from [0, 1) for the jitter, drawn by the caller: the rule itself draws nothing. */
  jitterSample: number;
}

export type RestartDecision =
  /** Nothing to restart; the child ends `stopped` (normal exit) or `failed`. */
  | { readonly action: 'none'; readonly status: 'stopped' | 'failed' }
  /** The passivation race: start it again now to handle its mail. */
  | { readonly action: 'restart_for_mail' }
  | {
      readonly action: 'restart';
      readonly attempt: number;
      readonly countedAttempt: number;
      readonly delayMs: number;
      readonly baseMs: number;
      /** An outage restart: not recorded against the supervisor's intensity. */
      readonly outage: boolean;
    }
  | { readonly action: 'give_up'; readonly attempts: number; readonly then: 'escalate' | 'stay_down' }
  | { readonly action: 'escalate'; readonly restartsInWindow: number };

// The decisions of a passivating batcher's exit (thousands a second) are shared constants.
const NONE_STOPPED: RestartDecision = Object.freeze({ action: 'none', status: 'stopped' });
const NONE_FAILED: RestartDecision = Object.freeze({ action: 'none', status: 'failed' });
const RESTART_FOR_MAIL: RestartDecision = Object.freeze({ action: 'restart_for_mail' });

/**
 * The restart rule, free of side effects. In order:
 * 1. an exit the restart type does not restart needs nothing (a dynamic child with mail
 *    waiting after a normal exit is started again for it);
 * 2. a run of at least `resetAfterMs` resets the attempt counts;
 * 3. a dependency's outage restarts after the capped backoff, whatever the counts;
 * 4. a restart that exceeds the supervisor's intensity escalates;
 * 5. more than `maxAttempts` consecutive counted restarts gives the child up;
 * 6. otherwise restart after the backoff delay of this attempt.
 * A decision to restart (not for an outage), give up or escalate is one restart the
 * supervisor records against its intensity (`countsTowardIntensity`).
 */
export function decideRestart(input: RestartInput): RestartDecision {
  if (!needsRestart(input.restart, input.reason)) {
    if (input.dynamic && input.reason.kind === 'normal' && input.mailWaiting) return RESTART_FOR_MAIL;
    return input.reason.kind === 'failure' ? NONE_FAILED : NONE_STOPPED;
  }
  const stable = input.ranForMs >= input.backoff.resetAfterMs;
  const attempt = (stable ? 0 : input.attempts) + 1;
  const counted = stable ? 0 : input.countedAttempts;
  if (input.outage) {
    const { delayMs, baseMs } = backoffDelay(attempt, input.backoff, input.jitterSample);
    return { action: 'restart', attempt, countedAttempt: counted, delayMs, baseMs, outage: true };
  }
  if (input.restartsInWindow + 1 > input.intensity.maxRestarts) return { action: 'escalate', restartsInWindow: input.restartsInWindow + 1 };
  if (counted + 1 > input.backoff.maxAttempts) return { action: 'give_up', attempts: counted, then: input.onGiveUp };
  const { delayMs, baseMs } = backoffDelay(attempt, input.backoff, input.jitterSample);
  return { action: 'restart', attempt, countedAttempt: counted + 1, delayMs, baseMs, outage: false };
}

/** Whether the supervisor records `decision` as one restart against its intensity. */
export function countsTowardIntensity(decision: RestartDecision): boolean {
  switch (decision.action) {
    case 'restart':
      return !decision.outage;
    case 'give_up':
    case 'escalate':
      return true;
    default:
      return false;
  }
}

/**
 * The children (indices in start order, given each child's restart type) that a restart led
 * by `leaderIndex` takes down (`down`) and brings back (`back`): the strategy's set, without
 * the `temporary` siblings.
 */
export function restartGroup(strategy: Strategy, restarts: readonly RestartType[], leaderIndex: number): { down: number[]; back: number[] } {
  const down = restartSet(strategy, restarts.length, leaderIndex);
  return { down, back: down.filter((index) => index === leaderIndex || restarts[index] !== 'temporary') };
}
