import { RuntimeError, type RuntimeErrorCode } from '../../src/errors.js';
import type { LifecycleEvent } from '../../supervisor/lifecycle-events.js';
import type { HaltedStatus } from './close-codes.js';
import type { DecryptErrorCounts } from './decrypt-error-log.js';
import type { IgnoredReason } from './inbound.js';
import type { SessionStatus } from './session-status.js';

/** A text from a client, mapped from `messages.upsert`, on its way to the batcher. */
export interface InboundText {
  readonly id: string;
  readonly phone: string;
  readonly text: string;
  readonly at: number;
}

/** What the socket actor (in the session's thread) is asked. */
export type SocketMessage =
  | { readonly type: 'send'; readonly phone: string; readonly text: string; readonly messageId: string }
  /** Start pairing again; with `phone`, answer with a pairing code for it. */
  | { readonly type: 'pair'; readonly phone?: string }
  /** An operator's repair: close the connection, clear the Signal sessions (credentials kept), connect again. */
  | { readonly type: 'repair' }
  /** Report the current status (and QR) to the gateway again: a restarted gateway starts blank. */
  | { readonly type: 'report' };

export type SocketReply = Outcome<{ readonly messageId: string }> | Outcome<PairReply> | Outcome<RepairReply> | undefined;

export interface RepairReply {
  /** Signal sessions deleted. */
  readonly cleared: number;
  /** The status after: `connecting` again, or the halt it stays in (a halt needs pairing). */
  readonly status: SessionStatus;
}

/** The session errors a caller gets back (the actor does not fail over them): its own, and the store's when the send queue cannot be written. */
export type SessionErrorCode = Extract<RuntimeErrorCode, `WAR_ERR_WA_${string}`> | 'WAR_ERR_STORE_UNAVAILABLE';

/**
 * What an ask of a session actor answers: a refusal is a value, not a throw, because a
 * throw would fail the actor (and a gateway failing would lose its send queue).
 */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: SessionErrorCode; readonly message: string };

export function refused(code: SessionErrorCode, message: string): Outcome<never> {
  return { ok: false, code, message };
}

/** The value of an outcome, or its refusal thrown as a RuntimeError (for callers outside the actors). */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new RuntimeError(outcome.code, outcome.message);
}

export interface PairReply {
  readonly status: SessionStatus;
  /** The 8-character code to type on the phone, when a phone was given. */
  readonly code?: string;
}

/** What the socket reports to its session's gateway. */
export type SocketReport =
  | { readonly type: 'socket_started' }
  | { readonly type: 'status'; readonly status: 'connecting' | 'open' | 'awaiting_pairing' }
  | { readonly type: 'qr'; readonly qr: string }
  | { readonly type: 'closed'; readonly code: number | undefined; readonly action: 'backoff' | 'reconnect_now' | 'await_pairing' | 'halt'; readonly clearedSignalSessions: boolean }
  | { readonly type: 'halted'; readonly status: HaltedStatus; readonly code: number | undefined; readonly alert: string }
  | { readonly type: 'inbound'; readonly messages: readonly InboundText[] }
  | { readonly type: 'ignored'; readonly reasons: Readonly<Partial<Record<IgnoredReason, number>>> }
  | { readonly type: 'decrypt_errors'; readonly counts: DecryptErrorCounts };

/** What the socket learns from the gateway when an incarnation starts: history across restarts. */
export interface SocketHints {
  readonly previous500s: number;
  /**
   * The session was halted (or waits for pairing) when its socket restarted (its thread died,
   * or an operator restarted it): the new socket stays down too, until a pairing request.
   */
  readonly down: HaltedStatus | 'awaiting_pairing' | undefined;
}

/** An outbound text as the HTTP API and the pipeline submit it. */
export interface SendRequest {
  /** The client's phone (any form normalizePhone takes). */
  readonly to: string;
  readonly text: string;
  /** Where it came from, for logs: `api`, or the batch it answers. */
  readonly source: string;
}

export interface SendAccepted {
  readonly id: string;
  readonly queueDepth: number;
}

export type GatewayMessage =
  | SocketReport
  | ({ readonly type: 'send' } & SendRequest)
  | { readonly type: 'info' }
  | { readonly type: 'qr_code' }
  | { readonly type: 'pump' }
  | { readonly type: 'send_result'; readonly id: string; readonly error: { readonly code: string | undefined; readonly message: string } | undefined }
  | { readonly type: 'retry_inbound' }
  /** Internal: read the send queue from the store again (it was unavailable at start). */
  | { readonly type: 'load_outbox' }
  /** Another node pushed a reply into this session's stored queue (runtimes sharing sessions). */
  | { readonly type: 'outbox_changed' }
  | { readonly type: 'lifecycle'; readonly event: LifecycleEvent };

/** One session as /sessions and /health/extended show it. */
export interface SessionInfo {
  readonly id: string;
  readonly status: SessionStatus;
  readonly lastCloseCode: number | null;
  readonly lastCloseReason: string | null;
  readonly lastCloseAt: string | null;
  readonly nextRetryAt: string | null;
  readonly alert: string | null;
  readonly qrAvailable: boolean;
  /** `durable`: the queue is kept in the store (SQLite or Redis) and survives a crash of the process; `loaded` false while the store could not be read yet. */
  readonly queue: { readonly depth: number; readonly max: number; readonly inFlight: boolean; readonly failed: number; readonly durable: boolean; readonly loaded: boolean };
  readonly inbound: { readonly accepted: number; readonly duplicates: number; readonly waiting: number; readonly ignored: Readonly<Partial<Record<IgnoredReason, number>>> };
  readonly decryptErrors: DecryptErrorCounts;
  readonly messages_sent_24h: number;
  readonly messages_received_24h: number;
  readonly errors_24h: number;
  readonly last_activity: string | null;
  /** When a message was last received, and sent (ISO), for the activity monitor. */
  readonly last_received_at: string | null;
  readonly last_sent_at: string | null;
}

export interface QrInfo {
  readonly status: SessionStatus;
  /** The QR payload to render, while one is on offer. */
  readonly qr: string | null;
  readonly issuedAt: string | null;
}
