import type { LogEntry } from '../operations/log-entry.js';
import type { HealthReport, LogsReport, QueueReport, RecoverResult, StatusReport, TestResult, WhatsAppRecovery, BatchRecovery } from '../operations/operations.js';
import type { StatusRow } from '../operations/status-report.js';
import type { AdminClient } from './admin-client.js';
import { EXIT, UsageError, type ExitCode } from './exit-codes.js';
import { humanDuration, parseDuration, relative } from '../operations/human-units.js';
import { paintStatus, renderTable, truncate, type Paint } from './table.js';

/** What every command is given: the client, how to print, and the parsed command line. */
export interface CommandContext {
  readonly client: AdminClient;
  readonly json: boolean;
  readonly paint: Paint;
  readonly out: (text: string) => void;
  readonly now: () => number;
  /** Positional arguments after the command name. */
  readonly args: readonly string[];
  readonly flags: ReadonlyMap<string, string | true>;
  /** Resolves when the user interrupts (Ctrl-C): `logs -f` stops following. */
  readonly interrupted: Promise<void>;
}

export type Command = (ctx: CommandContext) => Promise<ExitCode>;

const printJson = (ctx: CommandContext, value: unknown): void => ctx.out(JSON.stringify(value, null, 2));

function noteOf(row: StatusRow, ctx: CommandContext): string {
  if (row.dynamic) {
    const counts = Object.entries(row.dynamic.byStatus).map(([status, count]) => `${count} ${paintStatus(ctx.paint, status)}`);
    return `${row.dynamic.children} children${counts.length > 0 ? `: ${counts.join(', ')}` : ''}${row.dynamic.restarts > 0 ? `, ${row.dynamic.restarts} restarts` : ''}`;
  }
  if (row.outage) return `${row.outage.dependency} down ${relative(row.outage.since, ctx.now())}, ${row.outage.retries} retries${row.lastError ? `: ${truncate(row.lastError.message, 80)}` : ''}`;
  if (row.lastError) return `${ctx.paint.dim(relative(row.lastError.at, ctx.now()))} ${truncate(row.lastError.message, 90)}`;
  return '';
}

function healthLine(ctx: CommandContext, report: { status: string; score: number }): string {
  return `health: ${paintStatus(ctx.paint, report.status)} (score ${report.score})`;
}

const exitFor = (status: string): ExitCode => (status === 'unhealthy' ? EXIT.failed : EXIT.ok);

export const status: Command = async (ctx) => {
  const { body } = await ctx.client.call<StatusReport>('GET', '/admin/status');
  if (ctx.json) {
    printJson(ctx, body);
    return exitFor(body.status);
  }
  const rows = body.nodes.map((row) => [
    row.path,
    paintStatus(ctx.paint, row.status),
    String(row.restarts),
    row.status === 'running' ? humanDuration(row.uptimeMs) : '-',
    row.nextRestartAt ? relative(row.nextRestartAt, ctx.now()) : '-',
    String(row.mailboxDepth),
    noteOf(row, ctx),
  ]);
  ctx.out(`${healthLine(ctx, body)}  ${ctx.paint.dim(body.at)}\n${renderTable(['PATH', 'STATUS', '↺', 'UPTIME', 'NEXT RESTART', 'MAILBOX', 'NOTE'], rows, ctx.paint)}`);
  return exitFor(body.status);
};

export const tree: Command = async (ctx) => {
  const { body } = await ctx.client.call<StatusReport>('GET', '/admin/status');
  if (ctx.json) {
    printJson(ctx, body);
    return exitFor(body.status);
  }
  const nodes = body.nodes;
  const lines = nodes.map((row, index) => {
    // A node is its parent's last child when no later row at its depth comes before one shallower.
    const isLast = (at: number, depth: number): boolean => {
      for (let next = at + 1; next < nodes.length; next++) {
        const other = nodes[next] as StatusRow;
        if (other.depth < depth) return true;
        if (other.depth === depth) return false;
      }
      return true;
    };
    let prefix = '';
    for (let depth = 1; depth < row.depth; depth++) {
      // The ancestor at `depth`: the nearest row before this one at that depth.
      let ancestor = index;
      while (ancestor > 0 && (nodes[ancestor] as StatusRow).depth !== depth) ancestor--;
      prefix += isLast(ancestor, depth) ? '    ' : '│   ';
    }
    if (row.depth > 0) prefix += isLast(index, row.depth) ? '└── ' : '├── ';
    const name = row.path === '/' ? '/' : row.path.slice(row.path.lastIndexOf('/') + 1);
    const facts = [paintStatus(ctx.paint, row.status), row.restarts > 0 ? `↺ ${row.restarts}` : '', row.status === 'running' ? humanDuration(row.uptimeMs) : '', row.placement === 'thread' ? ctx.paint.dim('thread') : '', noteOf(row, ctx)].filter(Boolean);
    return `${prefix}${ctx.paint.bold(name)}  ${facts.join('  ')}`;
  });
  ctx.out(`${healthLine(ctx, body)}\n${lines.join('\n')}`);
  return exitFor(body.status);
};

