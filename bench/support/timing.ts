/** Clocks and event-loop helpers shared by every benchmark. */

/** Monotonic nanoseconds as a number (exact to well below a microsecond for any bench duration). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export function nsToMs(ns: number): number {
  return ns / 1e6;
}

export function nsToUs(ns: number): number {
  return ns / 1e3;
}

/** Lets microtasks and one turn of the event loop (I/O, immediates) run. */
export function yieldToLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** Rejects if `promise` does not settle within `ms`, naming `what`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
