import { createRequire } from 'node:module';
import type { pino as Pino } from 'pino';
import { createLogger } from '../../src/logging/logger.js';
import { REDACTED_FIELDS } from '../../src/logging/redact.js';
import { createLogRings } from '../../src/logging/log-ring.js';
import type { Figure } from '../support/suite.js';

const LINES_PER_ROUND = 100_000;
const ROUNDS = 7;

export interface LogLineCost {
  /** The runtime's logger as it is now: stdout's stream plus the two rings (the `logs` operation). */
  readonly withRings: Figure;
  /** The same logger without the rings: what every line cost before them. */
  readonly plain: Figure;
  readonly overheadUs: number;
  /** pino's own `redact` with the wildcard paths the logger used before (`token`, `*.token`, `*.*.token`, ...). */
  readonly wildcardRedact: Figure;
}

/**
 * What the in-memory log rings add to a log line on the hot path: the same "batch delivered"
 * line (the pipeline logs one per batch) through createLogger with and without `rings`, both
 * writing to a destination that drops what it is given (so the figure is pino's and the
 * rings' work, not the terminal's), rounds taking turns; the median µs per line of each, and
 * their difference.
 */
export async function logLineCost(): Promise<LogLineCost> {
  {
    let written = 0;
    const sink = () => ({
      write: (line: string) => {
        written += line.length;
      },
    });
    const plainLogger = createLogger({ level: 'info', destination: sink() });
    const pino = createRequire(import.meta.url)('pino') as typeof Pino;
    const wildcardLogger = pino(
      {
        level: 'info',
        redact: { paths: REDACTED_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]), censor: (value: unknown) => (value === null || value === undefined ? null : '[redacted]') },
        base: { pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      sink(),
    );
    const ringLogger = createLogger({ level: 'info', destination: sink(), rings: createLogRings(1_000) });
    const fields = { actor: '/pipeline', batchId: '2f0c4c7e-6a2b-4c55-9d8e-0a1b2c3d4e5f', sessionId: 'salon1', phone: '79161234567', messages: 4, reason: 'quiet', text: 'Запишите на стрижку меня На завтра В 18:00 К Бари' };
    const round = (logger: typeof plainLogger): number => {
      const started = performance.now();
      for (let i = 0; i < LINES_PER_ROUND; i++) logger.info(fields, 'batch delivered');
      return ((performance.now() - started) * 1000) / LINES_PER_ROUND;
    };
    // Warm both paths up before measuring.
    round(plainLogger);
    round(ringLogger);
    const plain: number[] = [];
    const rings: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        plain.push(round(plainLogger));
        rings.push(round(ringLogger));
      } else {
        rings.push(round(ringLogger));
        plain.push(round(plainLogger));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Fewer rounds: at ~45 µs a line it is slow enough to measure without many.
    const wildcard: number[] = [];
    for (let r = 0; r < 3; r++) wildcard.push(round(wildcardLogger as unknown as typeof plainLogger));
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const plainUs = median(plain);
    const ringUs = median(rings);
    const figure = (us: number, runs: number[]): Figure => ({ kind: 'value', value: us, unit: 'µs/line', text: `${us.toFixed(2)} µs/line`, extra: { runs: runs.map((v) => Number(v.toFixed(3))).join(' ') } });
    if (written === 0) throw new Error('nothing was logged');
    return { withRings: figure(ringUs, rings), plain: figure(plainUs, plain), overheadUs: ringUs - plainUs, wildcardRedact: figure(median(wildcard), wildcard) };
  }
}
