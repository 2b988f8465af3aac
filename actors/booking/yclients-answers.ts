import { parseRetryAfter } from '../pipeline/retry-rule.js';
import type { BookableDates, BookableService, BookableStaff, ClientSummary, CreatedRecord, FoundRecord, FreeTime, RescheduledRecord } from './booking-api.js';
import { BookingError, codeForAnswer, codeForYClientsCode } from './booking-errors.js';

/**
 * YClients' answers read by hand: the `{success, data, meta}` envelope (Accept:
 * application/vnd.yclients.v2+json) unpacked, a refusal turned into the BookingError it means,
 * and each operation's `data` checked field by field. Whatever does not fit is
 * `WAR_ERR_BOOKING_BAD_ANSWER` naming the path (`data[2].datetime`), never a crash and never
 * an `undefined` handed on. Ids are taken as numbers or digit strings (YClients sends both).
 */

/** The endpoints the client calls, by the names errors, logs and the test server use. */
export type YClientsOperation =
  | 'book_services'
  | 'book_staff'
  | 'book_dates'
  | 'book_times'
  | 'book_check'
  | 'book_record'
  | 'reschedule'
  | 'records'
  | 'record_delete'
  | 'clients_search';

/** An answer as it came: status, headers, the whole body as text. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

export interface AnswerContext {
  readonly operation: YClientsOperation;
  /** A write (book_record, reschedule, cancel): an unreadable or 5xx answer leaves it ambiguous. */
  readonly write: boolean;
  /** Removes our tokens from text that came from outside (YClients may echo a request). */
  readonly redact: (text: string) => string;
  /** For a Retry-After given as an HTTP date. */
  readonly now: number;
}

/** The envelope's parts of a successful answer. */
export interface Unpacked {
  readonly data: unknown;
  readonly meta: unknown;
}

/** How much of YClients' own message an error keeps. */
const MESSAGE_MAX = 300;

/**
 * The data of a successful answer, or the BookingError a refusal means. A 2xx with an empty
 * body is data `null` (book_check answers 201 with nothing, DELETE answers 204).
 */
export function unpack(answer: RawAnswer, context: AnswerContext): Unpacked {
  const ok = answer.status >= 200 && answer.status < 300;
  const retryAfterMs = ok ? undefined : parseRetryAfter(answer.headers['retry-after'], context.now);
  if (answer.text.trim() === '') {
    if (ok) return { data: null, meta: undefined };
    throw refusal(answer.status, {}, `answered ${answer.status} with an empty body`, retryAfterMs, context);
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    if (ok) throw badAnswer(context, `is not JSON (HTTP ${answer.status})`, answer.status);
    // A proxy's HTML page in front of YClients: the status still says what happened.
    throw refusal(answer.status, {}, `answered ${answer.status} with a body that is not JSON`, retryAfterMs, context);
  }
  const envelope = isObject(body) && typeof body.success === 'boolean' ? body : undefined;
  if (ok && envelope?.success === true) return { data: envelope.data, meta: envelope.meta };
  if (ok && envelope === undefined) throw badAnswer(context, `is not the {success, data, meta} envelope (HTTP ${answer.status})`, answer.status);
  const details = refusalDetails(body);
  throw refusal(answer.status, details, undefined, retryAfterMs, context);
}

interface RefusalDetails {
  readonly message?: string | undefined;
  readonly yclientsCode?: number | undefined;
  readonly appointmentId?: number | undefined;
}

/**
 * Where YClients puts why: `meta.errors: [{code, message}]` (the booking codes 431-438),
 * `meta.errors: {field: [messages]}` (validation), `meta.message`; and in the v1 format a
 * top-level `errors: {code, message}`. A booking code is preferred to any other entry.
 */
