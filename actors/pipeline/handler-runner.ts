import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { RuntimeError } from '../../src/errors.js';
import { siblingModule, typeScriptWorkerShim } from '../../src/thread/module-url.js';
import { validateActions, type BatchHandler, type FlushedBatch, type HandlerAction, type HandlerContext } from './handler.js';
import { fromHandlerFailure, isHandlerFailure } from './handler-failure.js';

/** Runs the handler for one batch; rejects on a throw or when `timeoutMs` passes. */
export interface HandlerRunner {
  run(batch: FlushedBatch, attempt: number, timeoutMs: number): Promise<HandlerAction[]>;
  close(): Promise<void>;
}

/** What crosses into a piscina worker: a batch to handle... */
export interface HandlerTask {
  kind: 'batch';
  handlerModule: string;
  batch: FlushedBatch;
  attempt: number;
  webhookUrl: string | undefined;
  timeoutMs: number;
}

/** ...or a check that HANDLER_MODULE loads and exports a handler (at start). */
export interface HandlerCheck {
  kind: 'check';
  handlerModule: string;
}

export class HandlerTimeoutError extends RuntimeError {
  constructor(timeoutMs: number) {
    super('WAR_ERR_HANDLER_TIMEOUT', `handler did not finish within ${timeoutMs} ms`);
  }
}

/** HANDLER_MODULE as an importable specifier: paths become file URLs, package names stay. */
export function handlerSpecifier(handlerModule: string | undefined): string {
  if (!handlerModule) return siblingModule(import.meta.url, './default-handler.js');
  if (handlerModule.startsWith('.') || isAbsolute(handlerModule)) return pathToFileURL(resolve(handlerModule)).href;
  return handlerModule;
}

/**
 * The production runner: handlers run on a piscina pool, off the main event loop, at most
 * `concurrency` at a time. A handler that overruns its time has its worker terminated
 * (piscina aborts the task), so a stuck handler cannot wedge the pipeline.
 */
export class PiscinaRunner implements HandlerRunner {
  readonly #pool: Piscina;
  readonly #handlerModule: string;
  readonly #webhookUrl: string | undefined;

  constructor(options: { handlerModule: string | undefined; webhookUrl: string | undefined; concurrency: number }) {
    const worker = siblingModule(import.meta.url, './handler-worker.js');
    this.#pool = new Piscina({
      filename: worker.endsWith('.ts') ? typeScriptWorkerShim(worker) : worker,
      minThreads: 1,
      maxThreads: options.concurrency,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
    });
    this.#handlerModule = handlerSpecifier(options.handlerModule);
    this.#webhookUrl = options.webhookUrl;
  }

  async run(batch: FlushedBatch, attempt: number, timeoutMs: number): Promise<HandlerAction[]> {
    const task: HandlerTask = { kind: 'batch', handlerModule: this.#handlerModule, batch, attempt, webhookUrl: this.#webhookUrl, timeoutMs };
    let result: unknown;
    try {
      result = await this.#pool.run(task, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      if ((error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError') throw new HandlerTimeoutError(timeoutMs);
      throw error;
    }
    // What the handler threw comes back as data (handler-failure.ts); a TimeoutError of its own stays its own.
    if (isHandlerFailure(result)) throw fromHandlerFailure(result);
    return validateActions(result);
  }

  /** Loads HANDLER_MODULE in a pool worker, as a batch would; rejects with what is wrong with it. */
  async check(): Promise<void> {
    const check: HandlerCheck = { kind: 'check', handlerModule: this.#handlerModule };
    await this.#pool.run(check);
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}

/** Runs a handler function in this thread (tests, embedding); the timeout is a race, the handler is not stopped. */
export class InlineRunner implements HandlerRunner {
  readonly #handler: BatchHandler;
  readonly #webhookUrl: string | undefined;

  constructor(handler: BatchHandler, webhookUrl?: string) {
    this.#handler = handler;
    this.#webhookUrl = webhookUrl;
  }

  async run(batch: FlushedBatch, attempt: number, timeoutMs: number): Promise<HandlerAction[]> {
    const context = new InlineContext(this.#webhookUrl, attempt);
    const result = this.#handler(batch, context);
    // A handler that answered synchronously is done: there is nothing to time.
    if (typeof (result as { then?: unknown } | null | undefined)?.then !== 'function') return validateActions(result);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        context.abort();
        reject(new HandlerTimeoutError(timeoutMs));
      }, timeoutMs);
    });
    try {
      return validateActions(await Promise.race([Promise.resolve(result), timeout]));
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {}
}

/** The inline handler's context: its AbortController is made only if the handler asks for the signal. */
class InlineContext implements HandlerContext {
  readonly webhookUrl: string | undefined;
  readonly attempt: number;
  #controller: AbortController | undefined;
  #aborted = false;

  constructor(webhookUrl: string | undefined, attempt: number) {
    this.webhookUrl = webhookUrl;
    this.attempt = attempt;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /** The handler's time is up. */
  abort(): void {
    this.#aborted = true;
    this.#controller?.abort();
  }
}
