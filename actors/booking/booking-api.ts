/**
 * The booking operations, as every consumer sees them (the /booking actor, the HTTP routes,
 * a handler's `context.booking`): each takes ONE parameter object in YClients' own field
 * names, so a positional mix-up (a service id where the company belongs) cannot compile and a
 * flow written against YClients moves over unchanged. `company_id` defaults to
 * YCLIENTS_COMPANY_ID.
 */

/** A master by id, or `any`: resolved to a real master free at that time before any write. */
export type StaffChoice = number | 'any';

export interface CompanyScoped {
  readonly company_id?: number;
}

export interface ServicesQuery extends CompanyScoped {
  readonly staff_id?: number;
  /** ISO-8601 with the company's offset. */
  readonly datetime?: string;
}

export interface StaffQuery extends CompanyScoped {
  readonly service_ids?: readonly number[];
  readonly datetime?: string;
}

export interface DatesQuery extends CompanyScoped {
  readonly service_ids?: readonly number[];
  readonly staff_id?: StaffChoice;
}

export interface TimesQuery extends CompanyScoped {
  readonly staff_id: StaffChoice;
  /** YYYY-MM-DD. */
  readonly date: string;
  readonly service_ids?: readonly number[];
}

export interface Appointment {
  /** The appointment's index within the record (YClients' `id`). */
  readonly id: number;
  readonly services: readonly number[];
  readonly staff_id: StaffChoice;
  /** ISO-8601 with the company's offset. */
  readonly datetime: string;
}

export interface CheckRequest extends CompanyScoped {
  readonly appointments: readonly Appointment[];
}

export interface RecordRequest extends CompanyScoped {
  readonly phone: string;
  readonly fullname: string;
  readonly email?: string;
  readonly comment?: string;
  /** Idempotency: a second request with the same api_id returns the first record. Derived from the batch id when booked from a batch. */
  readonly api_id?: string;
  readonly appointments: readonly Appointment[];
  /** The SMS code confirming the phone, for a company that asks for one (YClients 432 when wrong). */
  readonly code?: string;
}

export interface RescheduleRequest extends CompanyScoped {
  readonly record_id: number;
  readonly datetime: string;
  readonly staff_id?: StaffChoice;
  readonly services?: readonly number[];
  readonly comment?: string;
}

export interface CancelRequest extends CompanyScoped {
  readonly record_id: number;
}

export interface ClientQuery extends CompanyScoped {
  readonly phone: string;
}

export interface BookableService {
  readonly id: number;
  readonly title: string;
  readonly price_min?: number;
  readonly price_max?: number;
  /** Seconds. */
  readonly seance_length?: number;
}

export interface BookableStaff {
  readonly id: number;
  readonly name: string;
  readonly specialization?: string;
  readonly bookable: boolean;
}

export interface BookableDates {
  readonly booking_dates: readonly string[];
  readonly working_dates?: readonly string[];
}

export interface FreeTime {
  /** HH:MM. */
  readonly time: string;
  /** Seconds. */
  readonly seance_length: number;
  /** ISO-8601 with the company's offset. */
  readonly datetime: string;
}

/** A free time with the master it is for (what `any` lookups answer). */
export interface StaffTime extends FreeTime {
  readonly staff_id: number;
}

export interface CreatedRecord {
  /** The appointment's id within the request. */
  readonly id: number;
  readonly record_id: number;
  readonly record_hash: string;
}

export interface BookedRecord {
  readonly api_id: string;
  readonly records: readonly CreatedRecord[];
  /** True when the records already existed for this api_id (a repeated or retried request). */
  readonly existing: boolean;
}

export interface ClientSummary {
  readonly id: number;
  readonly name: string;
  readonly phone: string;
}

export interface BookingOperations {
  services(query: ServicesQuery): Promise<readonly BookableService[]>;
  staff(query: StaffQuery): Promise<readonly BookableStaff[]>;
  dates(query: DatesQuery): Promise<BookableDates>;
  /** Free times of one master, or of every bookable master for `any`. */
  times(query: TimesQuery): Promise<readonly StaffTime[]>;
  check(request: CheckRequest): Promise<void>;
  book(request: RecordRequest): Promise<BookedRecord>;
  reschedule(request: RescheduleRequest): Promise<void>;
  cancel(request: CancelRequest): Promise<void>;
  findClient(query: ClientQuery): Promise<ClientSummary | undefined>;
}

export type BookingOperationName = keyof BookingOperations;

// ---- As validated, and as sent to YClients (actors/booking/booking-input.ts, yclients-client.ts) ----

/** A request after validation: its company id filled in (from YCLIENTS_COMPANY_ID when it had none). */
export type WithCompany<T extends CompanyScoped> = Omit<T, 'company_id'> & { readonly company_id: number };

/** An appointment whose master is chosen: what reaches YClients (`any` is resolved first, by the /booking actor). */
export interface ResolvedAppointment extends Appointment {
  readonly staff_id: number;
}

export interface ResolvedTimesQuery extends TimesQuery {
  readonly staff_id: number;
}

export interface ResolvedCheckRequest extends CheckRequest {
  readonly appointments: readonly ResolvedAppointment[];
}

export interface ResolvedRecordRequest extends RecordRequest {
  readonly appointments: readonly ResolvedAppointment[];
}

/**
 * The records of one day (YYYY-MM-DD, or the day of `datetime`), narrowed to those matching
 * every filter given: what the never-book-twice lookup asks after an ambiguous book_record.
 */
export interface RecordsLookup extends CompanyScoped {
  readonly date?: string;
  /** ISO-8601 with an offset; also a filter (the same instant). */
  readonly datetime?: string;
  readonly staff_id?: number;
  readonly api_id?: string;
  /** The client's phone (normalised as the batcher does before comparing). */
  readonly phone?: string;
}

/** A record as YClients' records list gives it. */
export interface FoundRecord {
  readonly record_id: number;
  readonly staff_id: number;
  readonly services: readonly number[];
  /** ISO-8601 with the company's offset. */
  readonly datetime: string;
  /** Seconds. */
  readonly seance_length: number | undefined;
  /** Undefined when the record has none (YClients sends ""). */
  readonly api_id: string | undefined;
  readonly client: { readonly id: number | undefined; readonly name: string | undefined; readonly phone: string | undefined } | undefined;
  readonly comment: string | undefined;
  readonly deleted: boolean;
}

/** What a reschedule answers with. */
export interface RescheduledRecord {
  readonly record_id: number;
  /** The record's new time as YClients reports it (it may omit the offset). */
  readonly datetime: string | undefined;
}
