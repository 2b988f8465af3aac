/**
 * The conversations every contender gets: a client who writes "Запишите на стрижку меня" /
 * "На завтра" / "В 18:00" / "К Бари" in four messages a little less than a window apart,
 * so they merge into one batch, flushed once the conversation has been quiet for the window.
 */
import type { BenchMessage } from './contender.js';

export const TEXTS = ['Запишите на стрижку меня', 'На завтра', 'В 18:00', 'К Бари'] as const;

export interface ConversationShape {
  /** Messages per conversation. */
  messages: number;
  /** Between two messages of one conversation; less than the window, so they merge. */
  gapMs: number;
}

export interface ScheduledSend {
  /** When to send, ms after the schedule starts. */
  readonly atMs: number;
  readonly conversation: number;
  readonly index: number;
}

/** How long one conversation stays pending: its messages, then the quiet window. */
export function pendingSpanMs(shape: ConversationShape, windowMs: number): number {
  return (shape.messages - 1) * shape.gapMs + windowMs;
}

/**
 * `conversations` conversations (numbered from `first`) started evenly over `spreadMs`,
 * each sending `shape`. With spreadMs at most the pending span, all of them are pending at
 * once at spreadMs.
 */
export function schedule(conversations: number, shape: ConversationShape, spreadMs: number, first = 0): ScheduledSend[] {
  const sends: ScheduledSend[] = [];
  for (let i = 0; i < conversations; i++) {
    const start = conversations === 1 ? 0 : (i * spreadMs) / conversations;
    for (let index = 0; index < shape.messages; index++) sends.push({ atMs: start + index * shape.gapMs, conversation: first + i, index });
  }
  return sends.sort((a, b) => a.atMs - b.atMs || a.conversation - b.conversation);
}

/** An 11-digit phone (E.164 without the plus) unique per (run, conversation): 79 RR CCCCCCC. */
export function phoneOf(run: number, conversation: number): string {
  if (run < 0 || run > 99 || conversation < 0 || conversation >= 1e7) throw new Error(`bench bug: run ${run} / conversation ${conversation} out of range`);
  return `79${String(run).padStart(2, '0')}${String(conversation).padStart(7, '0')}`;
}

/** Every message id this suite makes starts with it. */
export const MESSAGE_ID_PREFIX = 'r';

export function messageOf(run: number, conversation: number, index: number): BenchMessage {
  return { phone: phoneOf(run, conversation), id: `${MESSAGE_ID_PREFIX}${run}-c${conversation}-m${index}`, text: TEXTS[index % TEXTS.length] as string };
}

/** Conversations whose messages interleave in a stream of messages (see streamMessage). */
export const INTERLEAVE = 1_000;

/**
 * Message n of a stream where many clients write at once: conversations come in blocks of
 * INTERLEAVE, and within a block message n goes to conversation n mod INTERLEAVE, so each
 * conversation gets its four messages INTERLEAVE messages apart, then falls quiet.
 */
export function streamMessage(run: number, n: number): BenchMessage {
  const perBlock = INTERLEAVE * TEXTS.length;
  const within = n % perBlock;
  return messageOf(run, Math.floor(n / perBlock) * INTERLEAVE + (within % INTERLEAVE), Math.floor(within / INTERLEAVE));
}

/** Hands out run numbers, so no two runs of a suite share a conversation or a message id. */
export class RunNumbers {
  #next = 1;

  take(): number {
    const run = this.#next++;
    if (run > 99) throw new Error('bench bug: more than 99 runs in one suite');
    return run;
  }
}
