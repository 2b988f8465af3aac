/**
 * The piscina worker: loads HANDLER_MODULE (Node caches the import) and runs it for one
 * batch. Its default export or `handle` export is the handler. A handler written in
 * TypeScript is loaded through tsx, so operators need no build step for it.
 */
import { register } from 'tsx/esm/api';
import { validateActions, type BatchHandler, type HandlerAction } from './handler.js';
import type { HandlerTask } from './handler-runner.js';

/** Registered once per worker, the first time a TypeScript handler is loaded. */
let typeScriptLoader: (() => Promise<void>) | undefined;

export default async function runHandler(task: HandlerTask): Promise<HandlerAction[]> {
  if (task.handlerModule.endsWith('.ts')) typeScriptLoader ??= register();
  const loaded = (await import(task.handlerModule)) as { default?: unknown; handle?: unknown };
  const handler = typeof loaded.default === 'function' ? loaded.default : loaded.handle;
  if (typeof handler !== 'function') throw new TypeError(`${task.handlerModule} exports no default or handle function`);
  const result = await (handler as BatchHandler)(task.batch, {
    webhookUrl: task.webhookUrl,
    attempt: task.attempt,
    signal: AbortSignal.timeout(task.timeoutMs),
  });
  return validateActions(result);
}
