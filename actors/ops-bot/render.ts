import { humanDuration, relative } from '../../src/operations/human-units.js';
import type { Silence } from '../alerts/silences.js';
import { anyErrorCode, describe } from '../../src/errors.js';
import type { LogEntry } from '../../src/operations/log-entry.js';
import { recoveryProblem } from '../../src/operations/operations.js';
import type {
  BatchRecovery,
  HealthReport,
  LogsReport,
  QueueReport,
  RecoverResult,
  RestartResult,
  StatusReport,
  TestResult,
  WhatsAppRecovery,
} from '../../src/operations/operations.js';
import type { StatusRow } from '../../src/operations/status-report.js';
import { USAGE } from './commands.js';

/** Telegram's limit on one message's text. */
export const TELEGRAM_MESSAGE_LIMIT = 4_096;
/** What one answer of ours may take, tags and entities included: under the limit, with room to spare. */
export const MESSAGE_BUDGET = 4_000;
/** A log line or a cell longer than this is cut (with `…`): a stack trace is for the CLI. */
const MAX_LINE = 600;
const MAX_CELL = 90;

/** Escapes text for parse_mode HTML: the three characters Telegram requires. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (char) => (char === '&' ? '&amp;' : char === '<' ? '&lt;' : '&gt;'));
}

export interface Page {
  /** HTML, on the first message only (keep it short). */
  readonly header?: string;
  /** Plain text lines, escaped here. */
  readonly lines: readonly string[];
  /** Each message's lines in `<pre>` (a table, log lines). */
  readonly pre?: boolean;
  /** HTML, on the last message. */
  readonly footer?: string;
}

/**
 * Lines as messages for parse_mode HTML: split at line boundaries so that every message,
 * escaped and with its own `<pre>…</pre>`, stays within `budget` (a line longer than a whole
 * message is cut into pieces, never inside an escape or a surrogate pair).
 */
export function paginate(page: Page, budget = MESSAGE_BUDGET): string[] {
  const open = page.pre ? '<pre>' : '';
  const close = page.pre ? '</pre>' : '';
  const header = page.header ? `${page.header}\n` : '';
  const footer = page.footer ? `\n${page.footer}` : '';
  const messages: string[] = [];
  let body: string[] = [];
  let bodyLength = 0;
  const prefix = (): string => (messages.length === 0 ? header : '');
  const flush = (): void => {
    if (body.length === 0) return;
    messages.push(`${prefix()}${open}${body.join('\n')}${close}`);
    body = [];
    bodyLength = 0;
  };
  const room = budget - open.length - close.length - header.length;
  for (const line of page.lines) {
    for (const piece of splitEscaped(line, Math.max(100, room))) {
      const added = piece.length + (body.length > 0 ? 1 : 0);
      if (body.length > 0 && prefix().length + open.length + bodyLength + added + close.length > budget) flush();
      bodyLength += piece.length + (body.length > 0 ? 1 : 0);
      body.push(piece);
    }
  }
  flush();
  if (messages.length === 0) {
    const only = `${header}${footer.trimStart()}`.trimEnd();
    return only ? [only] : [];
  }
  if (footer) {
    const last = messages.length - 1;
    if ((messages[last] as string).length + footer.length <= budget) messages[last] += footer;
    else messages.push(footer.trimStart());
  }
  return messages;
}

/** One raw line, escaped, in pieces of at most `max` characters. */
function splitEscaped(line: string, max: number): string[] {
  const escaped = escapeHtml(line);
  if (escaped.length <= max) return [escaped];
  const pieces: string[] = [];
  let current = '';
  for (const char of line) {
    const next = escapeHtml(char);
    if (current.length + next.length > max) {
      pieces.push(current);
      current = '';
    }
    current += next;
  }
  if (current) pieces.push(current);
  return pieces;
}