export const health: Command = async (ctx) => {
  const { body } = await ctx.client.call<HealthReport>('GET', '/admin/health', { accept: [503] });
  if (ctx.json) {
    printJson(ctx, body);
    return exitFor(body.status);
  }
  const rows = Object.entries(body.checks).map(([name, check]) => [
    name,
    paintStatus(ctx.paint, check.status),
    'since' in check ? relative(check.since, ctx.now()) : '',
    truncate(check.message, 100),
  ]);
  const firing = body.firing.length === 0 ? 'alerts: none firing' : `alerts firing:\n${body.firing.map((group) => `  ${group.rule} (${group.firing}${group.silenced > 0 ? `, ${group.silenced} silenced` : ''}) ${ctx.paint.dim(group.groupKey)}`).join('\n')}`;
  ctx.out(`${healthLine(ctx, body)}\n${renderTable(['CHECK', 'STATUS', 'SINCE', 'MESSAGE'], rows, ctx.paint)}\n${firing}`);
  return exitFor(body.status);
};

export const restart: Command = async (ctx) => {
  const [path, ...extra] = ctx.args;
  if (!path || extra.length > 0 || !path.startsWith('/')) throw new UsageError('restart takes one tree path, for example: wa-runtime restart /whatsapp/salon1/socket');
  const { body } = await ctx.client.call<{ restarted?: string; restarting?: string; note?: string }>('POST', '/admin/restart', { body: { path } });
  if (ctx.json) printJson(ctx, body);
  else ctx.out(body.restarting ? `restarting ${body.restarting} (${body.note ?? ''})` : `restarted ${body.restarted ?? path}: backoff reset`);
  return EXIT.ok;
};

const RECOVER_TYPES = ['whatsapp', 'batches', 'company', 'all'] as const;

export const recover: Command = async (ctx) => {
  const [type, target, ...extra] = ctx.args;
  if (!type || !(RECOVER_TYPES as readonly string[]).includes(type)) throw new UsageError(`recover takes one of ${RECOVER_TYPES.join(', ')}`);
  if (extra.length > 0) throw new UsageError(`recover ${type}: unexpected ${extra.join(' ')}`);
  const needsTarget = type === 'whatsapp' || type === 'company';
  if (needsTarget && !target) throw new UsageError(`recover ${type} needs a ${type === 'whatsapp' ? 'session id' : 'company id'}`);
  if (!needsTarget && target) throw new UsageError(`recover ${type} takes no target`);
  const repair = ctx.flags.has('repair');
  const pair = ctx.flags.has('pair');
  if ((repair || pair) && type !== 'whatsapp') throw new UsageError('--repair and --pair are for recover whatsapp');
  if (repair && pair) throw new UsageError('--repair or --pair, not both');
  const phone = ctx.flags.get('phone');
  if (phone !== undefined && !pair) throw new UsageError('--phone goes with --pair (a pairing code for that phone)');
  if (typeof phone === 'string' && !/^\+?[0-9][0-9 ()-]{6,24}$/.test(phone)) throw new UsageError(`--phone ${JSON.stringify(phone)} is not a phone number (digits, in international form)`);
  const body = {
    ...(target ? { target } : {}),
    ...(repair ? { mode: 'repair' } : pair ? { mode: 'pair' } : {}),
    ...(typeof phone === 'string' ? { phone } : {}),
  };
  const answer = await ctx.client.call<{ ok: boolean; problem?: string } & RecoverResult>('POST', `/admin/recover/${type}`, { body });
  if (ctx.json) printJson(ctx, answer.body);
  else ctx.out(describeRecovery(answer.body, ctx));
  if (answer.body.ok) return EXIT.ok;
  // Done as far as it could go: the report is printed, and the exit code says it is not all.
  process.stderr.write(`wa-runtime recover ${type}: not everything could be done: ${answer.body.problem ?? 'see above'}\n`);
  return EXIT.failed;
};

