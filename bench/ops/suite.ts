/**
 * The operations suite: what the log rings behind `wa-runtime logs` add to every log line.
 */
import { makeRow, measure, type Figure, type Row, type Suite, type SuiteResult } from '../support/suite.js';
import { logLineCost, type LogLineCost } from './log-line-cost.js';

async function run(): Promise<SuiteResult> {
  const rows: Row[] = [];
  let cost: LogLineCost | undefined;
  const figure = await measure('log line cost with and without the rings (7 rounds × 100,000 lines)', async () => {
    cost = await logLineCost();
    return cost.withRings;
  });
  const overhead: Figure = cost ? { kind: 'value', value: cost.overheadUs, unit: 'µs/line', text: `${cost.overheadUs.toFixed(2)} µs/line` } : figure;
  rows.push(
    makeRow(
      'an info line ("batch delivered") with the log rings',
      figure,
      cost
        ? [
            { name: 'the same logger without rings', figure: cost.plain },
            { name: "pino's wildcard redact (the logger before)", figure: cost.wildcardRedact },
          ]
        : [],
      { stat: 'value', op: '<', value: 10, unit: 'µs/line' },
    ),
  );
  rows.push(makeRow('what the rings add per line', overhead, [], { stat: 'value', op: '<', value: 1, unit: 'µs/line' }));
  return {
    rows,
    notes: [
      "the logger redacts secret fields down two levels with one walk of the object (src/logging/redact.ts); pino's redact with wildcard paths, which it used before, is the yardstick",
      'the loggers write to a destination that drops the line (I/O left out: it is the same with and without rings); rounds take turns; medians of 7 rounds (3 for the wildcard yardstick)',
    ],
    info: {},
  };
}

export const opsSuite: Suite = { name: 'ops', title: 'Operations: the log rings', run };