function refusalDetails(body: unknown): RefusalDetails {
  if (!isObject(body)) return {};
  const meta = isObject(body.meta) ? body.meta : {};
  const entries: Record<string, unknown>[] = [];
  for (const errors of [meta.errors, body.errors]) {
    if (Array.isArray(errors)) entries.push(...errors.filter(isObject));
    else if (isObject(errors) && ('code' in errors || 'message' in errors)) entries.push(errors);
  }
  const coded = entries.filter((entry) => integerOf(entry.code) !== undefined);
  const entry = coded.find((candidate) => codeForYClientsCode(integerOf(candidate.code) as number) !== undefined) ?? coded[0] ?? entries[0];
  const metaCode = integerOf(meta.code);
  const yclientsCode = entry === undefined ? metaCode : integerOf(entry.code) ?? metaCode;
  const fieldErrors = isObject(meta.errors) && !('code' in meta.errors) ? describeFieldErrors(meta.errors) : undefined;
  const message = stringOf(entry?.message) ?? joined(stringOf(meta.message), fieldErrors) ?? stringOf(body.message);
  const appointmentId = integerOf(entry?.id) ?? integerOf(meta.id);
  return { message, yclientsCode, appointmentId };
}

function refusal(status: number, details: RefusalDetails, fallback: string | undefined, retryAfterMs: number | undefined, context: AnswerContext): BookingError {
  const code = codeForAnswer(status, details.yclientsCode);
  const label = details.yclientsCode === undefined ? `${status}` : `${status} (code ${details.yclientsCode})`;
  const message =
    details.message === undefined
      ? `YClients ${context.operation} ${fallback ?? `answered ${label}`}`
      : `YClients answered ${context.operation} with ${label}: ${cut(context.redact(details.message))}`;
  return new BookingError(code, message, {
    yclientsStatus: status,
    yclientsCode: details.yclientsCode,
    appointmentId: details.appointmentId,
    retryAfterMs,
    operation: context.operation,
    // A 5xx may come after the work was done (a proxy timing out on a slow YClients); a 4xx is a refusal.
    ambiguous: context.write && status >= 500,
  });
}

/** A malformed answer. On a write it is ambiguous: a 2xx says the work was probably done. */
export function badAnswer(context: Pick<AnswerContext, 'operation' | 'write'>, problem: string, status?: number): BookingError {
  return new BookingError('WAR_ERR_BOOKING_BAD_ANSWER', `YClients' ${context.operation} answer ${problem}`, { operation: context.operation, ambiguous: context.write, yclientsStatus: status });
}

// ---- each operation's data -----------------------------------------------------------------

/** The shape checks of one answer: `fail` names the path. */
interface Reader {
  readonly fail: (path: string, expected: string, got: unknown) => BookingError;
}

function readerFor(context: Pick<AnswerContext, 'operation' | 'write'>): Reader {
  return { fail: (path, expected, got) => badAnswer(context, `has ${path} ${got === undefined ? 'missing' : `of type ${kindOf(got)}`}, not ${expected}`) };
}

/** book_services: `data.services` (the categories are left out). */
export function servicesOf(data: unknown, context: Pick<AnswerContext, 'operation' | 'write'>): readonly BookableService[] {
  const read = readerFor(context);
  const list = Array.isArray(data) ? data : isObject(data) ? data.services : undefined;
  return array(list, Array.isArray(data) ? 'data' : 'data.services', read).map((item, index) => {
    const at = `data.services[${index}]`;
    const service = object(item, at, read);
    return {
      id: id(service.id, `${at}.id`, read),
      title: string(service.title, `${at}.title`, read),
      ...optionalNumber('price_min', service.price_min, `${at}.price_min`, read),
      ...optionalNumber('price_max', service.price_max, `${at}.price_max`, read),
      ...optionalNumber('seance_length', service.seance_length, `${at}.seance_length`, read),
    };
  });
}

export function staffOf(data: unknown, context: Pick<AnswerContext, 'operation' | 'write'>): readonly BookableStaff[] {
  const read = readerFor(context);
  return array(data, 'data', read).map((item, index) => {
    const at = `data[${index}]`;
    const staff = object(item, at, read);
    const specialization = optionalString(staff.specialization, `${at}.specialization`, read);
    return {
      id: id(staff.id, `${at}.id`, read),
      name: string(staff.name, `${at}.name`, read),
      ...(specialization === undefined ? {} : { specialization }),
      bookable: flag(staff.bookable, `${at}.bookable`, read),
    };
  });
}

