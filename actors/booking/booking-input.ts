import { normalizePhone } from '../batcher/conversation.js';
import type {
  Appointment,
  CancelRequest,
  CheckRequest,
  ClientQuery,
  DatesQuery,
  RecordRequest,
  RecordsLookup,
  RescheduleRequest,
  ResolvedAppointment,
  ResolvedCheckRequest,
  ResolvedRecordRequest,
  ResolvedTimesQuery,
  ServicesQuery,
  StaffChoice,
  StaffQuery,
  TimesQuery,
  WithCompany,
} from './booking-api.js';
import { invalidField } from './booking-errors.js';

/**
 * Booking requests checked before anything is sent: every validator takes what a caller gave
 * (a JSON body, a handler's object, typed or not), and returns the request YClients should
 * see or throws a `WAR_ERR_BOOKING_INVALID` BookingError naming the field. The old client sent
 * `staff_id: "last"` and let YClients refuse the record; here that request never leaves.
 *
 * Ids may come as canonical digit strings ("12"): query strings carry numbers as text, and
 * YClients' own answers send ids as strings. Anything else ("12a", "last", 0, -1, 1.5) is refused.
 */

export interface InputDefaults {
  /** YCLIENTS_COMPANY_ID: the company of a request that names none. */
  readonly companyId?: number | undefined;
}

type Fields = Readonly<Record<string, unknown>>;

const POSITIVE_DIGITS = /^[1-9]\d{0,15}$/;
const NON_NEGATIVE_DIGITS = /^(0|[1-9]\d{0,15})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))?$/;
const API_ID = /^[A-Za-z0-9:_-]{1,64}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const EMAIL_MAX = 254;

// ---- the requests ----------------------------------------------------------------------

export function validateServicesQuery(input: unknown, defaults: InputDefaults = {}): WithCompany<ServicesQuery> {
  const fields = objectOf(input);
  return {
    company_id: companyOf(fields, defaults),
    ...optional('staff_id', fields.staff_id, positiveInteger),
    ...optional('datetime', fields.datetime, datetime),
  };
}

export function validateStaffQuery(input: unknown, defaults: InputDefaults = {}): WithCompany<StaffQuery> {
  const fields = objectOf(input);
  return {
    company_id: companyOf(fields, defaults),
    ...optional('service_ids', fields.service_ids, serviceIds),
    ...optional('datetime', fields.datetime, datetime),
  };
}

export function validateDatesQuery(input: unknown, defaults: InputDefaults = {}): WithCompany<DatesQuery> {
  const fields = objectOf(input);
  return {
    company_id: companyOf(fields, defaults),
    ...optional('service_ids', fields.service_ids, serviceIds),
    ...optional('staff_id', fields.staff_id, staffChoice),
  };
}

export function validateTimesQuery(input: unknown, defaults: InputDefaults = {}): WithCompany<TimesQuery> {
  const fields = objectOf(input);
  return {
    company_id: companyOf(fields, defaults),
    staff_id: staffChoice(fields.staff_id, 'staff_id'),
    date: date(fields.date, 'date'),
    ...optional('service_ids', fields.service_ids, serviceIds),
  };
}

/** As sent to book_times: one master's times (`any` is resolved into several of these). */
export function validateResolvedTimesQuery(input: unknown, defaults: InputDefaults = {}): WithCompany<ResolvedTimesQuery> {
  const query = validateTimesQuery(input, defaults);
  return { ...query, staff_id: resolvedStaff(query.staff_id, 'staff_id') };
}

export function validateCheckRequest(input: unknown, defaults: InputDefaults = {}): WithCompany<CheckRequest> {
  const fields = objectOf(input);
  return { company_id: companyOf(fields, defaults), appointments: appointments(fields.appointments) };
}

export function validateResolvedCheckRequest(input: unknown, defaults: InputDefaults = {}): WithCompany<ResolvedCheckRequest> {
  const request = validateCheckRequest(input, defaults);
  return { ...request, appointments: resolvedAppointments(request.appointments) };
}

export function validateRecordRequest(input: unknown, defaults: InputDefaults = {}): WithCompany<RecordRequest> {
  const fields = objectOf(input);
  return {
    company_id: companyOf(fields, defaults),
    phone: phone(fields.phone, 'phone'),
    fullname: fullname(fields.fullname, 'fullname'),
    ...optional('email', fields.email, email),
    ...optional('comment', fields.comment, text),
    ...optional('api_id', fields.api_id, apiId),
    ...optional('code', fields.code, smsCode),
    appointments: appointments(fields.appointments),
  };
}

export function validateResolvedRecordRequest(input: unknown, defaults: InputDefaults = {}): WithCompany<ResolvedRecordRequest> {
  const request = validateRecordRequest(input, defaults);
  return { ...request, appointments: resolvedAppointments(request.appointments) };
}

