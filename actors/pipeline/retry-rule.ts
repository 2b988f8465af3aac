/**
 * What becomes of a batch whose handler failed: tried again after a delay, or dead-lettered.
 * The one place the rule lives; the pipeline only carries out what `retryRule` says, and the
 * built-in handler classifies the webhook's answers with the helpers below it.
 */

export interface RetryPolicy {
  /** PIPELINE_MAX_ATTEMPTS: attempts of one batch before it is dead-lettered. */
  readonly maxAttempts: number;
  /** PIPELINE_RETRY_INITIAL_MS / PIPELINE_RETRY_MAX_MS: the backoff doubles from one up to the other. */
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

export type RetryDecision = { readonly kind: 'retry'; readonly delayMs: number } | { readonly kind: 'dead_letter'; readonly why: string };

/**
 * The longest Retry-After honoured. A batch waits in memory for its next attempt and the
 * client waits for an answer; a downstream asking for longer than this is probably
 * misconfigured, and an attempt after this long (counted like any other) is better than
 * holding the batch for an hour. The backoff alone (PIPELINE_RETRY_MAX_MS) may still be longer.
 */
export const RETRY_AFTER_MAX_MS = 300_000;

/** What a failed handler said about its failure: plain properties, so they survive a thread hop and need no import. */
export interface FailureSignal {
  /** The downstream's HTTP status, when it answered (for the log and the dead letter's why). */
  readonly status: number | undefined;
  /** Trying again cannot help. */
  readonly permanent: boolean;
  /** Wait at least this long before the next attempt. */
  readonly retryAfterMs: number | undefined;
}

export function failureSignal(error: unknown): FailureSignal {
  if (error === null || typeof error !== 'object') return { status: undefined, permanent: false, retryAfterMs: undefined };
  const { status, permanent, retryAfterMs } = error as { status?: unknown; permanent?: unknown; retryAfterMs?: unknown };
  return {
    status: typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 ? status : undefined,
    permanent: permanent === true,
    // A nonsense value (NaN, negative, a string) is a handler bug, not a reason to wait or not to retry.
    retryAfterMs: typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : undefined,
  };
}

/**
 * `attempt` is the attempt that just failed (1 for the first). A permanent failure is
 * dead-lettered at once; otherwise the batch is retried until `maxAttempts` attempts have
 * failed, after min(initial * 2^(attempt-1), max), raised to the failure's Retry-After
 * (itself cut to RETRY_AFTER_MAX_MS).
 */
export function retryRule(error: unknown, attempt: number, policy: RetryPolicy): RetryDecision {
  const signal = failureSignal(error);
  if (signal.permanent) {
    return { kind: 'dead_letter', why: signal.status === undefined ? 'refused for good (the handler said so), not retried' : `refused for good (HTTP ${signal.status}), not retried` };
  }
  if (attempt >= policy.maxAttempts) return { kind: 'dead_letter', why: `failed ${attempt} attempts (PIPELINE_MAX_ATTEMPTS ${policy.maxAttempts})` };
  const backoffMs = Math.min(policy.retryInitialMs * 2 ** (attempt - 1), policy.retryMaxMs);
  const askedMs = signal.retryAfterMs === undefined ? 0 : Math.min(Math.ceil(signal.retryAfterMs), RETRY_AFTER_MAX_MS);
  return { kind: 'retry', delayMs: Math.max(backoffMs, askedMs) };
}

/**
 * The 4xx answers that mean "not now" rather than "never": a timeout (408), a conflict that
 * may clear (409, e.g. the same Idempotency-Key still being processed), too early (425), too
 * many requests (429). Every other 4xx says the request itself is wrong, and sending it again
 * gets the same answer.
 */
const TRANSIENT_4XX: ReadonlySet<number> = new Set([408, 409, 425, 429]);

export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && !TRANSIENT_4XX.has(status);
}

/** The statuses whose Retry-After is honoured (RFC 9110 gives it meaning on these two failures). */
export function honoursRetryAfter(status: number): boolean {
  return status === 429 || status === 503;
}

/**
 * A Retry-After header as milliseconds from `now`: delay-seconds or an HTTP-date (a date in
 * the past is 0). Undefined when absent or unreadable, so a bad header leaves the backoff alone.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number): number | undefined {
  const raw = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (!raw) return undefined;
  // Kept finite: an absurd number of seconds still means "wait long" (the rule caps it), not "unreadable".
  if (/^\d+$/.test(raw)) return Math.min(Number(raw) * 1000, Number.MAX_SAFE_INTEGER);
  // All three HTTP-date forms start with a day name; Date.parse alone would read "1.5" as a date.
  if (!/^[A-Za-z]{3}/.test(raw)) return undefined;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