export function datesOf(data: unknown, context: Pick<AnswerContext, 'operation' | 'write'>): BookableDates {
  const read = readerFor(context);
  const dates = object(data, 'data', read);
  const bookingDates = array(dates.booking_dates, 'data.booking_dates', read).map((day, index) => dateString(day, `data.booking_dates[${index}]`, read));
  if (dates.working_dates === undefined) return { booking_dates: bookingDates };
  const workingDates = array(dates.working_dates, 'data.working_dates', read).map((day, index) => dateString(day, `data.working_dates[${index}]`, read));
  return { booking_dates: bookingDates, working_dates: workingDates };
}

export function timesOf(data: unknown, context: Pick<AnswerContext, 'operation' | 'write'>): readonly FreeTime[] {
  const read = readerFor(context);
  return array(data, 'data', read).map((item, index) => {
    const at = `data[${index}]`;
    const seance = object(item, at, read);
    const time = string(seance.time, `${at}.time`, read);
    if (!/^\d{2}:\d{2}$/.test(time)) throw read.fail(`${at}.time`, 'HH:MM', time);
    return {
      time,
      seance_length: count(seance.seance_length ?? seance.length, `${at}.seance_length`, read),
      // A time without its offset could not be booked: book_record is refused one.
      datetime: offsetDatetime(seance.datetime, `${at}.datetime`, read),
    };
  });
}

/** book_record: one record per appointment asked for, told apart by the appointment's id. */
export function createdOf(data: unknown, appointmentIds: readonly number[], context: Pick<AnswerContext, 'operation' | 'write'>): readonly CreatedRecord[] {
  const read = readerFor(context);
  const records = array(data, 'data', read).map((item, index) => {
    const at = `data[${index}]`;
    const record = object(item, at, read);
    return {
      id: nonNegative(record.id, `${at}.id`, read),
      record_id: id(record.record_id, `${at}.record_id`, read),
      record_hash: string(record.record_hash, `${at}.record_hash`, read),
    };
  });
  const answered = new Set(records.map((record) => record.id));
  const missing = appointmentIds.filter((appointmentId) => !answered.has(appointmentId));
  if (missing.length > 0 || records.length !== appointmentIds.length) {
    throw badAnswer(context, `has ${records.length} record(s) for ${appointmentIds.length} appointment(s)${missing.length > 0 ? ` (none for appointment ${missing.join(', ')})` : ''}`);
  }
  return records;
}

export interface RecordsPage {
  readonly records: readonly FoundRecord[];
  /** `meta.total_count`, when YClients gives it. */
  readonly totalCount: number | undefined;
}

export function recordsOf(data: unknown, meta: unknown, context: Pick<AnswerContext, 'operation' | 'write'>): RecordsPage {
  const read = readerFor(context);
  const records = array(data, 'data', read).map((item, index): FoundRecord => {
    const at = `data[${index}]`;
    const record = object(item, at, read);
    const staffId = record.staff_id ?? (isObject(record.staff) ? record.staff.id : undefined);
    const apiId = record.api_id === null || record.api_id === undefined || record.api_id === '' ? undefined : record.api_id;
    return {
      record_id: id(record.id, `${at}.id`, read),
      staff_id: nonNegative(staffId, `${at}.staff_id`, read),
      services: record.services === undefined ? [] : array(record.services, `${at}.services`, read).map((service, serviceIndex) => id(object(service, `${at}.services[${serviceIndex}]`, read).id, `${at}.services[${serviceIndex}].id`, read)),
      datetime: string(record.datetime ?? record.date, `${at}.datetime`, read),
      seance_length: record.seance_length === undefined && record.length === undefined ? undefined : count(record.seance_length ?? record.length, `${at}.seance_length`, read),
      api_id: apiId === undefined ? undefined : typeof apiId === 'number' ? String(apiId) : string(apiId, `${at}.api_id`, read),
      client: clientOf(record.client, `${at}.client`, read),
      comment: optionalString(record.comment, `${at}.comment`, read),
      deleted: record.deleted === undefined ? false : flag(record.deleted, `${at}.deleted`, read),
    };
  });
  const totalCount = isObject(meta) && meta.total_count !== undefined ? count(meta.total_count, 'meta.total_count', read) : undefined;
  return { records, totalCount };
}

