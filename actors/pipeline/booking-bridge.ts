/**
 * A handler's `context.booking`: the typed booking operations (actors/booking/booking-api.ts)
 * carried from a piscina worker to the main thread, where the booking actor lives, over a
 * MessagePort opened for one task.
 *
 * Why a channel per task rather than per worker: piscina does not tell the main thread which
 * worker takes a task, a worker terminated for overrunning its time takes its ports with it,
 * and a channel the runner closes when the task settles cannot carry a late answer into the
 * next batch that worker handles. One channel costs about 12 µs to open and close (10,000 in
 * 124 ms on this machine), far below one booking call.
 *
 * The wire: the worker posts `{id, operation, params}`; the main side answers
 * `{id, ok: true, value}` or `{id, ok: false, error: {code, message, ...}}`. Parameters and
 * results are structured-cloned, so only plain data crosses, and an error is rebuilt on the
 * worker side as a RuntimeError with the same code and fields, because a structured clone
 * of an Error keeps only its message and stack (see handler-failure.ts).
 *
 * The InlineRunner's booking (tests, embedding) goes through the same two halves without the
 * port: the same validation, the same clone of parameters and results, the same errors and
 * the same timeout, so a handler tested inline meets what it meets on a worker.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { BookingOperationName, BookingOperations } from '../booking/booking-api.js';
import { RuntimeError, describe, errorCode, isRuntimeErrorCode, type RuntimeErrorCode } from '../../src/errors.js';

/** Every operation a handler may call. The main side answers these names and no other: a handler is user code, and a name like `constructor` must not reach the booking object. */
export const BOOKING_OPERATIONS = ['services', 'staff', 'dates', 'times', 'check', 'book', 'reschedule', 'cancel', 'findClient'] as const satisfies readonly BookingOperationName[];

/** Fails to compile when booking-api.ts gains an operation this list does not name. */
type Unlisted = Exclude<BookingOperationName, (typeof BOOKING_OPERATIONS)[number]>;
type MustBeTrue<T extends true> = T;
export type BookingOperationsListed = MustBeTrue<[Unlisted] extends [never] ? true : false>;

const OPERATION_NAMES: ReadonlySet<string> = new Set(BOOKING_OPERATIONS);

/** A call's time when the handler has no deadline (a runner that was not given one). */
export const BOOKING_CALL_TIMEOUT_MS = 10_000;

/**
 * The most of a handler's time kept back from its booking calls (and at most a tenth of it):
 * a call that times out must reject while the handler can still catch it and answer ("I
 * cannot book right now"), before piscina terminates the worker at the handler's deadline.
 */
export const BOOKING_REPLY_RESERVE_MAX_MS = 1_000;

/** What the worker posts. */
export interface BookingCall {
  readonly id: number;
  readonly operation: string;
  readonly params: unknown;
}

/**
 * A failed call's error as data: the fields of the booking service's errors
 * (actors/booking/booking-errors.ts) that handler code and the pipeline's retry rule read.
 * Each is carried only when the error has it, with its own type.
 */
export interface BookingErrorData {
  readonly code: RuntimeErrorCode;
  readonly message: string;
  /** The error's class name on the main side (BookingError...). */
  readonly name?: string;
  /** The request field it is about (`appointments[0].staff_id`...). */
  readonly field?: string;
  /** The booking service's category (`validation`, `rejected`, `unavailable`...). */
  readonly kind?: string;
  /** YClients' own error code (433 slot taken...). */
  readonly yclientsCode?: number;
  /** The HTTP status YClients answered with. */
  readonly yclientsStatus?: number;
  /** An HTTP status the error carries as `status`. */
  readonly status?: number;
  /** The same request again may succeed. */
  readonly retryable?: boolean;
  /** A write may have been carried out although no answer says so. */
  readonly ambiguous?: boolean;
  /** The appointment of the request YClients named. */
  readonly appointmentId?: number;
  /** Trying the batch again cannot help (read by the retry rule if the handler rethrows). */
  readonly permanent?: boolean;
  /** Come back no sooner than this (a breaker's cool-down, a 429's Retry-After). */
  readonly retryAfterMs?: number;
}

