/**
 * `wa-runtime <command>`: the runtime's command line. `start` runs the runtime in this
 * process (what a systemd unit or a PM2 entry runs); every other command talks to a running
 * runtime over its admin API (src/cli/commands.ts), with ADMIN_TOKEN from the environment.
 * Exit codes (src/cli/exit-codes.ts): 0 ok, 1 unhealthy or failed, 2 usage, 3 unreachable.
 */
import { AdminClient, OperationFailedError, UnreachableError } from './cli/admin-client.js';
import { COMMANDS } from './cli/commands.js';
import { EXIT, UsageError } from './cli/exit-codes.js';
import { paintFor } from './cli/table.js';
import { readPackageInfo } from './service-info.js';

const USAGE = `usage: wa-runtime <command> [options]

commands:
  start                          run the runtime (configured by environment variables; see README.md)
  status                         every actor: status, restarts, uptime, next restart, last error
  tree                           the supervision tree
  health                         the health score, every check, the alerts firing
  restart <path>                 restart an actor or a subtree now (backoff reset)
  recover whatsapp <session> [--repair | --pair [--phone <number>]]
  recover batches                re-arm pending conversations, re-deliver expired batches, retry dead letters
  recover company <id>           the sessions and batches of one company (COMPANIES)
  recover all                    everything above, in order, without restarting the process
  queue                          pipeline depth, retries waiting, dead letters with their last error
  dead-letters [retry|drop <id>] list, retry or drop dead letters
  logs [-f] [--level info] [--lines N]
                                 recent warn and error lines (-f follows)
  alerts                         alert groups firing, and silences
  silence <name=value>... --for <duration> [--comment <text>] | silence list | silence delete <id>
  test [--session <id>]          a dry run through the pipeline (and a real message with OPS_TEST_PHONE)
  version                        print the version
  help                           print this help

options:
  --url <url>    the runtime (default http://127.0.0.1:$PORT, PORT defaulting to 3000)
  --json         print the API's JSON, for scripts
ADMIN_TOKEN is read from the environment. Exit codes: 0 ok, 1 unhealthy or failed, 2 usage, 3 unreachable.
`;

/** Flags that take a value, and what their short forms are. */
const VALUE_FLAGS = new Set(['url', 'level', 'lines', 'phone', 'for', 'comment', 'session']);
const BOOLEAN_FLAGS = new Set(['json', 'follow', 'repair', 'pair']);
const SHORT: Readonly<Record<string, string>> = { f: 'follow', n: 'lines' };
/** Every command takes --url and --json; these take more (a flag of another command is a usage error, not ignored). */
const COMMAND_FLAGS: Readonly<Record<string, readonly string[]>> = {
  recover: ['repair', 'pair', 'phone'],
  logs: ['follow', 'level', 'lines'],
  silence: ['for', 'comment'],
  test: ['session'],
};

/** Operations that may take a while (a recovery sweep walks every pending conversation). */
const TIMEOUT_MS = 120_000;

interface Parsed {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

function parse(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const [rawName, inline] = arg.replace(/^--?/, '').split(/=(.*)/s, 2) as [string, string | undefined];
    const name = arg.startsWith('--') ? rawName : (SHORT[rawName] ?? rawName);
    if (BOOLEAN_FLAGS.has(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
    } else if (VALUE_FLAGS.has(name)) {
      const value = inline ?? argv[++index];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  return { positional, flags };
}

function baseUrl(flag: string | true | undefined, env: NodeJS.ProcessEnv): string {
  const raw = typeof flag === 'string' ? flag : `http://127.0.0.1:${env.PORT && /^\d+$/.test(env.PORT) ? env.PORT : '3000'}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url: ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be http: or https:');
  return url.toString().replace(/\/+$/, '');
}

export async function cli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  const out = (text: string): void => void process.stdout.write(`${text}\n`);
  switch (command) {
    case 'start': {
      if (rest.length > 0) {
        process.stderr.write(`wa-runtime start takes no arguments (got ${rest.join(' ')}); configure it with environment variables\n`);
        return EXIT.usage;
      }
      // Loaded only here: the other commands never load the runtime.
      const { runRuntime } = await import('./process/run-runtime.js');
      await runRuntime();
      return -1;
    }
    case 'version':
    case '--version':
      out(readPackageInfo().version);
      return EXIT.ok;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return EXIT.ok;
    case undefined:
      process.stderr.write(USAGE);
      return EXIT.usage;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  let interrupt: () => void = () => undefined;
  const interrupted = new Promise<void>((resolve) => {
    interrupt = resolve;
  });
  const onSignal = (): void => interrupt();
  try {
    const { positional, flags } = parse(rest);
    const allowed = COMMAND_FLAGS[command] ?? [];
    const foreign = [...flags.keys()].find((name) => name !== 'url' && name !== 'json' && !allowed.includes(name));
    if (foreign) throw new UsageError(`--${foreign} is not an option of ${command}`);
    // Only a follow waits for Ctrl-C to end cleanly; any other command is simply interrupted.
    if (flags.has('follow')) {
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    const client = new AdminClient({ url: baseUrl(flags.get('url'), env), token: env.ADMIN_TOKEN?.trim() || undefined, timeoutMs: TIMEOUT_MS });
    return await run({ client, json: flags.has('json'), paint: paintFor(process.stdout, env), out, now: Date.now, args: positional, flags, interrupted });
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`wa-runtime ${command}: ${error.message}\n(wa-runtime help lists the commands)\n`);
      return EXIT.usage;
    }
    if (error instanceof UnreachableError) {
      process.stderr.write(`wa-runtime: ${error.message}\n`);
      return EXIT.unreachable;
    }
    if (error instanceof OperationFailedError) {
      if (flagJson(rest)) out(JSON.stringify(error.body, null, 2));
      const hint = error.status === 401 ? ' (set ADMIN_TOKEN to the runtime\'s admin token)' : '';
      process.stderr.write(`wa-runtime ${command}: ${error.code} (${error.status}): ${error.message}${hint}\n`);
      return EXIT.failed;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const flagJson = (argv: readonly string[]): boolean => argv.includes('--json');

cli(process.argv.slice(2)).then(
  (code) => {
    // -1: `start` keeps running; the runtime decides when the process exits.
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`wa-runtime: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
