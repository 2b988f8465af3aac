import { createRequire } from 'node:module';
import type { DestinationStream, Logger, pino as Pino } from 'pino';
import type { LogSinks } from './log-ring.js';

/**
 * Field names that hold secrets wherever they appear in a log object. Config values are
 * redacted before they are logged; this is the second line of defence for everything else.
 */
export const REDACTED_FIELDS = [
  'token',
  'password',
  'secret',
  'authorization',
  'apiKey',
  'creds',
  'ADMIN_TOKEN',
  'YCLIENTS_PARTNER_TOKEN',
  'YCLIENTS_USER_TOKEN',
  'ALERT_TELEGRAM_BOT_TOKEN',
  'OPS_BOT_TOKEN',
  'REDIS_URL',
];

const REDACT_PATHS = REDACTED_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]).concat([
  'req.headers.authorization',
  'req.headers.cookie',
]);

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
  return pino(
    {
      level: options.level,
      // An unset secret shows as null: `[redacted]` would claim a value is there.
      redact: { paths: REDACT_PATHS, censor: (value: unknown) => (value === null || value === undefined ? null : '[redacted]') },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