const STRING_FIELDS = ['name', 'field', 'kind'] as const;
const NUMBER_FIELDS = ['yclientsCode', 'yclientsStatus', 'status', 'appointmentId', 'retryAfterMs'] as const;
const BOOLEAN_FIELDS = ['retryable', 'ambiguous', 'permanent'] as const;

export type BookingOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: BookingErrorData };

/** What the main side posts back. */
export type BookingAnswer = BookingOutcome & { readonly id: number };

/**
 * A booking call's failure as the handler sees it: a RuntimeError with the main side's code
 * and fields as own properties (`error.code === 'WAR_ERR_BOOKING_SLOT_TAKEN'`,
 * `error.field`), whether or not the handler can import any class of the runtime.
 */
export class BookingCallError extends RuntimeError {
  /** The `context.booking` method that failed (`book`...). */
  readonly bookingOperation: string;
  readonly field: string | undefined;
  readonly kind: string | undefined;
  readonly yclientsCode: number | undefined;
  readonly yclientsStatus: number | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean | undefined;
  readonly ambiguous: boolean | undefined;
  readonly appointmentId: number | undefined;
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(bookingOperation: string, data: BookingErrorData) {
    // The main side sends only the runtime's codes; anything else would break `code`'s type.
    super(isRuntimeErrorCode(data.code) ? data.code : 'WAR_ERR_INTERNAL', data.message);
    if (data.name !== undefined) this.name = data.name;
    this.bookingOperation = bookingOperation;
    this.field = data.field;
    this.kind = data.kind;
    this.yclientsCode = data.yclientsCode;
    this.yclientsStatus = data.yclientsStatus;
    this.status = data.status;
    this.retryable = data.retryable;
    this.ambiguous = data.ambiguous;
    this.appointmentId = data.appointmentId;
    this.permanent = data.permanent === true;
    this.retryAfterMs = data.retryAfterMs;
  }
}

/**
 * The moment by which a handler's booking calls must have answered: its deadline less the
 * reserve (BOOKING_REPLY_RESERVE_MAX_MS, at most a tenth of its time).
 */
export function bookingAnswerBy(deadlineAt: number, timeoutMs: number): number {
  return deadlineAt - Math.min(BOOKING_REPLY_RESERVE_MAX_MS, Math.floor(timeoutMs / 10));
}

// ---- the main side ---------------------------------------------------------------------

function refusal(code: RuntimeErrorCode, message: string): BookingOutcome {
  return { ok: false, error: { code, message } };
}

function isParameterObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Any failure of the real operations as data; one that carries none of the runtime's codes is WAR_ERR_INTERNAL with its message. */
export function bookingErrorData(error: unknown): BookingErrorData {
  const source: Readonly<Record<string, unknown>> = error !== null && typeof error === 'object' ? (error as Record<string, unknown>) : {};
  // Only these fields, and only with their types: anything else on an error (a transport's
  // details, a request) stays on the main thread, and a value that cannot be cloned cannot break the answer.
  const data: Record<string, unknown> = { code: errorCode(error) ?? 'WAR_ERR_INTERNAL', message: describe(error) };
  for (const key of STRING_FIELDS) if (typeof source[key] === 'string') data[key] = source[key];
  for (const key of NUMBER_FIELDS) if (typeof source[key] === 'number') data[key] = source[key];
  for (const key of BOOLEAN_FIELDS) if (typeof source[key] === 'boolean') data[key] = source[key];
  return data as unknown as BookingErrorData;
}

/**
 * Runs one call against the real operations. Never rejects: whatever a handler sends (an
 * unknown name, positional arguments, nothing) and whatever the operation throws becomes an
 * error answer, because a rejection here would be an unhandled one on the main thread.
 * `operations` is asked on every call: the booking actor may start, restart or stop while a
 * pool of workers lives on.
 */
