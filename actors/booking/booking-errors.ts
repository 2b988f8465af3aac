import { RuntimeError, type RuntimeErrorCode } from '../../src/errors.js';

/**
 * Every way a booking call can fail, as one error class with a stable code (src/errors.ts)
 * and a coarse `kind` to branch on. Retry rules, the breaker and the never-book-twice lookup
 * read the plain properties (`retryable`, `ambiguous`, `retryAfterMs`), so they work on an
 * error that crossed a thread boundary as well as on an instance of this class.
 */

/** The codes a BookingError carries: those of CODE_KINDS below (a booking code added elsewhere does not become one by its prefix). */
export type BookingErrorCode = keyof typeof CODE_KINDS;

/**
 * - `validation`: our own check refused the request; nothing was sent.
 * - `rejected`: YClients refused it (433 slot taken, 436, 437, 438, 431, 435, 434, 432, other 4xx).
 * - `credentials`: YClients refused our tokens (401/403 without a booking code).
 * - `not_found`: YClients has no such company, master or record (404).
 * - `rate_limited`: too many requests (YClients' 429, or our own queue is full).
 * - `unavailable`: no usable answer (timeout, network, 5xx, our queue's deadline, an open breaker).
 * - `bad_answer`: an answer that is not the documented JSON.
 * - `aborted`: the caller's AbortSignal ended the request.
 */
export type BookingErrorKind = 'validation' | 'rejected' | 'credentials' | 'not_found' | 'rate_limited' | 'unavailable' | 'bad_answer' | 'aborted';

/** What each code is, and whether trying the same request again can help. */
const CODE_KINDS = {
  WAR_ERR_BOOKING_INVALID: { kind: 'validation', retryable: false },
  WAR_ERR_BOOKING_SLOT_TAKEN: { kind: 'rejected', retryable: false },
  WAR_ERR_BOOKING_NO_MASTER: { kind: 'rejected', retryable: false },
  WAR_ERR_BOOKING_OVERLAP: { kind: 'rejected', retryable: false },
  WAR_ERR_BOOKING_SERVICE_UNAVAILABLE: { kind: 'rejected', retryable: false },
  WAR_ERR_BOOKING_BAD_PHONE: { kind: 'rejected', retryable: false },
  WAR_ERR_BOOKING_NAME_MISSING: { kind: 'rejected', retryable: false },
  WAR_ERR_BOOKING_BLACKLISTED: { kind: 'rejected', retryable: false },
  WAR_ERR_BOOKING_SMS_CODE: { kind: 'rejected', retryable: false },
  WAR_ERR_BOOKING_REJECTED: { kind: 'rejected', retryable: false },
  WAR_ERR_BOOKING_CREDENTIALS: { kind: 'credentials', retryable: false },
  WAR_ERR_BOOKING_NOT_FOUND: { kind: 'not_found', retryable: false },
  WAR_ERR_BOOKING_RATE_LIMITED: { kind: 'rate_limited', retryable: true },
  WAR_ERR_BOOKING_QUEUE_FULL: { kind: 'rate_limited', retryable: true },
  WAR_ERR_BOOKING_UPSTREAM_ERROR: { kind: 'unavailable', retryable: true },
  WAR_ERR_BOOKING_UNAVAILABLE: { kind: 'unavailable', retryable: true },
  WAR_ERR_BOOKING_QUEUE_TIMEOUT: { kind: 'unavailable', retryable: true },
  WAR_ERR_BOOKING_BREAKER_OPEN: { kind: 'unavailable', retryable: true },
  // YClients is not configured: waiting does not bring a booking actor.
  WAR_ERR_BOOKING_DISABLED: { kind: 'unavailable', retryable: false },
  WAR_ERR_BOOKING_BAD_ANSWER: { kind: 'bad_answer', retryable: false },
  // The caller chose to stop; whether to try again is its decision, not ours.
  WAR_ERR_BOOKING_ABORTED: { kind: 'aborted', retryable: false },
} as const satisfies Partial<Record<Extract<RuntimeErrorCode, `WAR_ERR_BOOKING_${string}`>, { readonly kind: BookingErrorKind; readonly retryable: boolean }>>;

/** YClients' own error codes (in `meta.errors[].code`) and ours for them. */
const YCLIENTS_CODES: ReadonlyMap<number, BookingErrorCode> = new Map([
  [431, 'WAR_ERR_BOOKING_BAD_PHONE'],
  [432, 'WAR_ERR_BOOKING_SMS_CODE'],
  [433, 'WAR_ERR_BOOKING_SLOT_TAKEN'],
  [434, 'WAR_ERR_BOOKING_BLACKLISTED'],
  [435, 'WAR_ERR_BOOKING_NAME_MISSING'],
  [436, 'WAR_ERR_BOOKING_NO_MASTER'],
  [437, 'WAR_ERR_BOOKING_OVERLAP'],
  [438, 'WAR_ERR_BOOKING_SERVICE_UNAVAILABLE'],
]);

