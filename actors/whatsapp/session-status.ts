import type { HaltedStatus } from './close-codes.js';

/**
 * A session's status as operators see it (tree detail, /sessions, /health/extended):
 * - `connecting`: a socket is opening;
 * - `pairing`: a QR or pairing code is on offer (GET /sessions/:id/qr);
 * - `open`: connected; messages flow;
 * - `reconnecting`: the socket closed and a new one comes after the backoff delay;
 * - `awaiting_pairing`: the QR expired unanswered; a new pairing request (POST /sessions/:id/pair) starts over;
 * - halted (`logged_out`, `forbidden`, `multidevice_mismatch`, `replaced`): down on purpose, alerted;
 * - `gave_up`: reconnecting failed more times than the backoff allows;
 * - `stopped`: the runtime is shutting down.
 */
export type SessionStatus = 'connecting' | 'pairing' | 'open' | 'reconnecting' | 'awaiting_pairing' | HaltedStatus | 'gave_up' | 'stopped';

/** Statuses in which the session is healthy or on its way back by itself. */
export function isSelfHealing(status: SessionStatus): boolean {
  return status === 'connecting' || status === 'open' || status === 'reconnecting';
}

const HALTED: ReadonlySet<SessionStatus> = new Set<SessionStatus>(['logged_out', 'forbidden', 'multidevice_mismatch', 'replaced']);

/** Down on purpose (close-codes.ts `halt`): only a pairing request brings the socket back. */
export function isHalted(status: SessionStatus): status is HaltedStatus {
  return HALTED.has(status);
}
