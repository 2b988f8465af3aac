/** The floor `logs` reads from: warn and above (the default), or info and above. */
export type LogLevelFloor = 'warn' | 'info';

/** One log line as `logs` answers it: pino's JSON object, with its level named and its seq. */
export interface LogEntry {
  readonly seq: number;
  readonly level: string;
  readonly time: string | null;
  readonly msg: string;
  /** Every other field of the line (already redacted by the logger). */
  readonly fields: Readonly<Record<string, unknown>>;
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** A line pino wrote; a line that is not JSON (it should not happen) is kept as its text. */
export function parseLogLine(entry: { readonly seq: number; readonly line: string }): LogEntry {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(entry.line) as Record<string, unknown>;
  } catch {
    return { seq: entry.seq, level: 'unknown', time: null, msg: entry.line, fields: {} };
  }
  const { level, time, msg, pid: _pid, hostname: _hostname, ...fields } = parsed;
  return {
    seq: entry.seq,
    level: typeof level === 'number' ? (LEVEL_NAMES[level] ?? String(level)) : String(level ?? 'unknown'),
    time: typeof time === 'string' ? time : typeof time === 'number' ? new Date(time).toISOString() : null,
    msg: typeof msg === 'string' ? msg : '',
    fields,
  };
}
