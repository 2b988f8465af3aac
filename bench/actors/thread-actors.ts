/**
 * Behaviours of the bench's thread-placed actors. This module is imported inside worker
 * threads by module path (see `siblingModule`); the main thread only imports its types.
 */
import { threadId } from 'node:worker_threads';
import type { Behaviour } from '../../src/actor/behaviour.js';
import type { CounterMessage } from './messages.js';

/** Counts `inc` messages; any other message is answered with the count. */
export function counterActor(): Behaviour<CounterMessage, number> {
  let count = 0;
  return {
    receive(message) {
      if (message.type === 'inc') count++;
      return count;
    },
  };
}

/** Answers every message with itself. */
export function echoActor(): Behaviour<unknown, unknown> {
  return { receive: (message) => message };
}

export type CrashMessage = { readonly type: 'ping' } | { readonly type: 'throw' } | { readonly type: 'exit' };

/** Which incarnation answered: `threadId` changes when the worker was replaced, `incarnation` on every restart. */
export interface PingReply {
  readonly threadId: number;
  readonly incarnation: number;
}

let incarnations = 0;

/** `throw` fails the incarnation (restarted in the same worker); `exit` kills its whole worker thread. */
export function crashActor(): Behaviour<CrashMessage, PingReply> {
  const incarnation = ++incarnations;
  return {
    receive(message) {
      switch (message.type) {
        case 'ping':
          return { threadId, incarnation };
        case 'throw':
          throw new Error('bench: crash on purpose');
        case 'exit':
          return process.exit(1);
      }
    },
  };
}
