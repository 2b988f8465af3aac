import { RuntimeError, anyErrorCode } from '../../src/errors.js';
import { PiscinaRunner } from './handler-runner.js';

/** HANDLER_MODULE cannot be used; start-up stops with exit 78 (EX_CONFIG), naming the variable. */
export class HandlerModuleError extends RuntimeError {
  constructor(readonly handlerModule: string, problem: string) {
    super('WAR_ERR_HANDLER_INVALID', `HANDLER_MODULE ${JSON.stringify(handlerModule)} ${problem}`);
  }
}

/**
 * Resolves, imports and checks HANDLER_MODULE the way the pipeline's workers will (in a pool
 * worker, through the same loader), before the tree starts: a missing file, a syntax error or
 * a missing handler export is a start-up error, not a batch retried into a dead letter while
 * /health says healthy. Unset: the built-in handler, nothing to check.
 */
export async function checkHandlerModule(handlerModule: string | undefined): Promise<void> {
  if (!handlerModule) return;
  const runner = new PiscinaRunner({ handlerModule, webhookUrl: undefined, concurrency: 1 });
  try {
    await runner.check();
  } catch (error) {
    throw new HandlerModuleError(handlerModule, loadProblem(error));
  } finally {
    await runner.close();
  }
}

function loadProblem(thrown: unknown): string {
  // What a pool worker throws may arrive as a plain object with the error's fields.
  const code = anyErrorCode(thrown);
  if (code === 'ERR_MODULE_NOT_FOUND' && !(thrown instanceof Error) && asError(thrown) === undefined) return 'cannot be found (ERR_MODULE_NOT_FOUND)';
  const error = thrown instanceof Error ? thrown : asError(thrown);
  if (!error) return `does not load: ${code ?? String(thrown)}`;
  // The code does not always survive the trip out of the pool's worker; the message does.
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /^Cannot find (module|package)/.test(error.message)) return `cannot be found: ${firstLine(error.message)}`;
  if (error.message.startsWith('exports no handler function')) return error.message;
  return `does not load: ${error.name}: ${firstLine(error.message)}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

function asError(value: unknown): Error | undefined {
  if (value === null || typeof value !== 'object' || typeof (value as { message?: unknown }).message !== 'string') return undefined;
  const { message, name, code } = value as { message: string; name?: unknown; code?: unknown };
  return Object.assign(new Error(message), { name: typeof name === 'string' ? name : 'Error', ...(typeof code === 'string' ? { code } : {}) });
}