export function validateRescheduleRequest(input: unknown, defaults: InputDefaults = {}): WithCompany<RescheduleRequest> {
  const fields = objectOf(input);
  return {
    company_id: companyOf(fields, defaults),
    record_id: positiveInteger(fields.record_id, 'record_id'),
    datetime: datetime(fields.datetime, 'datetime'),
    ...optional('staff_id', fields.staff_id, staffChoice),
    ...optional('services', fields.services, services),
    ...optional('comment', fields.comment, text),
  };
}

export function validateCancelRequest(input: unknown, defaults: InputDefaults = {}): WithCompany<CancelRequest> {
  const fields = objectOf(input);
  return { company_id: companyOf(fields, defaults), record_id: positiveInteger(fields.record_id, 'record_id') };
}

export function validateClientQuery(input: unknown, defaults: InputDefaults = {}): WithCompany<ClientQuery> {
  const fields = objectOf(input);
  return { company_id: companyOf(fields, defaults), phone: phone(fields.phone, 'phone') };
}

/** A records lookup always names its day: `date`, or the day of `datetime` in its own offset. */
export function validateRecordsLookup(input: unknown, defaults: InputDefaults = {}): WithCompany<RecordsLookup> & { readonly date: string } {
  const fields = objectOf(input);
  const at = fields.datetime === undefined ? undefined : datetime(fields.datetime, 'datetime');
  let day: string;
  if (fields.date !== undefined) day = date(fields.date, 'date');
  else if (at !== undefined) day = localDateOf(at);
  else throw invalidField('date', 'is missing: a records lookup needs a date (YYYY-MM-DD) or a datetime');
  return {
    company_id: companyOf(fields, defaults),
    date: day,
    ...(at === undefined ? {} : { datetime: at }),
    ...optional('staff_id', fields.staff_id, positiveInteger),
    ...optional('api_id', fields.api_id, apiId),
    ...optional('phone', fields.phone, phone),
  };
}

// ---- the fields --------------------------------------------------------------------------

/** A master's id, or `"any"`. */
export function staffChoice(value: unknown, field: string): StaffChoice {
  if (value === 'any') return 'any';
  const id = integerOf(value, POSITIVE_DIGITS);
  if (id === undefined || id <= 0) throw invalidField(field, value === undefined ? 'is missing: a master\'s id (a positive integer) or "any"' : `must be a positive integer or "any", got ${show(value)}`);
  return id;
}

export function positiveInteger(value: unknown, field: string): number {
  const id = integerOf(value, POSITIVE_DIGITS);
  if (id === undefined || id <= 0) throw invalidField(field, value === undefined ? 'is missing: a positive integer' : `must be a positive integer, got ${show(value)}`);
  return id;
}

/** YYYY-MM-DD, a day that exists. */
export function date(value: unknown, field: string): string {
  const match = typeof value === 'string' ? DATE.exec(value) : null;
  if (!match || !realDay(Number(match[1]), Number(match[2]), Number(match[3]))) {
    throw invalidField(field, value === undefined ? 'is missing: a date (YYYY-MM-DD)' : `must be a date YYYY-MM-DD, got ${show(value)}`);
  }
  return value as string;
}

/**
 * ISO-8601 with an explicit offset (`2026-12-03T18:00:00+03:00`, or `Z`). A time without one
 * is refused: which 18:00 it is depends on the company's time zone, and that must be explicit.
 * Kept as given (not converted), since YClients reads it in the company's own offset.
 */
export function datetime(value: unknown, field: string): string {
  const match = typeof value === 'string' ? DATETIME.exec(value) : null;
  const example = '2026-12-03T18:00:00+03:00';
  if (!match) throw invalidField(field, value === undefined ? `is missing: an ISO-8601 date and time with its offset (${example})` : `must be an ISO-8601 date and time with its offset (${example}), got ${show(value)}`);
  if (match[7] === undefined) throw invalidField(field, `must carry the company's UTC offset (${example}), got ${show(value)} without one`);
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 8, 9].map((index) => Number(match[index] ?? 0)) as [number, number, number, number, number, number, number, number];
  if (!realDay(year, month, day) || hour > 23 || minute > 59 || second > 59 || offsetHours > 14 || offsetMinutes > 59) {
    throw invalidField(field, `is not a real date and time, got ${show(value)}`);
  }
  return value as string;
}

/** The day of a validated datetime, in the datetime's own offset (the company's). */
export function localDateOf(validDatetime: string): string {
  return validDatetime.slice(0, 10);
}

/** A non-empty list of service ids (positive integers). */
export function services(value: unknown, field: string): readonly number[] {
  if (!Array.isArray(value)) throw invalidField(field, value === undefined ? 'is missing: a non-empty list of service ids' : `must be a non-empty list of service ids, got ${show(value)}`);
  if (value.length === 0) throw invalidField(field, 'must name at least one service, got an empty list');
  return value.map((item, index) => positiveInteger(item, `${field}[${index}]`));
}

