import type { Figure, Row, Target } from './suite.js';

function number(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function rate(value: number, unit: 'msgs/s' | 'req/s' = 'msgs/s'): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M ${unit}`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e4 ? 0 : 1)}k ${unit}`;
  return `${value.toFixed(0)} ${unit}`;
}

function size(bytes: number): string {
  if (Math.abs(bytes) >= 1024 * 1024) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (Math.abs(bytes) >= 1024) return `${(bytes / 1024).toFixed(2)} KiB`;
  return `${Math.round(bytes)} B`;
}

export function formatFigure(figure: Figure): string {
  switch (figure.kind) {
    case 'throughput':
      return rate(figure.msgsPerSec, figure.unit);
    case 'latency':
      return (
        `p50 ${number(figure.summary.p50)} ${figure.unit} / p99 ${number(figure.summary.p99)} ${figure.unit}` +
        (figure.showMax ? ` / max ${number(figure.summary.max)} ${figure.unit}` : '')
      );
    case 'size':
      return figure.parts.map((part) => `${part.name} ${size(part.bytes)}`).join(' + ');
    case 'value':
      return figure.text;
    case 'skipped':
      return `skipped (${figure.reason.length > 60 ? `${figure.reason.slice(0, 57)}...` : figure.reason})`;
    case 'failed':
      return `FAILED (${figure.error.length > 60 ? `${figure.error.slice(0, 57)}...` : figure.error})`;
  }
}

export function formatTarget(target: Target | null): string {
  if (!target) return '—';
  const op = target.op === '>=' ? '≥' : target.op === '<=' ? '≤' : '<';
  if (target.stat === 'msgs/s' || target.stat === 'req/s') return `${op} ${rate(target.value, target.stat)}`;
  if (target.stat === 'bytes') return `${op} ${size(target.value)}`;
  if (target.stat === 'value') return `${op} ${number(target.value)} ${target.unit}`;
  return `${target.stat} ${op} ${number(target.value)} ${target.unit}`;
}

function formatMet(row: Row): string {
  if (row.met === null) return row.target && (row.ours.kind === 'failed' || row.ours.kind === 'skipped') ? 'n/a' : '—';
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