function sessionLine(result: WhatsAppRecovery, ctx: CommandContext): string {
  const change = `${result.before === null ? '?' : paintStatus(ctx.paint, result.before)} → ${result.after === null ? '?' : paintStatus(ctx.paint, result.after)}`;
  const extras = [
    result.cleared !== undefined ? `${result.cleared} Signal sessions cleared, credentials kept` : '',
    result.pairingCode ? `pairing code ${ctx.paint.bold(result.pairingCode)}` : '',
    result.note ?? '',
    result.error ? ctx.paint.red(`failed: ${result.error}`) : '',
  ].filter(Boolean);
  return `  ${result.sessionId}: ${result.mode} ${change}${extras.length > 0 ? ` — ${extras.join('; ')}` : ''}`;
}

function batchLines(result: BatchRecovery): string {
  const lines = [
    `  pending conversations re-armed: ${result.rearmed}`,
    `  expired in-flight batches re-delivered: ${result.reclaimed}`,
    `  dead letters retried: ${result.deadLetters.retried} (${result.deadLetters.queued} handed to the pipeline now, ${result.deadLetters.left} left)`,
  ];
  if (result.waitingForStore) lines.push(`  the store could not be reached: ${result.waitingForStore}`);
  return lines.join('\n');
}

function describeRecovery(result: RecoverResult, ctx: CommandContext): string {
  switch (result.type) {
    case 'whatsapp':
      return `recover whatsapp\n${sessionLine(result.result, ctx)}`;
    case 'batches':
      return `recover batches\n${batchLines(result.result)}`;
    case 'company':
      return `recover company ${result.result.company}\n sessions:\n${result.result.sessions.map((line) => sessionLine(line, ctx)).join('\n') || '  none'}\n batches:\n${batchLines(result.result.batches)}`;
    case 'all':
      return [
        'recover all',
        ` restarted: ${result.result.restarted.join(', ') || 'nothing was down'}`,
        ...result.result.failedRestarts.map((line) => ctx.paint.red(`  restart of ${line.path} failed: ${line.error}`)),
        ` sessions:\n${result.result.sessions.map((line) => sessionLine(line, ctx)).join('\n') || '  every session is open'}`,
        ` batches:\n${batchLines(result.result.batches)}`,
      ].join('\n');
  }
}

export const queue: Command = async (ctx) => {
  const { body } = await ctx.client.call<QueueReport>('GET', '/admin/queue');
  if (ctx.json) {
    printJson(ctx, body);
    return EXIT.ok;
  }
  const p = body.pipeline;
  const lines = [
    p ? `pipeline: ${p.queued} queued, ${p.running} running, ${p.waitingRetry} waiting to retry; ${p.delivered} delivered, ${p.retried} retried, ${p.deadLettered} dead-lettered since start` : 'pipeline: not answering (restarting?)',
    body.store
      ? `store: ${body.store.pendingConversations ?? '?'} conversations pending, ${body.store.inFlightBatches ?? '?'} batches in flight${body.store.oldestPendingAt ? `, oldest pending ${relative(new Date(body.store.oldestPendingAt).toISOString(), ctx.now())}` : ''}`
      : 'store: not reachable',
    `dead letters: ${body.deadLetters.total}`,
  ];
  if (body.deadLetters.oldest.length > 0) {
    lines.push(
      renderTable(
        ['BATCH', 'SESSION', 'PHONE', 'MSGS', 'DEAD', 'LAST ERROR'],
        body.deadLetters.oldest.map((letter) => [letter.batchId, letter.sessionId, letter.phone, String(letter.messages), relative(letter.deadAt, ctx.now()), truncate(letter.error, 80)]),
        ctx.paint,
      ),
    );
  }
  ctx.out(lines.join('\n'));
  return EXIT.ok;
};

interface DeadLetterList {
  total: number;
  deadLetters: { batchId: string; sessionId: string; phone: string; messages: unknown[]; error: string; deadAt: string }[];
}

