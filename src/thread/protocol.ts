import type { MailboxOptions } from '../actor/mailbox.js';

/**
 * The wire between the main thread and a worker host. Both directions send flat arrays of
 * ops, many per postMessage: one structured clone per batch instead of per message is what
 * makes cross-thread tell fast. Order within a direction is preserved.
 */
export const Op = {
  // main -> worker
  Tell: 0, // actorId, message
  Ask: 1, // actorId, askId, message
  Spawn: 2, // actorId, SpawnSpec
  Start: 3, // actorId, requestId
  Stop: 4, // actorId, requestId, timeoutMs
  Dispose: 5, // actorId
  // both directions
  Reply: 6, // askId, ok (1|0), value | WireError
  // worker -> main
  Started: 7, // requestId, incarnation
  StartFailed: 8, // requestId, WireError
  Stopped: 9, // requestId
  Exit: 10, // actorId, incarnation, WireExit
  TellPath: 11, // path, message
  AskPath: 12, // askId, path, message, timeoutMs
  Ready: 13, // (nothing)
  Log: 14, // floor ('info' | 'warn'), line: a log line for the main thread's rings (`logs`)
} as const;

export interface SpawnSpec {
  path: string;
  module: string;
  exportName: string;
  args: unknown;
  mailbox: MailboxOptions;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  /** [depth, processed, dropped], written by the worker, read by the main thread's tree snapshot. */
  stats: SharedArrayBuffer;
}

export interface WireError {
  name: string;
  message: string;
  code: string | undefined;
  stack: string | undefined;
}

export type WireExit = { kind: 'normal' } | { kind: 'failure'; error: WireError };

export interface WorkerBootData {
  logLevel: string;
  group: string;
  /** The main thread keeps recent lines (LogRings): send info and warn lines there too. */
  keepLogs: boolean;
}

export const STATS_DEPTH = 0;
export const STATS_PROCESSED = 1;
export const STATS_DROPPED = 2;
export const STATS_SLOTS = 3;

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined, stack: error.stack };
  }
  return { name: 'Error', message: String(error), code: undefined, stack: undefined };
}

/** An error from the other thread, with its name, code and stack kept. */
export class RemoteError extends Error {
  readonly code: string | undefined;

  constructor(wire: WireError) {
    super(wire.message);
    this.name = wire.name;
    this.code = wire.code;
    if (wire.stack) this.stack = wire.stack;
  }
}
