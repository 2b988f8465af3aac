import type { FlushReason } from './batch.js';

export interface FlushRules {
  /** Flush once the conversation has been quiet this long (BATCH_WINDOW_MS). */
  windowMs: number;
  /** Flush at once at this many messages (BATCH_MAX_MESSAGES); no batch is larger. */
  maxMessages: number;
  /** Flush once the first pending message is this old (BATCH_MAX_AGE_MS), however chatty the client. */
  maxAgeMs: number;
}

export type FlushDecision = { readonly due: true; readonly reason: FlushReason } | { readonly due: false; readonly dueAt: number };

/**
 * The flush rule, in one place (the Redis store's Lua script applies the same rule and the
 * shared store suite holds both to it): size first, then age, then quiet; otherwise the
 * batch is due at the earlier of its quiet and age deadlines.
 */
export function decideFlush(pending: { count: number; firstAt: number; lastAt: number }, now: number, rules: FlushRules): FlushDecision {
  if (pending.count >= rules.maxMessages) return { due: true, reason: 'size' };
  const ageDueAt = pending.firstAt + rules.maxAgeMs;
  if (now >= ageDueAt) return { due: true, reason: 'age' };
  const quietDueAt = pending.lastAt + rules.windowMs;
  if (now >= quietDueAt) return { due: true, reason: 'quiet' };
  return { due: false, dueAt: Math.min(quietDueAt, ageDueAt) };
}