export function rescheduledOf(data: unknown, context: Pick<AnswerContext, 'operation' | 'write'>): RescheduledRecord {
  const read = readerFor(context);
  const record = object(data, 'data', read);
  return { record_id: id(record.id, 'data.id', read), datetime: optionalString(record.datetime ?? record.date, 'data.datetime', read) };
}

export function clientsOf(data: unknown, context: Pick<AnswerContext, 'operation' | 'write'>): readonly ClientSummary[] {
  const read = readerFor(context);
  return array(data, 'data', read).map((item, index) => {
    const at = `data[${index}]`;
    const client = object(item, at, read);
    return { id: id(client.id, `${at}.id`, read), name: optionalString(client.name, `${at}.name`, read) ?? '', phone: optionalString(client.phone, `${at}.phone`, read) ?? '' };
  });
}

function clientOf(value: unknown, at: string, read: Reader): FoundRecord['client'] {
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  const client = object(value, at, read);
  return {
    id: client.id === undefined || client.id === null ? undefined : id(client.id, `${at}.id`, read),
    name: optionalString(client.name, `${at}.name`, read),
    phone: optionalString(client.phone, `${at}.phone`, read),
  };
}

// ---- field checks ------------------------------------------------------------------------

function array(value: unknown, path: string, read: Reader): readonly unknown[] {
  if (!Array.isArray(value)) throw read.fail(path, 'a list', value);
  return value;
}

function object(value: unknown, path: string, read: Reader): Record<string, unknown> {
  if (!isObject(value)) throw read.fail(path, 'an object', value);
  return value;
}

function string(value: unknown, path: string, read: Reader): string {
  if (typeof value !== 'string') throw read.fail(path, 'a string', value);
  return value;
}

function optionalString(value: unknown, path: string, read: Reader): string | undefined {
  return value === undefined || value === null ? undefined : string(value, path, read);
}

/** A positive id. */
function id(value: unknown, path: string, read: Reader): number {
  const parsed = integerOf(value);
  if (parsed === undefined || parsed <= 0) throw read.fail(path, 'a positive integer', value);
  return parsed;
}

function nonNegative(value: unknown, path: string, read: Reader): number {
  const parsed = integerOf(value);
  if (parsed === undefined || parsed < 0) throw read.fail(path, 'a non-negative integer', value);
  return parsed;
}

function count(value: unknown, path: string, read: Reader): number {
  return nonNegative(value, path, read);
}

function optionalNumber<K extends string>(key: K, value: unknown, path: string, read: Reader): { [P in K]?: number } {
  if (value === undefined || value === null) return {};
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(parsed)) throw read.fail(path, 'a number', value);
  return { [key]: parsed } as { [P in K]?: number };
}

/** A boolean, or 0/1 as YClients also sends flags. */
function flag(value: unknown, path: string, read: Reader): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1 || value === '0' || value === '1') return value === 1 || value === '1';
  throw read.fail(path, 'a boolean', value);
}

function dateString(value: unknown, path: string, read: Reader): string {
  const text = string(value, path, read);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw read.fail(path, 'a date YYYY-MM-DD', text);
  return text;
}

function offsetDatetime(value: unknown, path: string, read: Reader): string {
  const text = string(value, path, read);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw read.fail(path, 'an ISO-8601 date and time with its offset', text);
  }
  return text;
}

// ---- helpers -------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function integerOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^-?\d{1,16}$/.test(value)) {
    const parsed = Number(value);
    return Number.isSafeInteger(parsed) ? parsed : undefined;
  }
  return undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function describeFieldErrors(errors: Record<string, unknown>): string | undefined {
  const parts = Object.entries(errors).map(([field, messages]) => `${field}: ${Array.isArray(messages) ? messages.filter((m) => typeof m === 'string').join('; ') : String(messages)}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function joined(first: string | undefined, second: string | undefined): string | undefined {
  if (first === undefined) return second;
  return second === undefined ? first : `${first} (${second})`;
}

function cut(text: string): string {
  return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX)}…` : text;
}

/** The type of a value, for a message that must not quote it (answers carry clients' names and phones). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}
