/**
 * Reports an emitter's `error` events at most once per `intervalMs`: a client that reconnects
 * every few hundred milliseconds while its server is away (ioredis) must not write a line each
 * time; the first of each interval is enough to say it is still away.
 */
export function reportErrorsAtMostEvery(emitter: { on(event: 'error', listener: (error: Error) => void): unknown }, intervalMs: number, report: (error: Error) => void): void {
  let lastReport = Number.NEGATIVE_INFINITY;
  emitter.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastReport < intervalMs) return;
    lastReport = now;
    report(error);
  });
}
