/**
 * Every code the runtime raises or answers with over HTTP, in one table (in the spirit of
 * fastify's `FST_ERR_*`): tests, operators and alert rules match on the code, never on
 * prose. The `WAR_` prefix keeps them apart from Node's own `ERR_*` codes. `status` is the
 * HTTP status a route answers with when the error reaches a client.
 */
export const ERROR_CODES = {
  // ---- actors and supervision --------------------------------------------------------
  WAR_ERR_ASK_TIMEOUT: { status: 504, meaning: 'an ask got no reply within its timeout' },
  WAR_ERR_MAILBOX_FULL: { status: 503, meaning: "the actor's mailbox is full (overflow policy `reject`)" },
  WAR_ERR_ACTOR_STOPPED: { status: 503, meaning: 'the actor is stopped, or backing off before a restart' },
  WAR_ERR_ACTOR_FAILED: { status: 503, meaning: 'the actor failed while handling the message' },
  WAR_ERR_ACTOR_START_TIMEOUT: { status: 503, meaning: 'the actor did not finish `start` within its start timeout' },
  WAR_ERR_ILLEGAL_STATE: { status: 500, meaning: 'an actor was started while it was not idle (a bug in the caller)' },
  WAR_ERR_BAD_ARGUMENT: { status: 500, meaning: 'an API was called with a value it does not take (for example an ask timeout of 0)' },
  WAR_ERR_WORKER_DIED: { status: 503, meaning: 'the worker thread hosting the actor died (uncaught error, exit, out of memory)' },
  WAR_ERR_THREAD_PROTOCOL: { status: 500, meaning: 'a worker thread received a message it does not understand' },
  WAR_ERR_BAD_EXPORT: { status: 500, meaning: 'a module named by a spec does not export the function it must' },
  WAR_ERR_SUPERVISOR_ESCALATED: { status: 500, meaning: 'a supervisor exceeded its restart intensity (or a child gave up) and failed to its parent' },
  WAR_ERR_CHILD_EXISTS: { status: 409, meaning: 'a supervisor already has a child with that id' },
  WAR_ERR_CHILD_NOT_FOUND: { status: 404, meaning: 'no actor or supervisor at that path' },
  WAR_ERR_NO_TEMPLATE: { status: 500, meaning: 'a dynamic child was asked of a supervisor without a child template' },
  WAR_ERR_BAD_SPEC: { status: 500, meaning: 'a child spec is invalid (child id, strategy, intensity)' },
  WAR_ERR_UNKNOWN_COMPANY: { status: 404, meaning: 'no company with that id in COMPANIES' },
  WAR_ERR_OPERATION_UNAVAILABLE: { status: 503, meaning: 'this runtime lacks the part the operation needs (no alerts, no batching)' },
  WAR_ERR_OPS_BOT_CONFLICT: { status: 409, meaning: 'Telegram answered 409 to getUpdates: another client polls with OPS_BOT_TOKEN (the ops bot retries at its backoff)' },
  WAR_ERR_OPS_BOT_UNREACHABLE: { status: 503, meaning: 'the Telegram Bot API could not be reached or failed (the ops bot retries at its backoff)' },
  WAR_ERR_DASHBOARD_FULL: { status: 503, meaning: 'DASHBOARD_MAX_CLIENTS pages are already following the dashboard stream' },
  WAR_ERR_ROOT_RESTART: { status: 400, meaning: 'the root supervisor cannot be restarted; stop the process instead' },
  // ---- configuration and start-up ----------------------------------------------------
  WAR_ERR_CONFIG_INVALID: { status: 500, meaning: 'a configuration variable has a bad value (start-up exits 78)' },
  WAR_ERR_HANDLER_INVALID: { status: 500, meaning: 'HANDLER_MODULE cannot be loaded or exports no handler function (start-up exits 78)' },
  WAR_ERR_HANDLER_TIMEOUT: { status: 504, meaning: 'a batch handler did not finish within HANDLER_TIMEOUT_MS' },
  // ---- downstream (BATCH_WEBHOOK_URL, or whatever a handler calls) --------------------
  WAR_ERR_DOWNSTREAM_REJECTED: { status: 502, meaning: 'the downstream refused the batch for good (a 4xx other than 408, 409, 425, 429, or a handler error marked permanent): dead-lettered after one attempt' },
  WAR_ERR_DOWNSTREAM_FAILED: { status: 502, meaning: 'the downstream failed the batch for now (a 5xx, 408, 409, 425 or 429): retried with backoff, no sooner than its Retry-After' },
  // ---- booking from a handler (context.booking, actors/pipeline/booking-bridge.ts) ------
  WAR_ERR_BOOKING_DISABLED: { status: 503, meaning: 'no booking actor runs (YClients is not configured: YCLIENTS_PARTNER_TOKEN is unset), so a booking operation is refused' },
  // ---- store and batching ------------------------------------------------------------
  WAR_ERR_STORE_UNAVAILABLE: { status: 503, meaning: 'the batch store cannot take a read or write now (Redis down or reconnecting)' },
  WAR_ERR_STORE_LOCKED: { status: 503, meaning: 'the SQLite store file is held by another runtime (one runtime per DATA_DIR)' },
  WAR_ERR_SPILL_UNREADABLE: { status: 500, meaning: "the memory store's spill file (DATA_DIR/memory-spill.json) cannot be read; start-up exits 78 rather than start without its messages" },
  WAR_ERR_DEAD_LETTER_NOT_FOUND: { status: 404, meaning: 'no dead letter with that batchId' },
  WAR_ERR_SILENCE_NOT_FOUND: { status: 404, meaning: 'no active alert silence with that id' },
  WAR_ERR_NO_PENDING_BATCH: { status: 404, meaning: 'the conversation has no pending batch' },
  // ---- WhatsApp ----------------------------------------------------------------------
  WAR_ERR_WA_CLOSED: { status: 503, meaning: 'the WhatsApp connection closed (the socket restarts with backoff)' },
  WAR_ERR_WA_NOT_OPEN: { status: 503, meaning: 'the WhatsApp session is not connected' },
  WAR_ERR_WA_ALREADY_PAIRED: { status: 409, meaning: 'the session is connected; log it out before pairing again' },
  WAR_ERR_WA_PAIRING_FAILED: { status: 502, meaning: 'WhatsApp did not offer pairing, or the connection closed first' },
  WAR_ERR_WA_QUEUE_FULL: { status: 503, meaning: "the session's send queue is full (WA_SEND_QUEUE_MAX)" },
  WAR_ERR_WA_NOT_OWNER: { status: 409, meaning: 'another runtime owns the session now (its lease and fence moved on); send through that node' },
  WAR_ERR_WA_UNKNOWN_SESSION: { status: 404, meaning: 'no such session in WA_SESSIONS' },
  WAR_ERR_WA_BAD_REQUEST: { status: 400, meaning: 'a send request has a bad phone or an empty text' },
  WAR_ERR_WA_SEND_FAILED: { status: 502, meaning: 'WhatsApp refused the message' },
  WAR_ERR_NO_QR: { status: 404, meaning: 'no QR is on offer (the session is not pairing)' },
  // ---- booking (YClients) ------------------------------------------------------------
  WAR_ERR_BOOKING_INVALID: { status: 400, meaning: 'a booking request has a bad field (the message and `field` name it); nothing was sent to YClients' },
  WAR_ERR_BOOKING_SLOT_TAKEN: { status: 409, meaning: 'YClients 433: the chosen time of an appointment is taken or not a working time' },
  WAR_ERR_BOOKING_NO_MASTER: { status: 409, meaning: 'YClients 436: no master is free for the appointment' },
  WAR_ERR_BOOKING_OVERLAP: { status: 409, meaning: 'YClients 437: two appointments of the request overlap' },
  WAR_ERR_BOOKING_SERVICE_UNAVAILABLE: { status: 422, meaning: 'YClients 438: a service cannot be booked (removed, or not offered by that master)' },
  WAR_ERR_BOOKING_BAD_PHONE: { status: 422, meaning: 'YClients 431: YClients refused the phone number\'s format' },
  WAR_ERR_BOOKING_NAME_MISSING: { status: 422, meaning: 'YClients 435: the client\'s name is missing' },
  WAR_ERR_BOOKING_BLACKLISTED: { status: 422, meaning: 'YClients 434: the phone is on the salon\'s blacklist' },
  WAR_ERR_BOOKING_SMS_CODE: { status: 422, meaning: 'YClients 432: the SMS confirmation code is wrong' },
  WAR_ERR_BOOKING_CREDENTIALS: { status: 502, meaning: 'YClients refused our partner or user token (401/403)' },
  WAR_ERR_BOOKING_NOT_FOUND: { status: 404, meaning: 'YClients has no such company, master, service or record' },
  WAR_ERR_BOOKING_REJECTED: { status: 502, meaning: 'YClients refused the request for another reason (its status and message are kept)' },
  WAR_ERR_BOOKING_UPSTREAM_ERROR: { status: 502, meaning: 'YClients failed with a 5xx (a write may have been carried out)' },
  WAR_ERR_BOOKING_RATE_LIMITED: { status: 503, meaning: 'YClients answered 429 (too many requests); retry no sooner than its Retry-After' },
  WAR_ERR_BOOKING_BAD_ANSWER: { status: 502, meaning: 'YClients\' answer is not the documented JSON (a write may have been carried out)' },
  WAR_ERR_BOOKING_UNAVAILABLE: { status: 503, meaning: 'YClients did not answer in time or could not be reached (a write may have been carried out)' },
  WAR_ERR_BOOKING_ABORTED: { status: 503, meaning: 'the caller gave up on a YClients request before it was answered (a write may have been carried out)' },
  WAR_ERR_BOOKING_QUEUE_FULL: { status: 429, meaning: 'too many booking requests are waiting for the YClients rate limit' },
  WAR_ERR_BOOKING_QUEUE_TIMEOUT: { status: 503, meaning: 'a booking request waited for the YClients rate limit past its deadline' },
  WAR_ERR_BOOKING_BREAKER_OPEN: { status: 503, meaning: 'YClients failed repeatedly; booking calls fail fast until the breaker\'s cool-down ends' },
  // ---- HTTP --------------------------------------------------------------------------
  WAR_ERR_BAD_REQUEST: { status: 400, meaning: 'the body, query or path does not fit the route (the message says what)' },
  WAR_ERR_BAD_JSON: { status: 400, meaning: 'the body is not valid JSON' },
  WAR_ERR_BAD_PHONE: { status: 400, meaning: 'the phone is not a person\'s phone number' },
  WAR_ERR_BAD_TIMESTAMP: { status: 400, meaning: '`timestamp` is neither ISO-8601 nor epoch milliseconds' },
  WAR_ERR_EMPTY_MESSAGE: { status: 400, meaning: 'the message has no visible character' },
  WAR_ERR_BAD_SESSION: { status: 400, meaning: 'the sessionId is not a session id' },
  WAR_ERR_BODY_TOO_LARGE: { status: 413, meaning: 'the body exceeds the route\'s limit (the batched webhook answers 400, as its contract says)' },
  WAR_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'the body\'s content type is not application/json' },
  WAR_ERR_HEADERS_TOO_LARGE: { status: 431, meaning: 'the request\'s headers exceed Node\'s limit' },
  WAR_ERR_BAD_HTTP: { status: 400, meaning: 'the request is not valid HTTP' },
  WAR_ERR_REQUEST_TIMEOUT: { status: 408, meaning: 'the request was not received within the server\'s request timeout' },
  WAR_ERR_NOT_FOUND: { status: 404, meaning: 'no such route' },
  WAR_ERR_CHECK_NOT_FOUND: { status: 404, meaning: 'no health check of that name in the history (GET /health/history lists them)' },
  WAR_ERR_UNAUTHORIZED: { status: 401, meaning: 'missing or wrong bearer ADMIN_TOKEN' },
  WAR_ERR_ADMIN_DISABLED: { status: 403, meaning: 'admin routes are disabled because ADMIN_TOKEN is not set' },
  WAR_ERR_INTERNAL: { status: 500, meaning: 'an unexpected error; the server log has its stack' },
} as const satisfies Record<`WAR_ERR_${string}`, { readonly status: number; readonly meaning: string }>;

