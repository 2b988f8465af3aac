import type { LatencySummary } from './stats.js';

/** A throughput figure: the median of `runs` (msgs/s each, or requests/s with `unit`) is the one reported. */
export interface ThroughputFigure {
  kind: 'throughput';
  msgsPerSec: number;
  /** What is counted per second; msgs/s when absent. */
  unit?: 'msgs/s' | 'req/s';
  pick: 'median';
  runs: number[];
  messagesPerRun: number;
  extra?: Record<string, number | string | boolean>;
}

/** A latency distribution; every number of `summary` is in `unit`. */
export interface LatencyFigure {
  kind: 'latency';
  unit: 'µs' | 'ms';
  summary: LatencySummary;
  /** Print the maximum beside p50 and p99. */
  showMax?: boolean;
  extra?: Record<string, number | string | boolean>;
}

/** Bytes per item (for example per pending conversation), as the sum of named parts. */
export interface SizeFigure {
  kind: 'size';
  /** The sum of `parts`; what a target is held to. */
  bytes: number;
  parts: { name: string; bytes: number }[];
  extra?: Record<string, number | string | boolean>;
}

/**
 * One number with its own wording (a drain's duration, a count per second): `value` in
 * `unit` is what a target is held to, `text` what the table prints.
 */
export interface ValueFigure {
  kind: 'value';
  value: number;
  unit: 's' | 'ms' | 'fsyncs/s' | 'notifications' | 'µs/event' | 'µs/line' | '% of a core' | 'B/s' | 'MB' | 'MB/session' | 'msgs/s';
  text: string;
  extra?: Record<string, number | string | boolean>;
}

/** A measure deliberately not taken (a missing dependency, such as no Redis answering). */
export interface SkippedFigure {
  kind: 'skipped';
  reason: string;
}

/** A measure that could not be taken (its error is printed instead of a figure). */
export interface FailedFigure {
  kind: 'failed';
  error: string;
}

export type Figure = ThroughputFigure | LatencyFigure | SizeFigure | ValueFigure | SkippedFigure | FailedFigure;

export interface Target {
  /** `value`: a ValueFigure's value, in its unit. */
  stat: 'msgs/s' | 'req/s' | 'p50' | 'p99' | 'bytes' | 'value';
  op: '>=' | '<' | '<=';
  value: number;
  unit: 'msgs/s' | 'req/s' | 'µs' | 'ms' | 'B' | 's' | 'fsyncs/s' | 'notifications' | 'µs/event' | 'µs/line' | '% of a core' | 'B/s' | 'MB' | 'MB/session';
}

export interface Yardstick {
  name: string;
  figure: Figure;
}

export interface Row {
  measure: string;
  ours: Figure;
  yardsticks: Yardstick[];
  target: Target | null;
  /** null when there is no target or the figure is missing. */
  met: boolean | null;
}

export interface SuiteResult {
  rows: Row[];
  /** How the figures were taken; printed under the table and kept in the JSON. */
  notes: string[];
  /** Anything else worth keeping (setup times, counts). */
  info: Record<string, unknown>;
}

/** One benchmark suite; `bench/run.ts` lists them. */
export interface Suite {
  name: string;
  title: string;
  run(): Promise<SuiteResult>;
}

export function targetValue(figure: Figure, target: Target): number | undefined {
  if (figure.kind === 'failed' || figure.kind === 'skipped') return undefined;
  if (target.stat === 'msgs/s' || target.stat === 'req/s') return figure.kind === 'throughput' ? figure.msgsPerSec : undefined;
  if (target.stat === 'bytes') return figure.kind === 'size' ? figure.bytes : undefined;
  if (target.stat === 'value') return figure.kind === 'value' && figure.unit === target.unit ? figure.value : undefined;
  if (figure.kind !== 'latency') return undefined;
  const scale = figure.unit === target.unit ? 1 : figure.unit === 'µs' ? 1e-3 : 1e3;
  return (target.stat === 'p50' ? figure.summary.p50 : figure.summary.p99) * scale;
}

export function makeRow(measure: string, ours: Figure, yardsticks: Yardstick[], target: Target | null): Row {
  let met: boolean | null = null;
  if (target) {
    const value = targetValue(ours, target);
    if (value !== undefined) met = target.op === '>=' ? value >= target.value : target.op === '<=' ? value <= target.value : value < target.value;
  }
  return { measure, ours, yardsticks, target, met };
}

/** Runs a measure; an exception becomes a failed figure so the rest of the suite still runs. */
export async function measure(what: string, run: () => Promise<Figure>): Promise<Figure> {
  const started = performance.now();
  process.stderr.write(`  · ${what} … `);
  try {
    const figure = await run();
    process.stderr.write(`${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    return figure;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`FAILED: ${message}\n`);
    return { kind: 'failed', error: message };
  }
}