/** 90061000 ms as `1d 1h`, 61000 as `1m 1s`: two units at most. */
function cut(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Rows as aligned columns; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, index) => (index === cells.length - 1 ? cell : cell.padEnd(widths[index] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function statusNote(row: StatusRow, now: number): string {
  if (row.dynamic) {
    const counts = Object.entries(row.dynamic.byStatus)
      .map(([status, count]) => `${count} ${status}`)
      .join(', ');
    return `${row.dynamic.children} children${counts ? ` (${counts})` : ''}, ${row.dynamic.restarts} restarts among them`;
  }
  const notes: string[] = [];
  if (row.outage) notes.push(`outage: ${row.outage.dependency} down since ${relative(row.outage.since, now)}, ${row.outage.retries} retries`);
  if (row.nextRestartAt) notes.push(`next restart ${relative(row.nextRestartAt, now)}`);
  if (row.lastError) notes.push(`${row.lastError.code ? `${row.lastError.code}: ` : ''}${row.lastError.message}`);
  return cut(notes.join('; '), MAX_CELL) || '-';
}

/** `/status`: every node as `pm2 ls` would show it (dynamic supervisors summarised), with the health line. */
export function renderStatus(report: StatusReport, now: number): string[] {
  const rows = report.nodes.map((row) => [
    row.path,
    row.status,
    String(row.restarts),
    row.status === 'running' ? humanDuration(row.uptimeMs) : '-',
    statusNote(row, now),
  ]);
  return paginate({
    header: `<b>${escapeHtml(report.status)}</b> · score ${report.score} · ${report.nodes.length} nodes`,
    lines: table(['PATH', 'STATUS', 'RESTARTS', 'UPTIME', 'LAST ERROR / NOTE'], rows),
    pre: true,
  });
}

const CHECK_ORDER: Readonly<Record<string, number>> = { critical: 0, warn: 1, ok: 2 };

/** `/health`: the score, each check (the worst first) and what is firing. */
export function renderHealth(report: HealthReport): string[] {
  const checks = Object.entries(report.checks).sort(([a, x], [b, y]) => (CHECK_ORDER[x.status] ?? 3) - (CHECK_ORDER[y.status] ?? 3) || a.localeCompare(b));
  const lines = table(
    ['CHECK', 'STATUS', 'MESSAGE'],
    checks.map(([name, check]) => [name, check.status, cut(check.message, MAX_CELL)]),
  );
  const firing = report.firing.map((group) => `🔥 ${group.rule} (${group.groupKey}): ${group.firing} firing${group.silenced > 0 ? `, ${group.silenced} silenced` : ''}`);
  const header = `<b>${escapeHtml(report.status)}</b> · score ${report.score} · ${checks.length} checks`;
  if (firing.length === 0) return paginate({ header, lines, pre: true, footer: 'nothing firing' });
  return [...paginate({ header, lines, pre: true }), ...paginate({ header: '<b>firing</b>', lines: firing })];
}

/** `/queue`: the pipeline, the store's counts, the dead letters with their last errors. */
export function renderQueue(report: QueueReport): string[] {
  const lines: string[] = [];
  const p = report.pipeline;
  lines.push(p ? `pipeline: ${p.queued} queued, ${p.running} running, ${p.waitingRetry} waiting for a retry; ${p.delivered} delivered, ${p.retried} retried, ${p.deadLettered} dead-lettered since start` : 'pipeline: not answering (restarting?)');
  if (p?.oldestSince) lines.push(`oldest undelivered batch cut ${humanDuration(Date.now() - p.oldestSince)} ago`);
  const s = report.store;
  const count = (value: number | null): string => (value === null ? '?' : String(value));
  lines.push(s ? `store: ${count(s.pendingConversations)} conversations pending, ${count(s.inFlightBatches)} batches in flight (${count(s.inFlightConversations)} conversations)` : 'store: not answering');
  lines.push(`dead letters: ${report.deadLetters.total}`);
  for (const letter of report.deadLetters.oldest) {
    lines.push(`  ${letter.deadAt}  ${letter.sessionId}/${letter.phone}  ${letter.messages} msg  ${cut(letter.error, 120)}  (${letter.batchId})`);
  }
  return paginate({ header: '<b>queue</b>', lines, pre: true });
}

function logLine(entry: LogEntry): string {
  const time = entry.time ? entry.time.slice(11, 23) : '-';
  const fields = Object.keys(entry.fields).length > 0 ? ` ${JSON.stringify(entry.fields)}` : '';
  return cut(`${time} ${entry.level.toUpperCase().padEnd(5)} ${entry.msg}${fields}`, MAX_LINE);
}

/** `/logs [n]`: the newest lines at warn and above, oldest first, in as many messages as they take. */
export function renderLogs(report: LogsReport, asked: number): string[] {
  if (report.capacity === 0) return ['this runtime keeps no log lines in memory (LOG_BUFFER_LINES is 0)'];
  if (report.lines.length === 0) return [`no warn or error lines among the last ${report.capacity} kept`];
  return paginate({
    header: `<b>${report.lines.length}</b> warn+ line${report.lines.length === 1 ? '' : 's'}${report.lines.length < asked ? ` (all that are kept of ${asked} asked)` : ''}`,
    lines: report.lines.map(logLine),
    pre: true,
  });
}

export function renderRestart(result: RestartResult): string[] {
  return [`✅ restarted <code>${escapeHtml(result.restarted)}</code> (its backoff reset)`];
}

function sessionLine(session: WhatsAppRecovery): string {
  const change = `${session.before ?? '?'} → ${session.after ?? '?'}`;
  return `${session.sessionId} (${session.mode}): ${change}${session.cleared !== undefined ? `, ${session.cleared} Signal sessions cleared` : ''}${session.pairingCode ? `, pairing code ${session.pairingCode}` : ''}${session.note ? `; ${session.note}` : ''}${session.error ? `; failed: ${session.error}` : ''}`;
}

function batchLines(batches: BatchRecovery): string[] {
  const lines = [
    `re-armed conversations: ${batches.rearmed}`,
    `re-delivered in-flight batches: ${batches.reclaimed}`,
    `dead letters retried: ${batches.deadLetters.retried} (${batches.deadLetters.queued} queued now, ${batches.deadLetters.left} left)`,
  ];
  if (batches.waitingForStore) lines.push(`store: ${batches.waitingForStore}`);
  return lines;
}

export function renderRecover(result: RecoverResult): string[] {
  const lines: string[] = [];
  switch (result.type) {
    case 'whatsapp':
      lines.push(sessionLine(result.result));
      break;
    case 'batches':
      lines.push(...batchLines(result.result));
      break;
    case 'company':
      lines.push(`company ${result.result.company}`);
      for (const session of result.result.sessions) lines.push(sessionLine(session));
      lines.push(...batchLines(result.result.batches));
      break;
    case 'all':
      lines.push(`restarted: ${result.result.restarted.length > 0 ? result.result.restarted.join(', ') : 'nothing was down'}`);
      for (const failed of result.result.failedRestarts) lines.push(`restart of ${failed.path} failed: ${failed.error}`);
      for (const session of result.result.sessions) lines.push(sessionLine(session));
      lines.push(...batchLines(result.result.batches));
      break;
  }
  const problem = recoveryProblem(result);
  if (problem !== null) lines.push(`not everything could be done: ${problem}`);
  return paginate({ header: `${problem === null ? '✅' : '⚠️'} <b>recover ${escapeHtml(result.type)}</b>`, lines });
}

export function renderTest(result: TestResult): string[] {
  const pipeline = result.pipeline.ok
    ? `pipeline: ok in ${result.pipeline.durationMs} ms (actions: ${result.pipeline.actions.join(', ') || 'none'})`
    : `pipeline: failed in ${result.pipeline.durationMs} ms: ${result.pipeline.error}`;
  const send = result.send.sent ? `send: queued ${result.send.id} to ${result.send.to} on ${result.send.sessionId} (queue depth ${result.send.queueDepth})` : `send: skipped (${result.send.reason})`;
  return paginate({ header: `${result.pipeline.ok ? '✅' : '❌'} <b>test</b> ${escapeHtml(result.pipeline.batchId)}`, lines: [pipeline, send] });
}

export function renderSilence(silence: Silence): string[] {
  const matchers = silence.matchers.map((m) => `${m.name}${m.isRegex ? '=~' : '='}${JSON.stringify(m.value)}`).join(', ');
  return paginate({ header: '🔕 <b>silenced</b>', lines: [`matchers: ${matchers}`, `until: ${silence.endsAt}`, `id: ${silence.id}`, `comment: ${silence.comment}`] });
}

/** A refusal or a failure: its code (when it has one) and its message. */
export function renderError(error: unknown, scrub: (text: string) => string = (text) => text): string[] {
  const code = anyErrorCode(error);
  const message = scrub(describe(error));
  return paginate({ header: `❌ ${code ? `<b>${escapeHtml(code)}</b>: ` : ''}${escapeHtml(cut(message, 500))}`, lines: [] });
}

export function renderHelp(): string[] {
  return paginate({ header: '<b>ops bot</b> commands', lines: Object.values(USAGE) });
}

