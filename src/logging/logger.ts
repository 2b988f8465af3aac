import { createRequire } from 'node:module';
import type { DestinationStream, Logger, pino as Pino } from 'pino';
import type { LogSinks } from './log-ring.js';
import { redactSecrets } from './redact.js';

export { REDACTED_FIELDS } from './redact.js';

export interface LoggerOptions {
  level: string;
  /** Defaults to stdout; tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  /** Also keep the recent lines in memory (the `logs` operation): warn and above, and info and above. */
  rings?: LogSinks;
}

/**
 * pino is loaded on first use, not at import: a worker thread whose actors never log
 * then starts ~20 ms sooner, which is most of a thread actor's restart after a crash.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pino = createRequire(import.meta.url)('pino') as typeof Pino;
  let destination = options.destination;
  if (options.rings) {
    const main = destination ?? pino.destination({ dest: 1, sync: false });
    // The multistream's own level is the lowest of its streams'; the logger's level still filters first.
    destination = pino.multistream(
      [
        { level: 'trace', stream: main },
        { level: 'info', stream: options.rings.info },
        { level: 'warn', stream: options.rings.warn },
      ],
      { dedupe: false },
    );
  }
  const logger = pino(
    {
      level: options.level,
      // Secrets (src/logging/redact.ts) in what is logged, nested down two levels.
      formatters: { log: redactSecrets },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
  // A child's bindings never pass through `formatters.log` (pino resets the bindings formatter
  // for children): redact them as they are bound. Children inherit this `child` from the root.
  const pinoChild = (Object.getPrototypeOf(logger) as { child: (this: Logger, bindings: Record<string, unknown>, options?: unknown) => Logger }).child;
  function redactedChild(this: Logger, bindings: Record<string, unknown>, options?: unknown): Logger {
    return pinoChild.call(this, redactSecrets(bindings), options);
  }
  logger.child = redactedChild as unknown as Logger['child'];
  return logger;
}
