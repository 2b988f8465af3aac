import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { Pool, type Dispatcher } from 'undici';
import { normalizePhone } from '../batcher/conversation.js';
import { RuntimeError, anyErrorCode } from '../../src/errors.js';
import type {
  BookableDates,
  BookableService,
  BookableStaff,
  CancelRequest,
  ClientQuery,
  ClientSummary,
  CreatedRecord,
  DatesQuery,
  FoundRecord,
  FreeTime,
  RecordsLookup,
  RescheduleRequest,
  RescheduledRecord,
  ResolvedCheckRequest,
  ResolvedRecordRequest,
  ResolvedTimesQuery,
  ServicesQuery,
  StaffQuery,
} from './booking-api.js';
import { BookingError, invalidField } from './booking-errors.js';
import {
  validateCancelRequest,
  validateClientQuery,
  validateDatesQuery,
  validateRecordsLookup,
  validateRescheduleRequest,
  validateResolvedCheckRequest,
  validateResolvedRecordRequest,
  validateResolvedTimesQuery,
  validateServicesQuery,
  validateStaffQuery,
  type InputDefaults,
} from './booking-input.js';
import {
  badAnswer,
  clientsOf,
  createdOf,
  datesOf,
  recordsOf,
  rescheduledOf,
  servicesOf,
  staffOf,
  timesOf,
  unpack,
  type Unpacked,
  type YClientsOperation,
} from './yclients-answers.js';

export type { YClientsOperation } from './yclients-answers.js';

export interface YClientsClientOptions {
  /** YCLIENTS_BASE_URL: the origin and the path prefix (`https://api.yclients.com/api/v1`). */
  readonly baseUrl: string;
  readonly partnerToken: string;
  /** Absent: `Authorization: Bearer <partner>` alone, enough for the online-booking calls. */
  readonly userToken?: string | undefined;
  /** YCLIENTS_COMPANY_ID: the company of a call that names none. */
  readonly companyId?: number | undefined;
  /** YCLIENTS_TIMEOUT_MS: the longest wait for an answer's headers, and between two chunks of its body. */
  readonly timeoutMs: number;
  /** Sockets to YClients (default 4): the rate limit, not the pool, bounds the load. */
  readonly connections?: number | undefined;
  /** Each request at trace, each failure at debug; never a token, a phone or a body. */
  readonly logger?: Logger | undefined;
  /**
   * Awaited before every HTTP request (a records lookup may take several pages): where a rate
   * limiter that must see each request, not each call, plugs in. Whatever it throws is thrown.
   * A function it resolves with is called as the request is handed to undici (its departure).
   */
  readonly beforeRequest?: ((operation: YClientsOperation, signal: AbortSignal | undefined) => Promise<(() => void) | void>) | undefined;
  /** For a Retry-After given as an HTTP date; default Date.now. */
  readonly now?: (() => number) | undefined;
}

/** A lookup for the records one book_record made, by its api_id. */
export interface ApiIdLookup extends RecordsLookup {
  readonly api_id: string;
}

/** The most of one answer read into memory; a records page is well under it. */
const BODY_MAX_BYTES = 8 * 1024 * 1024;
/** Records per page of a lookup (YClients allows up to 300). */
const RECORDS_PAGE = 200;
/** A lookup that has not ended after this many pages is a server that keeps claiming more. */
const RECORDS_PAGES_MAX = 50;
/** Clients per search page; a phone matches few. */
const CLIENTS_PAGE = 50;
const ACCEPT = 'application/vnd.yclients.v2+json';

/** Connection failures that mean the request was never sent, so even a write was not carried out. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * The YClients REST API (v2 answers) on one undici Pool: each operation takes one parameter
 * object in YClients' own field names, validates it before anything is sent, and answers with
 * checked data or a BookingError. Every request is one HTTP request and nothing more: the
 * rate limit, retries, the breaker and the caches are built around this client, which only
 * maps each answer or failure to data or an error. Tokens travel in the Authorization header
 * and nowhere else; text from outside (YClients' messages, transport errors) is scrubbed of
 * them before it reaches an error or a log.
 */