export const deadLetters: Command = async (ctx) => {
  const [action, id, ...extra] = ctx.args;
  if (extra.length > 0) throw new UsageError(`dead-letters: unexpected ${extra.join(' ')}`);
  if (action === undefined || action === 'list') {
    const { body } = await ctx.client.call<DeadLetterList>('GET', '/admin/dead-letters');
    if (ctx.json) printJson(ctx, body);
    else {
      const rows = body.deadLetters.map((letter) => [letter.batchId, letter.sessionId, letter.phone, String(letter.messages.length), relative(letter.deadAt, ctx.now()), truncate(letter.error, 80)]);
      ctx.out(`${body.total} dead letters\n${rows.length > 0 ? renderTable(['BATCH', 'SESSION', 'PHONE', 'MSGS', 'DEAD', 'LAST ERROR'], rows, ctx.paint) : ''}`.trimEnd());
    }
    return EXIT.ok;
  }
  if ((action !== 'retry' && action !== 'drop') || !id) throw new UsageError('dead-letters [list | retry <batchId> | drop <batchId>]');
  const path = `/admin/dead-letters/${encodeURIComponent(id)}${action === 'retry' ? '/retry' : ''}`;
  const { body } = await ctx.client.call<{ queued?: boolean }>(action === 'retry' ? 'POST' : 'DELETE', path);
  if (ctx.json) printJson(ctx, body);
  else ctx.out(action === 'retry' ? `retried ${id}: ${body.queued ? 'handed to the pipeline' : 'back in flight; the recovery sweep delivers it'}` : `dropped ${id} for good`);
  return EXIT.ok;
};

function logLine(entry: LogEntry, ctx: CommandContext): string {
  const level = entry.level === 'error' || entry.level === 'fatal' ? ctx.paint.red(entry.level) : entry.level === 'warn' ? ctx.paint.yellow(entry.level) : entry.level;
  const fields = Object.keys(entry.fields).length > 0 ? ` ${ctx.paint.dim(JSON.stringify(entry.fields))}` : '';
  return `${ctx.paint.dim(entry.time ?? '')} ${level} ${entry.msg}${fields}`;
}

/** How often `logs -f` asks for what is new. */
const FOLLOW_POLL_MS = 500;

export const logs: Command = async (ctx) => {
  if (ctx.args.length > 0) throw new UsageError(`logs: unexpected ${ctx.args.join(' ')}`);
  const level = ctx.flags.get('level') ?? 'warn';
  if (level !== 'warn' && level !== 'info') throw new UsageError('--level is warn or info');
  const count = ctx.flags.get('lines') ?? '100';
  if (typeof count !== 'string' || !/^\d{1,6}$/.test(count)) throw new UsageError('--lines takes a number');
  const follow = ctx.flags.has('follow');
  const show = (report: LogsReport): void => {
    if (report.skipped > 0 && !ctx.json) ctx.out(ctx.paint.dim(`… ${report.skipped} lines went by faster than they could be shown (LOG_BUFFER_LINES ${report.capacity})`));
    if (ctx.json) for (const line of report.lines) ctx.out(JSON.stringify(line));
    else for (const line of report.lines) ctx.out(logLine(line, ctx));
  };
  let report = (await ctx.client.call<LogsReport>('GET', `/admin/logs?level=${level}&limit=${count}`)).body;
  if (!follow && ctx.json) {
    printJson(ctx, report);
    return EXIT.ok;
  }
  show(report);
  if (!follow) return EXIT.ok;
  let stop = false;
  void ctx.interrupted.then(() => {
    stop = true;
  });
  while (!stop) {
    await Promise.race([new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS)), ctx.interrupted]);
    if (stop) break;
    report = (await ctx.client.call<LogsReport>('GET', `/admin/logs?level=${level}&limit=100000&after=${report.next}`)).body;
    show(report);
  }
  return EXIT.ok;
};

interface AlertsBody {
  groups: { rule: string; groupKey: string; firing: number; alerts: { status: string; labels: Record<string, string>; silenced: boolean; startsAt?: string }[] }[];
  silences: { id: string; matchers: { name: string; value: string; isRegex?: boolean }[]; endsAt: string; createdBy: string; comment: string }[];
}

