/**
 * `wa-runtime <command>`: the runtime's command line. `start` runs the runtime in this
 * process (what a systemd unit or a PM2 entry runs); more commands (status, restart,
 * recover, logs) come with the operations issue.
 */
import { readPackageInfo } from './service-info.js';
import { failedToStart, runRuntime } from './process/run-runtime.js';

const USAGE = `usage: wa-runtime <command>

commands:
  start      run the runtime (configured by environment variables; see README.md)
  version    print the version
  help       print this help
`;

const EXIT_USAGE = 64;

export async function cli(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      if (rest.length > 0) {
        process.stderr.write(`wa-runtime start takes no arguments (got ${rest.join(' ')}); configure it with environment variables\n`);
        process.exit(EXIT_USAGE);
      }
      await runRuntime();
      return;
    case 'version':
    case '--version':
      process.stdout.write(`${readPackageInfo().version}\n`);
      return;
    case 'help':
    case '--help':
    case undefined:
      process.stdout.write(USAGE);
      if (command === undefined) process.exitCode = EXIT_USAGE;
      return;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      process.exit(EXIT_USAGE);
  }
}

cli(process.argv.slice(2)).catch(failedToStart);