export class YClientsClient {
  readonly #pool: Pool;
  /** `#pool` with the departure interceptor: what requests go through. */
  readonly #dispatcher: Dispatcher;
  /** Request options → what to call when undici writes that request to a socket. */
  readonly #departures = new WeakMap<object, () => void>();
  readonly #prefix: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #defaults: InputDefaults;
  readonly #timeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #beforeRequest: YClientsClientOptions['beforeRequest'];
  readonly #now: () => number;
  readonly #redact: (text: string) => string;
  #closed = false;

  constructor(options: YClientsClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', 'YClientsClient baseUrl is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', `YClientsClient baseUrl must be http(s), got ${url.protocol}`);
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', `YClientsClient timeoutMs must be a positive number, got ${options.timeoutMs}`);
    if (options.partnerToken === '') throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', 'YClientsClient needs a partner token');
    this.#prefix = url.pathname.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 4,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: options.timeoutMs },
    });
    this.#dispatcher = this.#pool.compose((dispatch) => (dispatchOptions, handler) => {
      const departed = this.#departures.get(dispatchOptions);
      return dispatch(dispatchOptions, departed === undefined ? handler : onDeparture(handler, departed));
    });
    const userToken = options.userToken === '' ? undefined : options.userToken;
    this.#headers = {
      accept: ACCEPT,
      'content-type': 'application/json',
      authorization: userToken === undefined ? `Bearer ${options.partnerToken}` : `Bearer ${options.partnerToken}, User ${userToken}`,
    };
    this.#defaults = { companyId: options.companyId };
    this.#logger = options.logger;
    this.#beforeRequest = options.beforeRequest;
    this.#now = options.now ?? Date.now;
    this.#redact = redactor([options.partnerToken, ...(userToken === undefined ? [] : [userToken])]);
  }

  /** GET /book_services/{company}: the services one can book (of a master, at a time). */
  async bookServices(query: ServicesQuery, signal?: AbortSignal): Promise<readonly BookableService[]> {
    const valid = validateServicesQuery(query, this.#defaults);
    const search = params({ staff_id: valid.staff_id, datetime: valid.datetime });
    return this.#call('book_services', 'GET', `/book_services/${valid.company_id}${search}`, undefined, signal, ({ data }) => servicesOf(data, context('book_services')));
  }

  /** GET /book_staff/{company}: the masters one can book (for these services, at a time). */
  async bookStaff(query: StaffQuery, signal?: AbortSignal): Promise<readonly BookableStaff[]> {
    const valid = validateStaffQuery(query, this.#defaults);
    const search = params({ 'service_ids[]': valid.service_ids, datetime: valid.datetime });
    return this.#call('book_staff', 'GET', `/book_staff/${valid.company_id}${search}`, undefined, signal, ({ data }) => staffOf(data, context('book_staff')));
  }

  /** GET /book_dates/{company}: the days with free times. `staff_id: "any"` asks for any master (no filter). */
  async bookDates(query: DatesQuery, signal?: AbortSignal): Promise<BookableDates> {
    const valid = validateDatesQuery(query, this.#defaults);
    const search = params({ 'service_ids[]': valid.service_ids, staff_id: valid.staff_id === 'any' ? undefined : valid.staff_id });
    return this.#call('book_dates', 'GET', `/book_dates/${valid.company_id}${search}`, undefined, signal, ({ data }) => datesOf(data, context('book_dates')));
  }

  /** GET /book_times/{company}/{staff}/{date}: one master's free times that day. */
  async bookTimes(query: ResolvedTimesQuery, signal?: AbortSignal): Promise<readonly FreeTime[]> {
    const valid = validateResolvedTimesQuery(query, this.#defaults);
    const search = params({ 'service_ids[]': valid.service_ids });
    return this.#call('book_times', 'GET', `/book_times/${valid.company_id}/${valid.staff_id}/${valid.date}${search}`, undefined, signal, ({ data }) => timesOf(data, context('book_times')));
  }

  /** POST /book_check/{company}: resolves when the appointments could be booked now. */
  async bookCheck(request: ResolvedCheckRequest, signal?: AbortSignal): Promise<void> {
    const valid = validateResolvedCheckRequest(request, this.#defaults);
    await this.#call('book_check', 'POST', `/book_check/${valid.company_id}`, { appointments: wireAppointments(valid.appointments) }, signal, () => undefined);
  }

  /**
   * POST /book_record/{company}: one record per appointment (201). YClients keeps `api_id` but
   * does not dedupe on it; after an ambiguous failure (`error.ambiguous`), look the records up
   * with `findRecordsByApiId` before sending again.
   */
  async bookRecord(request: ResolvedRecordRequest, signal?: AbortSignal): Promise<readonly CreatedRecord[]> {
    const valid = validateResolvedRecordRequest(request, this.#defaults);
    const body = {
      phone: valid.phone,
      fullname: valid.fullname,
      ...(valid.email === undefined ? {} : { email: valid.email }),
      ...(valid.comment === undefined ? {} : { comment: valid.comment }),
      ...(valid.api_id === undefined ? {} : { api_id: valid.api_id }),
      ...(valid.code === undefined ? {} : { code: valid.code }),
      appointments: wireAppointments(valid.appointments),
    };
    const ids = valid.appointments.map((appointment) => appointment.id);
    return this.#call('book_record', 'POST', `/book_record/${valid.company_id}`, body, signal, ({ data }) => createdOf(data, ids, context('book_record')));
  }

  /**
   * GET /records/{company} for one day (and master), every page, narrowed to the records that
   * match each filter given: api_id, the client's phone, the same datetime. Needs the user token.
   */
  async findRecords(lookup: RecordsLookup, signal?: AbortSignal): Promise<readonly FoundRecord[]> {
    const valid = validateRecordsLookup(lookup, this.#defaults);
    const matches: FoundRecord[] = [];
    let read = 0;
    for (let page = 1; ; page++) {
      if (page > RECORDS_PAGES_MAX) throw badAnswer(context('records'), `paging did not end within ${RECORDS_PAGES_MAX} pages of ${RECORDS_PAGE}`);
      const search = params({ page, count: RECORDS_PAGE, staff_id: valid.staff_id, start_date: valid.date, end_date: valid.date });
      const { records, totalCount } = await this.#call('records', 'GET', `/records/${valid.company_id}${search}`, undefined, signal, ({ data, meta }) => recordsOf(data, meta, context('records')));
      matches.push(...records.filter((record) => recordMatches(record, valid)));
      read += records.length;
      if (records.length < RECORDS_PAGE || (totalCount !== undefined && read >= totalCount)) return matches;
    }
  }

  /** The records a book_record with this api_id made (the never-book-twice lookup); give the day or the datetime booked. */
  async findRecordsByApiId(lookup: ApiIdLookup, signal?: AbortSignal): Promise<readonly FoundRecord[]> {
    if (lookup.api_id === undefined) throw invalidField('api_id', 'is missing: the api_id the record was booked with');
    return this.findRecords(lookup, signal);
  }

  /**
   * PUT /book_record/{company}/{record_id}: moves a record to another time (and comment).
   * That endpoint cannot change the master or the services, so a request asking for either is
   * refused before it is sent rather than half carried out.
   */
  async reschedule(request: RescheduleRequest, signal?: AbortSignal): Promise<RescheduledRecord> {
    const valid = validateRescheduleRequest(request, this.#defaults);
    for (const field of ['staff_id', 'services'] as const) {
      if (valid[field] !== undefined) throw invalidField(field, 'cannot be changed by a reschedule (it moves a record in time); cancel the record and book again');
    }
    const body = { datetime: valid.datetime, ...(valid.comment === undefined ? {} : { comment: valid.comment }) };
    return this.#call('reschedule', 'PUT', `/book_record/${valid.company_id}/${valid.record_id}`, body, signal, ({ data }) => rescheduledOf(data, context('reschedule')));
  }

  /** DELETE /record/{company}/{record_id} (204). Needs the user token. */
  async cancel(request: CancelRequest, signal?: AbortSignal): Promise<void> {
    const valid = validateCancelRequest(request, this.#defaults);
    await this.#call('record_delete', 'DELETE', `/record/${valid.company_id}/${valid.record_id}`, undefined, signal, () => undefined);
  }

  /** POST /company/{company}/clients/search by phone: the client with exactly that phone, if any. Needs the user token. */
  async findClient(query: ClientQuery, signal?: AbortSignal): Promise<ClientSummary | undefined> {
    const valid = validateClientQuery(query, this.#defaults);
    const body = { page: 1, page_size: CLIENTS_PAGE, fields: ['id', 'name', 'phone'], filters: [{ type: 'quick_search', state: { value: valid.phone } }] };
    const clients = await this.#call('clients_search', 'POST', `/company/${valid.company_id}/clients/search`, body, signal, ({ data }) => clientsOf(data, context('clients_search')));
    // quick_search also matches part of a phone or a name: only the same number is this client.
    const client = clients.find((candidate) => samePhone(candidate.phone, valid.phone));
    return client === undefined ? undefined : { ...client, phone: valid.phone };
  }

  /** Takes no new calls; resolves when the calls in flight have their answers (each bounded by the timeout). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  async #call<T>(operation: YClientsOperation, method: Dispatcher.HttpMethod, path: string, body: unknown, signal: AbortSignal | undefined, read: (answer: Unpacked) => T): Promise<T> {
    const write = WRITES.has(operation);
    if (this.#closed) throw new BookingError('WAR_ERR_BOOKING_UNAVAILABLE', `the YClients client is closed; ${operation} was not sent`, { operation, retryable: false });
    const departed = await this.#beforeRequest?.(operation, signal);
    if (signal?.aborted) throw new BookingError('WAR_ERR_BOOKING_ABORTED', `${operation} was abandoned by its caller before it was sent`, { operation });
    const started = performance.now();
    let response: Dispatcher.ResponseData;
    try {
      const requestOptions: Dispatcher.RequestOptions = {
        path: `${this.#prefix}${path}`,
        method,
        headers: this.#headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: signal ?? null,
      };
      if (departed) this.#departures.set(requestOptions, departed);
      response = await this.#dispatcher.request(requestOptions);
    } catch (error) {
      throw this.#failed(this.#transportError(error, operation, write, signal, false), method, path, started);
    }
    let text: string | undefined;
    try {
      text = await readText(response.body);
    } catch (error) {
      throw this.#failed(this.#transportError(error, operation, write, signal, true), method, path, started, response.statusCode);
    }
    if (text === undefined) throw this.#failed(badAnswer(context(operation), `exceeds ${BODY_MAX_BYTES} bytes`, response.statusCode), method, path, started, response.statusCode);
    try {
      const data = read(unpack({ status: response.statusCode, headers: response.headers, text }, { operation, write, redact: this.#redact, now: this.#now() }));
      this.#logger?.trace({ operation, method, path, status: response.statusCode, ms: elapsed(started) }, 'yclients request');
      return data;
    } catch (error) {
      throw this.#failed(error, method, path, started, response.statusCode);
    }
  }

  /** A failure logged once, at debug (the caller decides whether it matters), and handed back. */
  #failed(error: unknown, method: string, path: string, started: number, status?: number): unknown {
    if (error instanceof BookingError) {
      this.#logger?.debug({ operation: error.operation, method, path, status, ms: elapsed(started), code: error.code, yclientsCode: error.yclientsCode, ambiguous: error.ambiguous }, 'yclients request failed');
    }
    return error;
  }

  /**
   * A request that got no whole answer. Ambiguous for a write unless the connection was never
   * made: a timeout or a dropped connection may come after YClients did the work.
   */
  #transportError(error: unknown, operation: YClientsOperation, write: boolean, signal: AbortSignal | undefined, answered: boolean): BookingError {
    const code = anyErrorCode(error);
    const transportCode = code ?? (error instanceof Error ? error.name : undefined);
    if (signal?.aborted || code === 'UND_ERR_ABORTED' || (error instanceof Error && error.name === 'AbortError')) {
      return new BookingError('WAR_ERR_BOOKING_ABORTED', `${operation} was abandoned by its caller before YClients answered`, { operation, ambiguous: write, transportCode });
    }
    if (code !== undefined && TIMEOUTS.has(code)) {
      const what = code === 'UND_ERR_BODY_TIMEOUT' || answered ? 'stopped sending its answer' : 'did not answer';
      return new BookingError('WAR_ERR_BOOKING_UNAVAILABLE', `YClients ${what} to ${operation} within ${this.#timeoutMs} ms (${code})`, { operation, ambiguous: write, transportCode });
    }
    const notSent = !answered && code !== undefined && NOT_SENT.has(code);
    const detail = this.#redact(error instanceof Error ? error.message : String(error));
    const what = notSent ? 'could not be reached for' : 'lost the connection during';
    return new BookingError('WAR_ERR_BOOKING_UNAVAILABLE', `YClients ${what} ${operation}: ${detail}${code === undefined ? '' : ` (${code})`}`, { operation, ambiguous: write && !notSent, transportCode });
  }
}

/**
 * The handler, told `departed` once when undici is about to write the request to a socket
 * (its `onConnect` / `onRequestStart`): after the connection is made and any queue in the
 * pool is passed, which is when the request really leaves.
 */
function onDeparture(handler: Dispatcher.DispatchHandler, departed: () => void): Dispatcher.DispatchHandler {
  let told = false;
  return new Proxy(handler, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Undici's handlers keep private fields: every method runs on the handler itself.
      if (property !== 'onConnect' && property !== 'onRequestStart') return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        if (!told) {
          told = true;
          departed();
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const WRITES: ReadonlySet<YClientsOperation> = new Set(['book_record', 'reschedule', 'record_delete']);

function context(operation: YClientsOperation): { operation: YClientsOperation; write: boolean } {
  return { operation, write: WRITES.has(operation) };
}

/** Appointments in YClients' field order and nothing else (no fields a caller added). */
function wireAppointments(appointments: ResolvedCheckRequest['appointments']): readonly Record<string, unknown>[] {
  return appointments.map((appointment) => ({ id: appointment.id, services: appointment.services, staff_id: appointment.staff_id, datetime: appointment.datetime }));
}

/** `?a=1&service_ids[]=2&service_ids[]=3` from the values given (undefined left out). */
function params(values: Readonly<Record<string, string | number | readonly number[] | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) search.append(key, String(item));
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

function recordMatches(record: FoundRecord, lookup: RecordsLookup): boolean {
  if (lookup.staff_id !== undefined && record.staff_id !== lookup.staff_id) return false;
  if (lookup.api_id !== undefined && record.api_id !== lookup.api_id) return false;
  if (lookup.phone !== undefined && !samePhone(record.client?.phone, lookup.phone)) return false;
  if (lookup.datetime !== undefined && !sameTime(record.datetime, lookup.datetime)) return false;
  return true;
}

function samePhone(candidate: string | undefined, phone: string): boolean {
  if (candidate === undefined) return false;
  const normalised = normalizePhone(candidate);
  return normalised.ok && normalised.phone === phone;
}

const OFFSET = /(Z|[+-]\d{2}:?\d{2})$/;

/** The same instant when both carry an offset; otherwise the same wall-clock minute (both in the company's zone). */
function sameTime(recorded: string, wanted: string): boolean {
  if (OFFSET.test(recorded) && OFFSET.test(wanted)) return Date.parse(recorded) === Date.parse(wanted);
  const minute = (text: string) => text.replace(' ', 'T').slice(0, 16);
  return minute(recorded) === minute(wanted);
}

/** The whole body (so the socket goes back to the pool); undefined past BODY_MAX_BYTES (the socket is dropped). */
async function readText(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_MAX_BYTES) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Replaces every token in a text with `<redacted>` (longest first, so a token inside another goes whole). */
function redactor(tokens: readonly string[]): (text: string) => string {
  const secrets = [...new Set(tokens.filter((token) => token.length > 0))].sort((a, b) => b.length - a.length);
  return (text) => secrets.reduce((out, secret) => out.split(secret).join('<redacted>'), text);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