export type RuntimeErrorCode = keyof typeof ERROR_CODES;

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;

  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** The HTTP status this error answers with when it reaches a client. */
  get statusCode(): number {
    return ERROR_CODES[this.code].status;
  }
}

export class AskTimeoutError extends RuntimeError {
  constructor(readonly path: string, readonly timeoutMs: number) {
    super('WAR_ERR_ASK_TIMEOUT', `ask to ${path} got no reply within ${timeoutMs} ms`);
  }
}

export class MailboxFullError extends RuntimeError {
  constructor(readonly path: string, readonly capacity: number) {
    super('WAR_ERR_MAILBOX_FULL', `mailbox of ${path} is full (capacity ${capacity})`);
  }
}

export class ActorStoppedError extends RuntimeError {
  constructor(readonly path: string) {
    super('WAR_ERR_ACTOR_STOPPED', `actor ${path} is stopped`);
  }
}

/** The message an ask carried made the actor fail; `cause` is what it threw. */
export class ActorFailedError extends RuntimeError {
  constructor(readonly path: string, cause: unknown) {
    super('WAR_ERR_ACTOR_FAILED', `actor ${path} failed while handling the message: ${describe(cause)}`, { cause });
  }
}

export class WorkerDiedError extends RuntimeError {
  constructor(readonly threadId: number, readonly reason: string) {
    super('WAR_ERR_WORKER_DIED', `worker thread ${threadId} died: ${reason}`);
  }
}