export async function performBookingCall(operations: () => BookingOperations | undefined, operation: unknown, params: unknown): Promise<BookingOutcome> {
  if (typeof operation !== 'string' || !OPERATION_NAMES.has(operation)) {
    return refusal('WAR_ERR_BAD_ARGUMENT', `no booking operation ${label(operation)} (one of ${BOOKING_OPERATIONS.join(', ')})`);
  }
  if (!isParameterObject(params)) {
    return refusal('WAR_ERR_BAD_ARGUMENT', `booking.${operation} takes one parameter object, got ${Array.isArray(params) ? 'an array' : params === null ? 'null' : typeof params}`);
  }
  try {
    const booking = operations();
    if (!booking) return refusal('WAR_ERR_BOOKING_DISABLED', `booking.${operation}: no booking actor runs (YClients is not configured: set YCLIENTS_PARTNER_TOKEN)`);
    const run = booking[operation as BookingOperationName] as (this: BookingOperations, request: unknown) => Promise<unknown>;
    return { ok: true, value: await run.call(booking, params) };
  } catch (error) {
    return { ok: false, error: bookingErrorData(error) };
  }
}

/** The main side of one task's channel. */
export interface BookingBridge {
  /** The worker's end: put it in the task and in `transferList`. */
  readonly port: MessagePort;
  /** When the task settles: closes the channel (the worker's pending calls reject), drops late answers. */
  close(): void;
}

/** A name a handler sent, for a message; never throws (JSON.stringify does on a BigInt). */
function label(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `of type ${typeof value}`;
}

function callId(message: unknown): number | undefined {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : undefined;
}

function uncloneable(id: number, operation: string, error: unknown): BookingAnswer {
  return { id, ok: false, error: { code: 'WAR_ERR_INTERNAL', message: `booking.${operation} answered with a value that cannot cross to the handler's thread: ${describe(error)}` } };
}

function post(port: MessagePort, id: number, outcome: BookingOutcome, operation: string): void {
  try {
    port.postMessage({ id, ...outcome } satisfies BookingAnswer);
  } catch (error) {
    // A result that cannot be cloned (a function, a symbol) would otherwise leave the
    // handler waiting until its time runs out.
    port.postMessage(uncloneable(id, operation, error));
  }
}

/** Opens one task's channel and answers its calls with `operations()` until `close()`. */
export function openBookingBridge(operations: () => BookingOperations | undefined): BookingBridge {
  const { port1, port2 } = new MessageChannel();
  let open = true;
  port1.on('message', (message: unknown) => {
    // Without an id there is no one to answer; ignoring it keeps a handler's garbage from crashing anything.
    const id = callId(message);
    if (id === undefined) return;
    const { operation, params } = message as Partial<BookingCall>;
    const name = typeof operation === 'string' ? operation : label(operation);
    void performBookingCall(operations, operation, params).then((outcome) => {
      if (open) post(port1, id, outcome, name);
    });
  });
  return {
    port: port2,
    close(): void {
      if (!open) return;
      open = false;
      port1.close();
    },
  };
}

// ---- the handler's side ----------------------------------------------------------------

export interface BookingClientOptions {
  /** Epoch ms by which every call must have answered (bookingAnswerBy); without it each call gets BOOKING_CALL_TIMEOUT_MS. */
  readonly answerBy?: number | undefined;
}

/** A handler's booking and what ends it when the handler is done. */
export interface BookingClient {
  readonly booking: BookingOperations;
  /**
   * The handler settled: clears the timers, closes the channel. Calls still pending are
   * dropped, not rejected: nobody awaits them any more, and a rejection would only surface as
   * an unhandled one in the worker.
   */
  close(): void;
}

interface Pending {
  readonly operation: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** The pending calls of one handler, their timeouts, and the typed proxy that makes them. */
class Calls {
  readonly #pending = new Map<number, Pending>();
  readonly #send: (call: BookingCall) => void;
  readonly #answerBy: number | undefined;
  #nextId = 1;
  #closed = false;

  constructor(send: (call: BookingCall) => void, options: BookingClientOptions) {
    this.#send = send;
    this.#answerBy = options.answerBy;
  }