export interface BookingErrorDetails {
  /** The request field at fault (`appointments[1].staff_id`), for validation errors. */
  readonly field?: string | undefined;
  /** YClients' error code (433, ...), when its answer had one. */
  readonly yclientsCode?: number | undefined;
  /** The HTTP status YClients answered with, when it answered. */
  readonly yclientsStatus?: number | undefined;
  /** Wait at least this long before the next request (a 429 or 503 with Retry-After). */
  readonly retryAfterMs?: number | undefined;
  /** The request may have been carried out although no answer says so: look before writing again. */
  readonly ambiguous?: boolean | undefined;
  /** Overrides the code's default (see CODE_KINDS). */
  readonly retryable?: boolean | undefined;
  /** The YClients operation (`book_record`, `book_times`, ...), for logs. */
  readonly operation?: string | undefined;
  /** The appointment of the request YClients named (433 and 437 name one). */
  readonly appointmentId?: number | undefined;
  /** The transport's own error code (UND_ERR_HEADERS_TIMEOUT, ECONNREFUSED), for logs. */
  readonly transportCode?: string | undefined;
}

export class BookingError extends RuntimeError {
  declare readonly code: BookingErrorCode;
  readonly kind: BookingErrorKind;
  readonly retryable: boolean;
  readonly ambiguous: boolean;
  readonly field: string | undefined;
  readonly yclientsCode: number | undefined;
  readonly yclientsStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly operation: string | undefined;
  readonly appointmentId: number | undefined;
  readonly transportCode: string | undefined;

  // No `cause`: a transport error may hold request details, and nothing of a request may leak.
  constructor(code: BookingErrorCode, message: string, details: BookingErrorDetails = {}) {
    super(code, message);
    const entry = CODE_KINDS[code];
    this.kind = entry.kind;
    this.retryable = details.retryable ?? entry.retryable;
    this.ambiguous = details.ambiguous ?? false;
    this.field = details.field;
    this.yclientsCode = details.yclientsCode;
    this.yclientsStatus = details.yclientsStatus;
    this.retryAfterMs = details.retryAfterMs;
    this.operation = details.operation;
    this.appointmentId = details.appointmentId;
    this.transportCode = details.transportCode;
  }

  /** Plain data: what a log line, a MessagePort or an HTTP answer carries. */
  toJSON(): Record<string, unknown> {
    const plain: Record<string, unknown> = { name: this.name, code: this.code, message: this.message, kind: this.kind, retryable: this.retryable, ambiguous: this.ambiguous };
    for (const key of ['field', 'yclientsCode', 'yclientsStatus', 'retryAfterMs', 'operation', 'appointmentId', 'transportCode'] as const) {
      if (this[key] !== undefined) plain[key] = this[key];
    }
    return plain;
  }
}

export function isBookingErrorCode(code: unknown): code is BookingErrorCode {
  return typeof code === 'string' && Object.hasOwn(CODE_KINDS, code);
}

/** The kind of a booking code; undefined for any other code. */
export function bookingErrorKind(code: unknown): BookingErrorKind | undefined {
  return isBookingErrorCode(code) ? CODE_KINDS[code].kind : undefined;
}

/** A validation error: the message starts with the field, so it reads alone. */
export function invalidField(field: string, problem: string): BookingError {
  return new BookingError('WAR_ERR_BOOKING_INVALID', `${field} ${problem}`, { field });
}

/** Our code for a YClients error code; undefined when it is not one of the booking codes. */
export function codeForYClientsCode(yclientsCode: number): BookingErrorCode | undefined {
  return YCLIENTS_CODES.get(yclientsCode);
}

/**
 * Our code for a refusal: a known YClients code first (434 comes with HTTP 403, and is a
 * blacklist, not bad credentials), then the status.
 */
export function codeForAnswer(status: number, yclientsCode: number | undefined): BookingErrorCode {
  const known = yclientsCode === undefined ? undefined : codeForYClientsCode(yclientsCode);
  if (known) return known;
  if (status === 401 || status === 403) return 'WAR_ERR_BOOKING_CREDENTIALS';
  if (status === 404) return 'WAR_ERR_BOOKING_NOT_FOUND';
  if (status === 429) return 'WAR_ERR_BOOKING_RATE_LIMITED';
  if (status >= 500) return 'WAR_ERR_BOOKING_UPSTREAM_ERROR';
  return 'WAR_ERR_BOOKING_REJECTED';
}

export function queueFull(queueMax: number): BookingError {
  return new BookingError('WAR_ERR_BOOKING_QUEUE_FULL', `the booking queue is full (${queueMax} requests waiting for the YClients rate limit)`);
}

export function queueTimeout(waitedMs: number, operation?: string): BookingError {
  return new BookingError('WAR_ERR_BOOKING_QUEUE_TIMEOUT', `a booking request waited ${Math.round(waitedMs)} ms for the YClients rate limit and passed its deadline`, { operation });
}

export function breakerOpen(retryAfterMs: number | undefined, operation?: string): BookingError {
  const when = retryAfterMs === undefined ? '' : ` for another ${Math.ceil(retryAfterMs / 1000)} s`;
  return new BookingError('WAR_ERR_BOOKING_BREAKER_OPEN', `YClients failed repeatedly; booking calls fail fast${when}`, { retryAfterMs, operation });
}
