import { parseDuration } from '../../src/operations/human-units.js';
import type { SilenceMatcher } from '../alerts/silences.js';
import type { RecoverRequest } from '../../src/operations/operations.js';

/** `/logs` without a count, and the most it prints. */
export const DEFAULT_LOG_LINES = 50;
export const MAX_LOG_LINES = 5_000;
/** Longest argument taken (a path, a session id): anything longer is not one of ours. */
const MAX_ARGUMENT = 200;

/** A command the bot understood, its arguments parsed (not yet checked against the tree). */
export type BotCommand =
  | { readonly kind: 'status' }
  | { readonly kind: 'health' }
  | { readonly kind: 'queue' }
  | { readonly kind: 'test' }
  | { readonly kind: 'help' }
  | { readonly kind: 'logs'; readonly limit: number }
  | { readonly kind: 'restart'; readonly path: string }
  | { readonly kind: 'recover'; readonly request: RecoverRequest }
  | { readonly kind: 'silence'; readonly matchers: readonly SilenceMatcher[]; readonly durationMs: number; readonly comment: string };

export type CommandName = BotCommand['kind'];

/** What a message's text is to the bot. */
export type ParsedText =
  | { readonly type: 'command'; readonly command: BotCommand }
  /** A known command with arguments it does not take: `message` says what it takes. */
  | { readonly type: 'usage'; readonly name: CommandName; readonly message: string }
  | { readonly type: 'unknown'; readonly name: string }
  /** `/cmd@otherbot`: meant for another bot in the group. */
  | { readonly type: 'other_bot'; readonly name: string }
  | { readonly type: 'not_command' };

export const USAGE: Readonly<Record<CommandName, string>> = {
  status: '/status — every actor: status, restarts, uptime, last error',
  health: '/health — the score, the checks, what is firing',
  restart: '/restart <path> — restart an actor or a subtree (asks first), e.g. /restart /http',
  recover: '/recover whatsapp <session> [--repair|--pair [phone]] | batches | company <id> | all — (asks first)',
  logs: `/logs [n] — the last n warn+ log lines (default ${DEFAULT_LOG_LINES}, at most ${MAX_LOG_LINES})`,
  queue: '/queue — pipeline depth, retries waiting, dead letters',
  test: '/test — a dry run through the pipeline (and OPS_TEST_PHONE, when set)',
  silence: '/silence <rule name | name=value,name=~regex> <duration like 30m, 2h, 1d> [comment]',
  help: '/help — this list',
};

const NAMES = new Set<string>(Object.keys(USAGE));

/**
 * The command in a message's text: `/name[@bot] args…`. Arguments are split on whitespace and
 * only ever become values of typed requests (a path, a session id); nothing reaches a shell.
 * `username` is this bot's: `/cmd@another_bot` is left to that bot.
 */
export function parseCommand(text: string, username?: string): ParsedText {
  const trimmed = text.trim();
  if (!trimmed.startsWith('/')) return { type: 'not_command' };
  const [head = '', ...args] = trimmed.split(/\s+/);
  const match = /^\/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?$/.exec(head);
  if (!match) return { type: 'not_command' };
  const name = (match[1] as string).toLowerCase();
  const addressee = match[2];
  if (addressee !== undefined && username !== undefined && addressee.toLowerCase() !== username.toLowerCase()) return { type: 'other_bot', name };
  if (name === 'start') return { type: 'command', command: { kind: 'help' } };
  if (!NAMES.has(name)) return { type: 'unknown', name };
  const kind = name as CommandName;
  const usage = (why?: string): ParsedText => ({ type: 'usage', name: kind, message: `${why ? `${why}. ` : ''}Usage: ${USAGE[kind]}` });
  if (args.some((arg) => arg.length > MAX_ARGUMENT)) return usage('an argument is too long');
  switch (kind) {
    case 'status':
    case 'health':
    case 'queue':
    case 'test':
    case 'help':
      return args.length === 0 ? { type: 'command', command: { kind } } : usage(`/${kind} takes no arguments`);
    case 'logs': {
      if (args.length === 0) return { type: 'command', command: { kind, limit: DEFAULT_LOG_LINES } };
      if (args.length > 1 || !/^\d{1,6}$/.test(args[0] as string)) return usage();
      const limit = Number(args[0]);
      if (limit < 1 || limit > MAX_LOG_LINES) return usage(`n must be between 1 and ${MAX_LOG_LINES}`);
      return { type: 'command', command: { kind, limit } };
    }
    case 'restart': {
      if (args.length !== 1) return usage();
      const path = normalisePath(args[0] as string);
      if (path === undefined) return usage(`${JSON.stringify(args[0])} is not a tree path`);
      return { type: 'command', command: { kind, path } };
    }
    case 'recover':
      return parseRecover(args, usage);
    case 'silence':
      return parseSilence(args, usage);
  }
}

/** `http`, `/http/`, `/whatsapp/salon1` as `/http`, `/whatsapp/salon1`; undefined for what cannot be a path. */
export function normalisePath(text: string): string | undefined {
  let path = text.startsWith('/') ? text : `/${text}`;
  if (path.length > 1) path = path.replace(/\/+$/, '');
  if (path === '') path = '/';
  if (path === '/') return path;
  // Child ids never hold '/', whitespace or control characters; empty segments are not paths.
  if (!/^(\/[^/\s\p{Cc}]+)+$/u.test(path)) return undefined;
  return path;
}