/**
 * A batch's downstream did not take it. `permanent`: trying again cannot help, so the batch is
 * dead-lettered at once; `retryAfterMs`: the downstream asked for this much quiet before the
 * next attempt. The pipeline reads these as plain properties, so a handler that cannot import
 * this class signals the same with any error carrying them (README, handler section).
 */
export class DownstreamError extends RuntimeError {
  /** The HTTP status the downstream answered with, when there was an answer. */
  readonly status: number | undefined;
  /** The first characters of its body, for the dead letter and the log. */
  readonly bodyStart: string | undefined;
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: { readonly status?: number | undefined; readonly bodyStart?: string | undefined; readonly permanent: boolean; readonly retryAfterMs?: number | undefined },
    options?: { cause?: unknown },
  ) {
    super(details.permanent ? 'WAR_ERR_DOWNSTREAM_REJECTED' : 'WAR_ERR_DOWNSTREAM_FAILED', message, options);
    this.status = details.status;
    this.bodyStart = details.bodyStart;
    this.permanent = details.permanent;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function isRuntimeErrorCode(code: unknown): code is RuntimeErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * The runtime's code an error carries, or undefined for any other error (Node's `ERR_*`,
 * ioredis', fastify's). An error that crossed a thread boundary keeps its code as a plain
 * property, so this reads the property rather than testing the class.
 */
export function errorCode(error: unknown): RuntimeErrorCode | undefined {
  const code = anyErrorCode(error);
  return isRuntimeErrorCode(code) ? code : undefined;
}

/** Whatever string `code` an error carries, ours or a library's (for logs and for mapping foreign errors). */
export function anyErrorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
