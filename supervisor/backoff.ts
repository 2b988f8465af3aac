/**
 * Restart backoff: the n-th consecutive restart waits
 * `min(initialMs * multiplier^(n-1), maxMs)` plus up to `jitter` of that again, so
 * sessions that dropped together do not reconnect together.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Consecutive restarts without a stable run before the child is given up on. */
  maxAttempts: number;
  multiplier: number;
  /** Fraction of the base delay added at random: the delay lies in [base, base * (1 + jitter)]. */
  jitter: number;
  /** A child that ran this long before failing starts again from `initialMs`. */
  resetAfterMs: number;
}

export interface BackoffDelay {
  baseMs: number;
  delayMs: number;
}

/** `attempt` counts from 1; `jitterSample` lies in [0, 1). The defaults live with the restart rule. */
export function backoffDelay(attempt: number, options: BackoffOptions, jitterSample: number): BackoffDelay {
  const exponent = Math.max(0, attempt - 1);
  // 0 * Infinity is NaN: past ~1024 attempts the power overflows, so cap before multiplying.
  const growth = options.multiplier ** exponent;
  const baseMs = options.initialMs === 0 ? 0 : Number.isFinite(growth) ? Math.min(options.initialMs * growth, options.maxMs) : options.maxMs;
  const delayMs = Math.round(baseMs + jitterSample * options.jitter * baseMs);
  return { baseMs, delayMs: Math.min(delayMs, Math.floor(baseMs * (1 + options.jitter))) };
}