function parseRecover(args: readonly string[], usage: (why?: string) => ParsedText): ParsedText {
  const [type, ...rest] = args;
  const flags = rest.filter((arg) => arg.startsWith('--'));
  const positional = rest.filter((arg) => !arg.startsWith('--'));
  switch (type) {
    case 'batches':
    case 'all':
      if (rest.length > 0) return usage(`recover ${type} takes no target`);
      return { type: 'command', command: { kind: 'recover', request: { type } } };
    case 'company': {
      if (positional.length !== 1 || flags.length > 0) return usage('recover company needs one company id');
      return { type: 'command', command: { kind: 'recover', request: { type, company: positional[0] as string } } };
    }
    case 'whatsapp': {
      const [sessionId, phone, ...extra] = positional;
      if (sessionId === undefined) return usage('recover whatsapp needs a session id');
      const unknown = flags.find((flag) => flag !== '--repair' && flag !== '--pair');
      if (unknown) return usage(`unknown option ${unknown}`);
      if (flags.length > 1) return usage('give --repair or --pair, not both');
      const mode = flags[0] === '--repair' ? 'repair' : flags[0] === '--pair' ? 'pair' : 'reconnect';
      if (extra.length > 0 || (phone !== undefined && mode !== 'pair')) return usage('unexpected arguments');
      if (phone !== undefined && !/^\+?\d{7,15}$/.test(phone)) return usage(`${JSON.stringify(phone)} is not a phone number (7 to 15 digits)`);
      const request: RecoverRequest = { type: 'whatsapp', sessionId, mode, ...(phone !== undefined ? { phone: phone.replace(/^\+/, '') } : {}) };
      return { type: 'command', command: { kind: 'recover', request } };
    }
    default:
      return usage(type === undefined ? 'recover needs a type' : `unknown recovery ${JSON.stringify(type)}`);
  }
}

function parseSilence(args: readonly string[], usage: (why?: string) => ParsedText): ParsedText {
  // The rule may have spaces (`whatsapp session down 2h`): it runs up to the first duration.
  const at = args.findIndex((arg, index) => index > 0 && parseDuration(arg) !== undefined);
  if (at < 1) return usage(args.length < 2 ? undefined : 'no duration (30m, 2h, 1d, 1h30m) after the rule');
  const ruleWords = args.slice(0, at);
  const durationMs = parseDuration(args[at] as string) as number;
  const comment = args.slice(at + 1).join(' ');
  const matchers: SilenceMatcher[] = [];
  if (ruleWords.some((word) => word.includes('='))) {
    for (const part of ruleWords.join(',').split(',')) {
      if (part === '') continue;
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(=~|=)(.*)$/.exec(part);
      if (!match) return usage(`${JSON.stringify(part)} is not a matcher (name=value or name=~regex)`);
      matchers.push({ name: match[1] as string, value: match[3] as string, isRegex: match[2] === '=~' });
    }
  } else {
    matchers.push({ name: 'rule', value: ruleWords.join(' ') });
  }
  if (matchers.length === 0) return usage();
  return { type: 'command', command: { kind: 'silence', matchers, durationMs, comment: comment || 'silenced from the ops bot' } };
}

/** What a command is checked against before anything is asked or run. */
export interface CommandScope {
  hasPath(path: string): boolean;
  /** WA_SESSIONS. */
  readonly sessions: readonly string[];
  /** COMPANIES' ids. */
  readonly companies: readonly string[];
}

/** Why `command` cannot run as given (an unknown path, session or company), or undefined. */
export function validateCommand(command: BotCommand, scope: CommandScope): string | undefined {
  if (command.kind === 'restart') {
    if (command.path === '/') return 'the root cannot be restarted from the bot; stop the process (SIGTERM) instead';
    if (!scope.hasPath(command.path)) return `no actor at ${command.path} (/status lists the tree)`;
  }
  if (command.kind === 'recover') {
    const request = command.request;
    if (request.type === 'whatsapp' && !scope.sessions.includes(request.sessionId)) {
      return `no session ${JSON.stringify(request.sessionId)} (WA_SESSIONS: ${scope.sessions.join(', ') || 'none'})`;
    }
    if (request.type === 'company' && !scope.companies.includes(request.company)) {
      return `no company ${JSON.stringify(request.company)} in COMPANIES (${scope.companies.join(', ') || 'none configured'})`;
    }
  }
  return undefined;
}

/** A command as one line, for the confirmation question and the log: `restart /http`. */
export function describeCommand(command: BotCommand): string {
  switch (command.kind) {
    case 'restart':
      return `restart ${command.path}`;
    case 'recover': {
      const request = command.request;
      switch (request.type) {
        case 'whatsapp':
          return `recover whatsapp ${request.sessionId}${request.mode && request.mode !== 'reconnect' ? ` --${request.mode}` : ''}`;
        case 'company':
          return `recover company ${request.company}`;
        default:
          return `recover ${request.type}`;
      }
    }
    case 'logs':
      return `logs ${command.limit}`;
    default:
      return command.kind;
  }
}

export function needsConfirmation(command: BotCommand): command is Extract<BotCommand, { kind: 'restart' | 'recover' }> {
  return command.kind === 'restart' || command.kind === 'recover';
}
