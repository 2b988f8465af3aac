/** Colours for a terminal; `plain` when stdout is not one (or NO_COLOR is set), so pipes get clean text. */
export interface Paint {
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const ansi = (code: number) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;

export const colour: Paint = { green: ansi(32), yellow: ansi(33), red: ansi(31), dim: ansi(2), bold: ansi(1) };
const same = (text: string): string => text;
export const plain: Paint = { green: same, yellow: same, red: same, dim: same, bold: same };

export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Paint {
  return stream.isTTY && env.NO_COLOR === undefined && env.TERM !== 'dumb' ? colour : plain;
}

/** A status word in its colour: running/ok/open green, backing off/warn yellow, failed/critical red. */
export function paintStatus(paint: Paint, status: string): string {
  if (['running', 'ok', 'open', 'healthy'].includes(status)) return paint.green(status);
  if (['backing_off', 'warn', 'degraded', 'starting', 'stopping', 'connecting', 'pairing', 'reconnecting', 'awaiting_pairing'].includes(status)) return paint.yellow(status);
  if (['failed', 'critical', 'unhealthy', 'gave_up', 'logged_out', 'forbidden', 'replaced', 'multidevice_mismatch'].includes(status)) return paint.red(status);
  return status;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (text: string): number => [...text.replace(ANSI, '')].length;

/** Columns aligned to their widest cell (colour codes not counted); the last column is not padded. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], paint: Paint): string {
  const widths = header.map((title, column) => Math.max(width(title), ...rows.map((row) => width(row[column] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell + ' '.repeat((widths[column] ?? 0) - width(cell))))
      .join('  ')
      .trimEnd();
  return [paint.bold(line(header)), ...rows.map(line)].join('\n');
}

/** At most `max` characters, with an ellipsis when cut (a last error can be a page long). */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