  call(operation: BookingOperationName, params: unknown): Promise<unknown> {
    if (this.#closed) return Promise.reject(noAnswer(operation, 'its channel is closed'));
    const timeoutMs = this.#answerBy === undefined ? BOOKING_CALL_TIMEOUT_MS : Math.floor(this.#answerBy - Date.now());
    if (timeoutMs <= 0) return Promise.reject(noAnswer(operation, "the handler's time is up"));
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(noAnswer(operation, `no answer within ${timeoutMs} ms (what is left of the handler's time)`));
      }, timeoutMs);
      this.#pending.set(id, { operation, resolve, reject, timer });
      try {
        this.#send({ id, operation, params });
      } catch (error) {
        // postMessage clones synchronously: a function or a class instance in the parameters fails here.
        this.#settle(id, refusal('WAR_ERR_BAD_ARGUMENT', `booking.${operation}'s parameters cannot be sent: ${describe(error)}`));
      }
    });
  }

  /** An answer arrived; one for a call that timed out is ignored. */
  receive(message: unknown): void {
    const id = callId(message);
    if (id === undefined) return;
    const answer = message as BookingAnswer;
    this.#settle(id, answer.ok === true ? { ok: true, value: answer.value } : { ok: false, error: answer.error });
  }

  #settle(id: number, outcome: BookingOutcome): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (outcome.ok) pending.resolve(outcome.value);
    else pending.reject(new BookingCallError(pending.operation, outcome.error));
  }

  /** The other side went away while the handler runs: its pending calls can never be answered. */
  lost(): void {
    this.#closed = true;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(noAnswer(pending.operation, 'its channel closed before an answer'));
    }
  }

  /** The handler is done (see BookingClient.close). */
  close(): void {
    this.#closed = true;
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    this.#pending.clear();
  }

  proxy(): BookingOperations {
    const call = <K extends BookingOperationName>(operation: K): BookingOperations[K] =>
      ((params: unknown) => this.call(operation, params)) as BookingOperations[K];
    return Object.freeze({
      services: call('services'),
      staff: call('staff'),
      dates: call('dates'),
      times: call('times'),
      check: call('check'),
      book: call('book'),
      reschedule: call('reschedule'),
      cancel: call('cancel'),
      findClient: call('findClient'),
    } satisfies BookingOperations);
  }
}

/** What the writes are: one that got no answer may still be carried out on the main side. */
const WRITES: ReadonlySet<string> = new Set<BookingOperationName>(['book', 'reschedule', 'cancel']);

/** A call that got no answer, in the booking service's own terms for "no usable answer" (kind `unavailable`). */
function noAnswer(operation: string, why: string): BookingCallError {
  return new BookingCallError(operation, {
    code: 'WAR_ERR_BOOKING_UNAVAILABLE',
    message: `booking.${operation}: ${why}`,
    kind: 'unavailable',
    retryable: true,
    ambiguous: WRITES.has(operation),
  });
}

/** The worker's booking over the task's port (the other end is an openBookingBridge). */
export function bookingOverPort(port: MessagePort, options: BookingClientOptions = {}): BookingClient {
  const calls = new Calls((call) => port.postMessage(call), options);
  port.on('message', (message: unknown) => calls.receive(message));
  port.on('close', () => calls.lost());
  return {
    booking: calls.proxy(),
    close(): void {
      calls.close();
      port.close();
    },
  };
}

/**
 * A booking that calls `operations()` in this thread (the InlineRunner's, and a worker's when
 * its runner has no booking): the same validation, clones, errors and timeout as over a port.
 * The clones matter here too: a handler must not mutate what the booking service caches.
 */
export function directBooking(operations: () => BookingOperations | undefined, options: BookingClientOptions = {}): BookingClient {
  const calls: Calls = new Calls((call) => {
    const params = structuredClone(call.params);
    void performBookingCall(operations, call.operation, params).then((outcome) => {
      let answer: BookingAnswer;
      try {
        answer = { id: call.id, ...structuredClone(outcome) };
      } catch (error) {
        answer = uncloneable(call.id, call.operation, error);
      }
      calls.receive(answer);
    });
  }, options);
  return { booking: calls.proxy(), close: () => calls.close() };
}