/** A filter by services: a list, or "1,2" as a query string gives it; empty means no filter. */
export function serviceIds(value: unknown, field: string): readonly number[] | undefined {
  const list = typeof value === 'string' ? (value.trim() === '' ? [] : value.split(',').map((part) => part.trim())) : value;
  if (!Array.isArray(list)) throw invalidField(field, `must be a list of service ids, got ${show(value)}`);
  if (list.length === 0) return undefined;
  return list.map((item, index) => positiveInteger(item, `${field}[${index}]`));
}

/** E.164 digits, as the batcher keys conversations (`+7 916 377-94-44` → `79163779444`). */
export function phone(value: unknown, field: string): string {
  if (value === undefined) throw invalidField(field, 'is missing: the client\'s phone');
  const result = normalizePhone(value);
  if (!result.ok) throw invalidField(field, `is not a phone number: ${result.problem}`);
  return result.phone;
}

export function fullname(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalidField(field, value === undefined ? 'is missing: the client\'s name' : `must be the client's name, got ${show(value)}`);
  return value.trim();
}

export function apiId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !API_ID.test(value)) throw invalidField(field, `must be 1 to 64 characters of A-Z a-z 0-9 : _ -, got ${show(value)}`);
  return value;
}

/** The SMS confirmation code: digits, as text or a number. */
function smsCode(value: unknown, field: string): string {
  const digits = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof digits !== 'string' || !/^\d{1,12}$/.test(digits)) // Not quoted: the code confirms the client's phone, and errors end up in logs.
    throw invalidField(field, `must be the SMS code's digits (1 to 12), got a ${Array.isArray(value) ? 'list' : typeof value} that is not`);
  return digits;
}

function email(value: unknown, field: string): string | undefined {
  if (typeof value !== 'string') throw invalidField(field, `must be an email address, got ${show(value)}`);
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (trimmed.length > EMAIL_MAX || !EMAIL.test(trimmed)) throw invalidField(field, `must be an email address, got ${show(value)}`);
  return trimmed;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalidField(field, `must be a string, got ${show(value)}`);
  return value;
}

function appointments(value: unknown): readonly Appointment[] {
  if (!Array.isArray(value)) throw invalidField('appointments', value === undefined ? 'is missing: a non-empty list of appointments' : `must be a list of appointments, got ${show(value)}`);
  if (value.length === 0) throw invalidField('appointments', 'must hold at least one appointment, got an empty list');
  const seen = new Set<number>();
  return value.map((item, index): Appointment => {
    const at = `appointments[${index}]`;
    const fields = objectOf(item, at);
    const id = integerOf(fields.id, NON_NEGATIVE_DIGITS);
    if (id === undefined || id < 0) throw invalidField(`${at}.id`, fields.id === undefined ? 'is missing: the appointment\'s index (a non-negative integer)' : `must be a non-negative integer, got ${show(fields.id)}`);
    // YClients answers with these ids to say which record is which: two the same could not be told apart.
    if (seen.has(id)) throw invalidField(`${at}.id`, `repeats ${id}: appointment ids must be unique within a request`);
    seen.add(id);
    return {
      id,
      services: services(fields.services, `${at}.services`),
      staff_id: staffChoice(fields.staff_id, `${at}.staff_id`),
      datetime: datetime(fields.datetime, `${at}.datetime`),
    };
  });
}

function resolvedAppointments(list: readonly Appointment[]): readonly ResolvedAppointment[] {
  return list.map((appointment, index) => ({ ...appointment, staff_id: resolvedStaff(appointment.staff_id, `appointments[${index}].staff_id`) }));
}

/** YClients would read "any" as its own "0, any master"; ours is resolved to a free master first, so one reaching here is a bug upstream. */
function resolvedStaff(choice: StaffChoice, field: string): number {
  if (choice === 'any') throw invalidField(field, 'is "any": it must be resolved to a free master before the request is sent');
  return choice;
}

function companyOf(fields: Fields, defaults: InputDefaults): number {
  if (fields.company_id === undefined || fields.company_id === null || fields.company_id === '') {
    if (defaults.companyId !== undefined) return positiveInteger(defaults.companyId, 'company_id');
    throw invalidField('company_id', 'is missing, and no default company is configured (YCLIENTS_COMPANY_ID)');
  }
  return positiveInteger(fields.company_id, 'company_id');
}

// ---- helpers -----------------------------------------------------------------------------

function objectOf(input: unknown, field = 'request'): Fields {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalidField(field, `must be an object, got ${show(input)}`);
  return input as Fields;
}

/** `{key: value}` when the field is given, `{}` when it is not (so an absent field stays absent). */
function optional<K extends string, T>(key: K, value: unknown, parse: (value: unknown, field: string) => T | undefined): { [P in K]?: T } {
  if (value === undefined || value === null) return {};
  const parsed = parse(value, key);
  return (parsed === undefined ? {} : { [key]: parsed }) as { [P in K]?: T };
}

function integerOf(value: unknown, digits: RegExp): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && digits.test(value)) {
    const parsed = Number(value);
    return Number.isSafeInteger(parsed) ? parsed : undefined;
  }
  return undefined;
}

function realDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A value as a message shows it: strings quoted and cut, others by type. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
