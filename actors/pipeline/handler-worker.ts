/**
 * The piscina worker: loads HANDLER_MODULE once per worker and runs it for one batch. Its
 * `default` export or `handle` export is the handler. A TypeScript handler (`.ts`, `.mts`,
 * `.cts`, `.tsx`) is loaded through tsx's `tsImport`, which compiles it as ESM or CommonJS by
 * its own extension, whether or not a package.json sits beside it: operators need no build
 * step and no project around their handler.
 */
import { tsImport } from 'tsx/esm/api';
import { bookingAnswerBy, bookingOverPort, directBooking, type BookingClient } from './booking-bridge.js';
import { validateActions, type BatchHandler, type HandlerAction } from './handler.js';
import { toHandlerFailure, type HandlerFailure } from './handler-failure.js';
import type { HandlerCheck, HandlerTask } from './handler-runner.js';

const TYPESCRIPT = /\.(c|m)?tsx?$/;

/** The handler of each module this worker loaded (a worker serves one HANDLER_MODULE, but tests share workers). */
const loaded = new Map<string, Promise<BatchHandler>>();

async function importModule(specifier: string): Promise<Record<string, unknown>> {
  const url = specifier.startsWith('file:') ? specifier : undefined;
  if (url && TYPESCRIPT.test(new URL(url).pathname)) return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  return (await import(specifier)) as Record<string, unknown>;
}

/** A CommonJS handler's `module.exports` arrives as `default`: its `handle` or `default` counts too. */
function handlerOf(module: Record<string, unknown>): BatchHandler | undefined {
  const candidates = [module.default, module.handle];
  const inner = module.default;
  if (inner !== null && typeof inner === 'object') candidates.push((inner as Record<string, unknown>).default, (inner as Record<string, unknown>).handle);
  return candidates.find((candidate): candidate is BatchHandler => typeof candidate === 'function');
}

async function load(specifier: string): Promise<BatchHandler> {
  const module = await importModule(specifier);
  const handler = handlerOf(module);
  if (!handler) {
    const names = Object.keys(module).filter((name) => name !== '__esModule');
    throw new TypeError(`exports no handler function: its default export or its \`handle\` export must be a function (it exports ${names.length > 0 ? names.join(', ') : 'nothing'})`);
  }
  return handler;
}

function handlerFor(specifier: string): Promise<BatchHandler> {
  let handler = loaded.get(specifier);
  if (!handler) {
    handler = load(specifier);
    loaded.set(specifier, handler);
    // A module that failed to load is tried again on the next batch (the file may be fixed).
    handler.catch(() => loaded.delete(specifier));
  }
  return handler;
}

export default async function runHandler(task: HandlerTask | HandlerCheck): Promise<HandlerAction[] | HandlerFailure | { ok: true }> {
  if (task.kind === 'check') {
    await handlerFor(task.handlerModule);
    return { ok: true };
  }
  // Made before the handler loads, so a module that fails to load still closes the task's port.
  const answerBy = bookingAnswerBy(task.deadlineAt, task.timeoutMs);
  const booking: BookingClient = task.bookingPort
    ? bookingOverPort(task.bookingPort, { answerBy })
    : // The runner has no booking to reach: the same refusal (WAR_ERR_BOOKING_DISABLED) without a channel.
      directBooking(() => undefined, { answerBy });
  try {
    const handler = await handlerFor(task.handlerModule);
    try {
      const result = await handler(task.batch, {
        webhookUrl: task.webhookUrl,
        attempt: task.attempt,
        signal: AbortSignal.timeout(task.timeoutMs),
        booking: booking.booking,
      });
      return validateActions(result);
    } catch (error) {
      // Thrown, it would reach the pipeline without its code, status, permanent or retryAfterMs.
      if (error instanceof Error) return toHandlerFailure(error);
      throw error;
    }
  } finally {
    booking.close();
  }
}
