import type { Figure, Row, Target } from './suite.js';

function number(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function rate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M msgs/s`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(0)}k msgs/s`;
  return `${value.toFixed(0)} msgs/s`;
}

export function formatFigure(figure: Figure): string {
  switch (figure.kind) {
    case 'throughput':
      return rate(figure.msgsPerSec);
    case 'latency':
      return `p50 ${number(figure.summary.p50)} ${figure.unit} / p99 ${number(figure.summary.p99)} ${figure.unit}`;
    case 'failed':
      return `FAILED (${figure.error.length > 60 ? `${figure.error.slice(0, 57)}...` : figure.error})`;
  }
}

export function formatTarget(target: Target | null): string {
  if (!target) return '—';
  const op = target.op === '>=' ? '≥' : '<';
  if (target.stat === 'msgs/s') return `${op} ${rate(target.value)}`;
  return `${target.stat} ${op} ${number(target.value)} ${target.unit}`;
}

function formatMet(row: Row): string {
  if (row.met === null) return row.target && row.ours.kind === 'failed' ? 'n/a' : '—';
  return row.met ? 'yes' : 'NO';
}

/** One line per row, with further yardsticks on continuation lines. */
export function renderTable(rows: readonly Row[]): string {
  const header = ['measure', 'ours', 'yardstick(s)', 'target', 'met?'];
  const lines: string[][] = [];
  for (const row of rows) {
    const yardsticks = row.yardsticks.length === 0 ? ['—'] : row.yardsticks.map((y) => `${y.name}: ${formatFigure(y.figure)}`);
    yardsticks.forEach((yardstick, index) => {
      lines.push(
        index === 0
          ? [row.measure, formatFigure(row.ours), yardstick, formatTarget(row.target), formatMet(row)]
          : ['', '', yardstick, '', ''],
      );
    });
  }
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join(' | ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('-|-');
  return [render(header), rule, ...lines.map(render)].join('\n');
}