export const alerts: Command = async (ctx) => {
  const { body } = await ctx.client.call<AlertsBody>('GET', '/alerts');
  if (ctx.json) {
    printJson(ctx, body);
    return EXIT.ok;
  }
  const firing = body.groups.filter((group) => group.firing > 0);
  const lines = [firing.length === 0 ? 'no alert firing' : `${firing.length} alert groups firing`];
  for (const group of firing) {
    lines.push(`${ctx.paint.red(group.rule)} ${ctx.paint.dim(group.groupKey)}`);
    for (const alert of group.alerts) lines.push(`  ${paintStatus(ctx.paint, alert.status === 'firing' ? 'critical' : 'ok')} ${Object.entries(alert.labels).map(([k, v]) => `${k}=${v}`).join(' ')}${alert.silenced ? ctx.paint.dim(' (silenced)') : ''}`);
  }
  lines.push(body.silences.length === 0 ? 'no silences' : `silences:\n${silenceRows(body.silences, ctx)}`);
  ctx.out(lines.join('\n'));
  return EXIT.ok;
};

function silenceRows(silences: AlertsBody['silences'], ctx: CommandContext): string {
  return renderTable(
    ['ID', 'MATCHERS', 'ENDS', 'BY', 'COMMENT'],
    silences.map((silence) => [silence.id, silence.matchers.map((m) => `${m.name}${m.isRegex ? '=~' : '='}${m.value}`).join(' '), relative(silence.endsAt, ctx.now()), silence.createdBy, truncate(silence.comment, 60)]),
    ctx.paint,
  );
}

/** `silence rule=whatsapp_down session=~salon.* --for 2h [--comment why]`, `silence list`, `silence delete <id>`. */
export const silence: Command = async (ctx) => {
  const [first, ...rest] = ctx.args;
  if (first === undefined || first === 'list') {
    const { body } = await ctx.client.call<{ silences: AlertsBody['silences'] }>('GET', '/admin/alerts/silences');
    if (ctx.json) printJson(ctx, body);
    else ctx.out(body.silences.length === 0 ? 'no silences' : silenceRows(body.silences, ctx));
    return EXIT.ok;
  }
  if (first === 'delete') {
    const [id, ...extra] = rest;
    if (!id || extra.length > 0) throw new UsageError('silence delete <id>');
    const { body } = await ctx.client.call('DELETE', `/admin/alerts/silences/${encodeURIComponent(id)}`);
    if (ctx.json) printJson(ctx, body);
    else ctx.out(`silence ${id} deleted`);
    return EXIT.ok;
  }
  const matchers = ctx.args.map((text) => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(=~|=)(.*)$/.exec(text);
    if (!match) throw new UsageError(`silence: ${JSON.stringify(text)} is not a matcher (name=value or name=~regex)`);
    return { name: match[1] as string, value: match[3] as string, isRegex: match[2] === '=~' };
  });
  const duration = ctx.flags.get('for');
  const durationMs = typeof duration === 'string' ? parseDuration(duration) : undefined;
  if (durationMs === undefined) throw new UsageError('silence needs --for <duration>, for example --for 2h or --for 30m');
  const comment = ctx.flags.get('comment');
  const { body } = await ctx.client.call<{ id: string; endsAt: string }>('POST', '/admin/alerts/silence', {
    body: { matchers, durationMs, ...(typeof comment === 'string' ? { comment } : {}) },
  });
  if (ctx.json) printJson(ctx, body);
  else ctx.out(`silence ${body.id} until ${body.endsAt}`);
  return EXIT.ok;
};

export const test: Command = async (ctx) => {
  if (ctx.args.length > 0) throw new UsageError(`test: unexpected ${ctx.args.join(' ')}`);
  const session = ctx.flags.get('session');
  const { body } = await ctx.client.call<{ ok: boolean } & TestResult>('POST', '/admin/test', { body: typeof session === 'string' ? { session } : {}, accept: [502] });
  if (ctx.json) printJson(ctx, body);
  else {
    const p = body.pipeline;
    ctx.out(
      [
        `pipeline dry run ${p.batchId}: ${p.ok ? `${ctx.paint.green('ok')} in ${p.durationMs} ms (handler asked for ${p.actions.length === 0 ? 'nothing' : p.actions.join(', ')}; not carried out)` : `${ctx.paint.red('failed')} after ${p.durationMs} ms: ${p.error}`}`,
        body.send.sent ? `test message queued on ${body.send.sessionId} to ${body.send.to}: ${body.send.id} (queue depth ${body.send.queueDepth})` : `no test message sent: ${body.send.reason}`,
      ].join('\n'),
    );
  }
  return body.ok ? EXIT.ok : EXIT.failed;
};

export const COMMANDS: Readonly<Record<string, Command>> = {
  status,
  tree,
  health,
  restart,
  recover,
  queue,
  'dead-letters': deadLetters,
  logs,
  alerts,
  silence,
  test,
};
