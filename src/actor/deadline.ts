import type { Clock, TimerHandle } from '../clock.js';

export type Outcome<T> = { readonly settled: true; readonly value: T } | { readonly settled: false };

/**
 * Waits for `promise` at most `timeoutMs` (Infinity waits for ever). Resolves with its
 * value, `{settled: false}` on timeout; rejects with its error. The timer is always cleared.
 */
export async function within<T>(promise: PromiseLike<T>, timeoutMs: number, clock: Clock): Promise<Outcome<T>> {
  if (!Number.isFinite(timeoutMs)) return { settled: true, value: await promise };
  let timer: TimerHandle | undefined;
  const expired = new Promise<Outcome<T>>((resolve) => {
    timer = clock.setTimeout(() => resolve({ settled: false }), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve(promise).then((value): Outcome<T> => ({ settled: true, value })), expired]);
  } finally {
    if (timer) clock.clearTimeout(timer);
  }
}

/** True if `promise` settles, either way, within `timeoutMs`. */
export async function settleWithin(promise: PromiseLike<unknown>, timeoutMs: number, clock: Clock): Promise<boolean> {
  const quiet = Promise.resolve(promise).then(
    () => undefined,
    () => undefined,
  );
  return (await within(quiet, timeoutMs, clock)).settled;
}

/** A timeout that the runtime's timers can carry: positive, finite or Infinity. */
export function isValidTimeout(timeoutMs: number): boolean {
  return timeoutMs > 0 && !Number.isNaN(timeoutMs);
}
