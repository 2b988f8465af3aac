/**
 * The process entry point (`npm start`): config from the environment, the runtime, and
 * the process's own duties (signals, exit codes). Exit codes: 0 after a requested
 * shutdown, 1 when the root supervisor failed or shutdown overran SHUTDOWN_TIMEOUT_MS,
 * 78 (EX_CONFIG) for an invalid configuration.
 */
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type LoadedConfig } from './config/config.js';
import { createLogger } from './logging/logger.js';
import { Runtime } from './runtime.js';

const EXIT_CONFIG = 78;

function readConfig(): LoadedConfig {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const loaded = readConfig();
  const logger = createLogger({ level: loaded.config.logLevel });
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
        await runtime.shutdown();
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

  await runtime.start();
  const address = await runtime.httpAddress().catch(() => undefined);
  logger.info({ http: address ?? 'not listening yet (see /http in the tree)', config: loaded.effective }, 'runtime started');
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

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
