import type { Clock } from '../../src/clock.js';
import { RuntimeError } from '../../src/errors.js';
import { breakerOpen } from './booking-errors.js';

/**
 * A circuit breaker for calls to one upstream. When YClients is down, every caller waiting on
 * a timeout (10 s each, through a 5-a-second limiter) backs the queue up for minutes; after
 * `failures` consecutive failures the breaker answers at once instead, for `cooldownMs`, then
 * lets exactly one probe through to decide whether it closes again.
 *
 * Only what `isFailure` calls a failure counts (5xx, timeouts, connection errors): a 4xx is an
 * answer from a healthy server about a bad request, so it neither counts toward opening nor
 * resets the run of failures.
 *
 * No timer: `open` becomes `half_open` when the clock says the cool-down has passed, the
 * first time anyone looks (`state`, `snapshot()`, `run`), so a stopped owner leaves nothing
 * behind.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOpenInfo {
  /** `open`, or `half_open` while the probe is in flight. */
  readonly state: 'open' | 'half_open';
  /** Clock time the breaker half-opens; while a probe is in flight, the time it did. */
  readonly halfOpenAt: number;
  readonly now: number;
}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failures: number;
  readonly cooldownMs: number;
  readonly clock: Clock;
  /** Called after every transition, with the breaker already in `to`. It must not throw: it runs inside `run`'s settlement. */
  readonly onChange?: (from: BreakerState, to: BreakerState) => void;
  /** The error a fast-failed call rejects with (default `breakerOpen`: a BookingError WAR_ERR_BOOKING_BREAKER_OPEN, 503, with `retryAfterMs`). */
  readonly onOpen?: (info: BreakerOpenInfo) => Error;
}

export interface BreakerSnapshot {
  readonly state: BreakerState;
  readonly consecutiveFailures: number;
  /** Clock time it last opened; undefined if it never has. */
  readonly openedAt: number | undefined;
  /** Clock time it half-opens (open) or last half-opened; undefined if it never opened. */
  readonly halfOpenAt: number | undefined;
  /** Times it has opened (each failed probe counts again). */
  readonly opens: number;
  /** Calls refused without being made. */
  readonly fastFails: number;
  readonly probeInFlight: boolean;
}

/**
 * The booking code by default, with how long until the breaker half-opens (none while a probe
 * is out: its outcome decides, not the clock).
 */
const defaultOpen = (info: BreakerOpenInfo): Error => breakerOpen(info.state === 'open' ? Math.max(0, info.halfOpenAt - info.now) : undefined);

export class CircuitBreaker {
  readonly #failures: number;
  readonly #cooldownMs: number;
  readonly #clock: Clock;
  readonly #onChange: ((from: BreakerState, to: BreakerState) => void) | undefined;
  readonly #onOpen: (info: BreakerOpenInfo) => Error;

  #state: BreakerState = 'closed';
  /**
   * Bumped on every transition. A call's outcome counts only if the breaker is still in the
   * period the call was let through in: a slow call admitted while closed that fails after the
   * breaker opened must not re-open it, and one that succeeds must not close it behind the
   * probe's back.
   */
  #generation = 0;
  #consecutiveFailures = 0;
  #openedAt: number | undefined = undefined;
  #halfOpenAt: number | undefined = undefined;
  #opens = 0;
  #fastFails = 0;
  #probeInFlight = false;

  constructor(options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failures) || options.failures < 1) {
      throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', `CircuitBreaker failures must be an integer >= 1, got ${options.failures}`);
    }
    if (!(Number.isFinite(options.cooldownMs) && options.cooldownMs >= 0)) {
      throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', `CircuitBreaker cooldownMs must be a finite number >= 0, got ${options.cooldownMs}`);
    }
    this.#failures = options.failures;
    this.#cooldownMs = options.cooldownMs;
    this.#clock = options.clock;
    this.#onChange = options.onChange;
    this.#onOpen = options.onOpen ?? defaultOpen;
  }

  get state(): BreakerState {
    this.#checkCooldown();
    return this.#state;
  }

  snapshot(): BreakerSnapshot {
    this.#checkCooldown();
    return {
      state: this.#state,
      consecutiveFailures: this.#consecutiveFailures,
      openedAt: this.#openedAt,
      halfOpenAt: this.#halfOpenAt,
      opens: this.#opens,
      fastFails: this.#fastFails,
      probeInFlight: this.#probeInFlight,
    };
  }

  /**
   * Makes `call` unless the breaker is open (or half-open with its probe out), and feeds the
   * outcome back. The promise is `call`'s, or the fast-fail error.
   */
  async run<T>(call: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
    this.#checkCooldown();
    if (this.#state === 'open' || (this.#state === 'half_open' && this.#probeInFlight)) {
      this.#fastFails++;
      throw this.#onOpen({ state: this.#state, halfOpenAt: this.#halfOpenAt as number, now: this.#clock.now() });
    }
    const probe = this.#state === 'half_open';
    if (probe) this.#probeInFlight = true;
    const generation = this.#generation;
    let value: T;
    try {
      value = await call();
    } catch (error) {
      if (generation === this.#generation) this.#onError(probe, isFailure(error));
      throw error;
    }
    if (generation === this.#generation) this.#onSuccess();
    return value;
  }

  #onSuccess(): void {
    this.#consecutiveFailures = 0;
    if (this.#state === 'half_open') {
      this.#probeInFlight = false;
      this.#transition('closed');
    }
  }

  #onError(probe: boolean, failure: boolean): void {
    if (probe) {
      this.#probeInFlight = false;
      if (failure) this.#consecutiveFailures++;
      // A probe that got a 4xx reached a server that answered, but says nothing about its
      // health under load; the breaker stays half-open and the next call probes again.
      if (failure) this.#open();
      return;
    }
    if (!failure) return;
    this.#consecutiveFailures++;
    if (this.#consecutiveFailures >= this.#failures) this.#open();
  }

  #open(): void {
    const now = this.#clock.now();
    this.#openedAt = now;
    this.#halfOpenAt = now + this.#cooldownMs;
    this.#opens++;
    this.#transition('open');
  }

  #checkCooldown(): void {
    if (this.#state === 'open' && this.#clock.now() >= (this.#halfOpenAt as number)) this.#transition('half_open');
  }

  #transition(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    this.#generation++;
    if (to === 'closed') this.#consecutiveFailures = 0;
    this.#onChange?.(from, to);
  }
}
