/** What a handler can ask for. */
export type ActionName = 'reply' | 'book';

/**
 * What became of one action of a delivered batch:
 * - `done`: handed to its target (a reply is in the session's send queue);
 * - `no_session`: a reply for a sessionId that has no WhatsApp session in this runtime;
 * - `no_booking`: a `book` action, but no booking actor runs;
 * - `refused`: the target said no (the send queue is full, the phone is not a phone);
 * - `unavailable`: the target did not answer (restarting, timed out).
 */
export type ActionOutcome = 'done' | 'no_session' | 'no_booking' | 'refused' | 'unavailable';

export const ACTION_OUTCOMES: readonly ActionOutcome[] = ['done', 'no_session', 'no_booking', 'refused', 'unavailable'];
