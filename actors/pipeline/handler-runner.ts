import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { RuntimeError } from '../../src/errors.js';
import { siblingModule, typeScriptWorkerShim } from '../../src/thread/module-url.js';
import type { BookingOperations } from '../booking/booking-api.js';
import { bookingAnswerBy, directBooking, openBookingBridge, type BookingClient } from './booking-bridge.js';
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
  /** Epoch ms at which the runner aborts the task (its booking calls answer before it). */
  deadlineAt: number;
  /** This task's channel to the booking operations on the main thread (booking-bridge.ts); absent when the runner has none, and then every call is refused as disabled. */
  bookingPort: MessagePort | undefined;
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
 * Where a handler's `context.booking` goes: the booking actor's operations, asked on every
 * call (the actor may start, restart or be absent); undefined while none runs, and then
 * every call is refused with WAR_ERR_BOOKING_DISABLED.
 */
export type BookingOperationsSource = () => BookingOperations | undefined;

/**
 * The production runner: handlers run on a piscina pool, off the main event loop, at most
 * `concurrency` at a time. A handler that overruns its time has its worker terminated
 * (piscina aborts the task), so a stuck handler cannot wedge the pipeline.
 */
export class PiscinaRunner implements HandlerRunner {
  readonly #pool: Piscina;
  readonly #handlerModule: string;
  readonly #webhookUrl: string | undefined;
  readonly #bookingOperations: BookingOperationsSource | undefined;

  constructor(options: { handlerModule: string | undefined; webhookUrl: string | undefined; concurrency: number; bookingOperations?: BookingOperationsSource | undefined }) {
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
    this.#bookingOperations = options.bookingOperations;
  }

  async run(batch: FlushedBatch, attempt: number, timeoutMs: number): Promise<HandlerAction[]> {
    // One channel per task (booking-bridge.ts says why); none at all when there is no booking to
    // reach, or on a dry run (`test`), which must not book for real: its calls are refused as disabled.
    const bridge = this.#bookingOperations && !batch.test ? openBookingBridge(this.#bookingOperations) : undefined;
    const task: HandlerTask = {
      kind: 'batch',
      handlerModule: this.#handlerModule,
      batch,
      attempt,
      webhookUrl: this.#webhookUrl,
      timeoutMs,
      deadlineAt: Date.now() + timeoutMs,
      bookingPort: bridge?.port,
    };
    let result: unknown;
    try {
      result = await this.#pool.run(task, { signal: AbortSignal.timeout(timeoutMs), ...(bridge ? { transferList: [bridge.port] } : {}) });
    } catch (error) {
      if ((error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError') throw new HandlerTimeoutError(timeoutMs);
      throw error;
    } finally {
      // Settled, answered, aborted or never started: the channel goes now, so 10,000 batches leave no port open.
      bridge?.close();
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

/**
 * Runs a handler function in this thread (tests, embedding); the timeout is a race, the handler
 * is not stopped. `bookingOperations` backs `context.booking` with direct calls that validate,
 * clone, fail and time out as the worker's do; without it every call is refused as disabled.
 */
export class InlineRunner implements HandlerRunner {
  readonly #handler: BatchHandler;
  readonly #webhookUrl: string | undefined;
  readonly #bookingOperations: BookingOperationsSource;

  constructor(handler: BatchHandler, webhookUrl?: string, options: { bookingOperations?: BookingOperationsSource | undefined } = {}) {
    this.#handler = handler;
    this.#webhookUrl = webhookUrl;
    this.#bookingOperations = options.bookingOperations ?? (() => undefined);
  }

  async run(batch: FlushedBatch, attempt: number, timeoutMs: number): Promise<HandlerAction[]> {
    const booking = batch.test ? () => undefined : this.#bookingOperations;
    const context = new InlineContext(this.#webhookUrl, attempt, booking, bookingAnswerBy(Date.now() + timeoutMs, timeoutMs));
    try {
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
    } finally {
      context.done();
    }
  }

  async close(): Promise<void> {}
}

/** The inline handler's context: its AbortController and its booking are made only if the handler asks for them. */
class InlineContext implements HandlerContext {
  readonly webhookUrl: string | undefined;
  readonly attempt: number;
  readonly #bookingOperations: BookingOperationsSource;
  readonly #answerBy: number;
  #controller: AbortController | undefined;
  #aborted = false;
  #booking: BookingClient | undefined;

  constructor(webhookUrl: string | undefined, attempt: number, bookingOperations: BookingOperationsSource, answerBy: number) {
    this.webhookUrl = webhookUrl;
    this.attempt = attempt;
    this.#bookingOperations = bookingOperations;
    this.#answerBy = answerBy;
  }

  get booking(): BookingOperations {
    this.#booking ??= directBooking(this.#bookingOperations, { answerBy: this.#answerBy });
    return this.#booking.booking;
  }

  /** The run is over (answered or timed out): pending booking calls are dropped with their timers. */
  done(): void {
    this.#booking?.close();
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
