/**
 * The runtime as a process: config from the environment, the runtime, and the process's own
 * duties (signals, exit codes, following the npm that started it). Exit codes: 0 after a
 * requested shutdown, 1 when the root supervisor failed or shutdown overran
 * SHUTDOWN_TIMEOUT_MS, 74 when a shutdown could not keep accepted messages (the memory
 * store's spill failed), 78 (EX_CONFIG) when start-up is refused: an invalid configuration,
 * HANDLER_MODULE, a data file another runtime holds, a spill that cannot be read.
 */
import type { Logger } from 'pino';
import { HandlerModuleError } from '../../actors/pipeline/handler-check.js';
import { describe } from '../errors.js';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/config.js';
import { createLogger } from '../logging/logger.js';
import { createLogRings } from '../logging/log-ring.js';
import { Runtime } from '../runtime.js';

export const EXIT_CONFIG = 78;
/** EX_IOERR: the shutdown could not write what it had to keep. */
export const EXIT_NOT_KEPT = 74;

/** How often the runtime checks that the npm process that started it is still there. */
const PARENT_WATCH_MS = 500;

function readConfig(env: NodeJS.ProcessEnv): LoadedConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

export async function runRuntime(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const loaded = readConfig(env);
  const logs = createLogRings(loaded.config.ops.logBufferLines);
  const logger = createLogger({ level: loaded.config.logLevel, rings: logs });
  let stopping: Promise<void> | undefined;

  const stop = (code: number, why: string): Promise<void> => {
    stopping ??= (async () => {
      // Set now: if shutdown hangs and the process drains out, it must not exit 0.
      process.exitCode = code === 0 ? 1 : code;
      logger.info({ why }, 'shutting down');
      const deadline = setTimeout(() => {
        logger.error({ timeoutMs: loaded.config.shutdownTimeoutMs }, 'shutdown overran SHUTDOWN_TIMEOUT_MS; exiting');
        process.exit(1);
      }, loaded.config.shutdownTimeoutMs);
      deadline.unref();
      try {
        const report = await runtime.shutdown();
        if (report.lost > 0) code = EXIT_NOT_KEPT;
      } catch (error) {
        logger.error({ err: error }, 'error during shutdown');
        code = 1;
      }
      logger.info({ code }, 'stopped');
      process.exit(code);
    })();
    return stopping;
  };

  const runtime = new Runtime({
    loaded,
    logger,
    logs,
    onRootFailure: (error) => void stop(1, `root supervisor failed: ${error.message}`),
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) {
        logger.warn({ signal }, 'second signal during shutdown; exiting now');
        process.exit(1);
      }
      void stop(0, signal);
    });
  }
  installCrashHandlers(logger, (why) => void stop(1, why));
  if (env.npm_lifecycle_event) followParent(logger, (why) => void stop(0, why));

  try {
    await runtime.preflight();
  } catch (error) {
    process.stderr.write(`${error instanceof HandlerModuleError ? error.message : `start-up refused: ${describe(error)}`}\n`);
    await runtime.shutdown().catch(() => undefined);
    process.exit(EXIT_CONFIG);
  }
  await runtime.start();
  const address = await runtime.httpAddress().catch(() => undefined);
  logger.info({ http: address ?? 'not listening yet (see /http in the tree)', config: loaded.effective }, 'runtime started');
}

/**
 * Under `npm start` the runtime is npm's child, and npm does not pass SIGTERM on: it exits
 * and leaves its child running, re-parented, holding the port. The runtime notices its parent
 * is gone and shuts down as it would on SIGTERM. (Production runs `node` directly: README.)
 */
function followParent(logger: Logger, stop: (why: string) => void): void {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    logger.warn({ parent }, 'the npm process that started the runtime is gone; shutting down');
    stop('parent process exited');
  }, PARENT_WATCH_MS);
  watch.unref();
}

/** An error no actor caught is a bug: log it, stop in order, exit non-zero for the outer manager. */
function installCrashHandlers(logger: Logger, stop: (why: string) => void): void {
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    stop(`uncaught exception: ${error.message}`);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    stop('unhandled promise rejection');
  });
}

/** For entry points: a failure before the runtime could log is printed plainly. */
export function failedToStart(error: unknown): never {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
