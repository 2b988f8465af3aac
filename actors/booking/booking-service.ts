import type { Clock } from '../../src/clock.js';
import type {
  Appointment,
  BookableDates,
  BookableService,
  BookableStaff,
  BookedRecord,
  BookingOperationName,
  BookingOperations,
  CancelRequest,
  CheckRequest,
  ClientQuery,
  ClientSummary,
  CreatedRecord,
  DatesQuery,
  FoundRecord,
  RecordRequest,
  RescheduleRequest,
  ResolvedAppointment,
  ServicesQuery,
  StaffQuery,
  StaffTime,
  TimesQuery,
} from './booking-api.js';
import { BookingError, breakerOpen, queueFull, queueTimeout } from './booking-errors.js';
import { localDateOf, validateCheckRequest, validateRecordRequest, validateTimesQuery } from './booking-input.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { RateLimiter, type Priority } from './rate-limiter.js';
import { TtlCache } from './ttl-cache.js';
import type { YClientsClient } from './yclients-client.js';

export type RequestOutcome = 'ok' | 'rejected' | 'failed' | 'fast_failed' | 'queue_refused';

/** Told of every operation (runtime_booking_requests_total{operation,outcome}, the duration histogram). */
export type RequestObserver = (operation: BookingOperationName, outcome: RequestOutcome, durationMs: number) => void;

export interface BookingStatus {
  readonly breaker: { readonly state: BreakerState; readonly consecutiveFailures: number; readonly halfOpenAt: number | null; readonly opens: number };
  readonly queue: { readonly waiting: number };
  /** Operations by outcome since start. */
  readonly requests: Readonly<Record<RequestOutcome, number>>;
  readonly cached: number;
}

export interface BookingServiceOptions {
  readonly clock: Clock;
  readonly companyId: number | undefined;
  readonly ratePerSecond: number;
  readonly ratePerMinute: number;
  readonly queueMax: number;
  readonly queueTimeoutMs: number;
  readonly breakerFailures: number;
  readonly breakerCooldownMs: number;
  readonly cacheTtlMs: number;
  /** Makes the client when the /booking actor starts (one undici pool per incarnation). */
  readonly createClient: (beforeRequest: (operation: string, signal: AbortSignal | undefined) => Promise<() => void>) => YClientsClient;
  readonly observe?: RequestObserver;
}

/** Failures of YClients itself: they count toward the breaker and are tried again. Our own queue's refusals and a breaker's fast fail are neither. */
const TRANSIENT: ReadonlySet<string> = new Set(['WAR_ERR_BOOKING_UPSTREAM_ERROR', 'WAR_ERR_BOOKING_UNAVAILABLE', 'WAR_ERR_BOOKING_RATE_LIMITED']);

function isTransient(error: unknown): error is BookingError {
  return error instanceof BookingError && TRANSIENT.has(error.code);
}

/** Free times change as clients book: never cached longer than this. */
const TIMES_TTL_MS = 30_000;
/** Attempts of one operation against transient failures (5xx, timeouts, a 429). */
const ATTEMPTS = 3;
/** A 429 is YClients pacing us, not failing: it is waited out this many times before it counts as an attempt. */
const RATE_LIMITED_WAITS = 10;
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 8_000;
/** api_ids this process booked, remembered so a repeated request answers the first record at once. */
const BOOKED_MEMORY = 10_000;

/**
 * The booking operations over one YClients credential, shared by everything in the process
 * (the /booking actor's `book` actions, the HTTP routes, handlers' `context.booking`):
 *
 * - one rate limiter sees every HTTP request (the client calls it before each one, a lookup's
 *   pages included), writes before reads; a 429 pauses it for everyone until Retry-After;
 * - one circuit breaker over transient failures (5xx, timeouts, connection errors; never 4xx);
 * - services and staff cached per company, free times at most 30 s; a write drops the
 *   company's times;
 * - `any` is resolved to a real master free at that time before book_check and book_record;
 * - never book twice: every record request has an api_id; before booking, and after an
 *   ambiguous failure (a timeout, a dropped connection, a 5xx) before trying again, the
 *   records of that day are looked up for it, and what is found is answered instead.
 */
export class BookingService implements BookingOperations {
  readonly #options: BookingServiceOptions;
  readonly #limiter: RateLimiter;
  readonly #breaker: CircuitBreaker;
  readonly #cache: TtlCache<string, unknown>;
  readonly #booked: TtlCache<string, BookedRecord>;
  readonly #breakerListeners = new Set<() => void>();
  readonly #requests: Record<RequestOutcome, number> = { ok: 0, rejected: 0, failed: 0, fast_failed: 0, queue_refused: 0 };
  /** The priority of the operation under way, for the limiter hook (set per call, read synchronously by it). */
  #client: YClientsClient | undefined;

  constructor(options: BookingServiceOptions) {
    this.#options = options;
    const { clock } = options;
    this.#limiter = new RateLimiter({
      perSecond: options.ratePerSecond,
      perMinute: options.ratePerMinute,
      queueMax: options.queueMax,
      queueTimeoutMs: options.queueTimeoutMs,
      clock,
      // Starts spread out (a little under 1 / rate, so a late timer does not cost rate; the
      // windows with their slack are what hold the limit): the server counts arrivals, which
      // jitter. With even spacing an arrival must come `marginMs` later than the one
      // perSecond before it to break the server's window; the margin costs margin / 1,000 of
      // the rate (15 ms: 1.5 %, inside the 2 % the rate target allows; 10 ms was broken once by
      // an event-loop stall of a loaded 2-core CI machine, where the test server shares our loop).
      spacingMs: (0.9 * 1_000) / options.ratePerSecond,
      marginMs: 15,
      onFull: (info) => queueFull(info.queueMax),
      onTimeout: (info) => queueTimeout(info.now - info.scheduledAt),
    });
    this.#breaker = new CircuitBreaker({
      failures: options.breakerFailures,
      cooldownMs: options.breakerCooldownMs,
      clock,
      onOpen: (info) => breakerOpen(Math.max(0, info.halfOpenAt - info.now)),
      onChange: () => {
        for (const listener of this.#breakerListeners) listener();
      },
    });
    this.#cache = new TtlCache({ maxEntries: 5_000, clock });
    this.#booked = new TtlCache({ maxEntries: BOOKED_MEMORY, clock });
  }

  /** The /booking actor's start: one client (one pool) for this incarnation. */
  open(): void {
    if (this.#client) return;
    // Every HTTP request, a lookup's pages included, waits its turn here: the limit is per request.
    this.#client = this.#options.createClient((operation, signal) => {
      const priority: Priority = operation === 'book_record' || operation === 'reschedule' || operation === 'record_delete' ? 'write' : 'read';
      // The start counts from when the request is handed to undici, not from when it was let go.
      return this.#limiter.schedule(priority, async (ticket) => () => this.#limiter.departed(ticket), signal ? { signal } : undefined);
    });
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }

  onBreakerChange(listener: () => void): () => void {
    this.#breakerListeners.add(listener);
    return () => this.#breakerListeners.delete(listener);
  }

  status(): BookingStatus {
    const breaker = this.#breaker.snapshot();
    return {
      breaker: { state: breaker.state, consecutiveFailures: breaker.consecutiveFailures, halfOpenAt: breaker.halfOpenAt ?? null, opens: breaker.opens },
      queue: { waiting: this.#limiter.depth },
      requests: { ...this.#requests },
      cached: this.#cache.size,
    };
  }

  services(query: ServicesQuery): Promise<readonly BookableService[]> {
    const company = this.#company(query.company_id);
    const key = `services:${company}:${query.staff_id ?? ''}:${query.datetime ?? ''}`;
    return this.#cached(key, this.#options.cacheTtlMs, () => this.#run('services', (client) => client.bookServices({ ...query, company_id: company })));
  }

  staff(query: StaffQuery): Promise<readonly BookableStaff[]> {
    const company = this.#company(query.company_id);
    const key = `staff:${company}:${(query.service_ids ?? []).join(',')}:${query.datetime ?? ''}`;
    return this.#cached(key, this.#options.cacheTtlMs, () => this.#run('staff', (client) => client.bookStaff({ ...query, company_id: company })));
  }

  dates(query: DatesQuery): Promise<BookableDates> {
    const company = this.#company(query.company_id);
    const key = `times:${company}:dates:${String(query.staff_id ?? '')}:${(query.service_ids ?? []).join(',')}`;
    return this.#cached(key, Math.min(TIMES_TTL_MS, this.#options.cacheTtlMs), () =>
      this.#run('dates', (client) => client.bookDates({ ...query, company_id: company, ...(query.staff_id === 'any' ? { staff_id: undefined } : {}) } as DatesQuery)),
    );
  }

  async times(query: TimesQuery): Promise<readonly StaffTime[]> {
    const valid = validateTimesQuery(query, this.#defaults());
    if (valid.staff_id !== 'any') return this.#staffTimes(valid.company_id, valid.staff_id, valid.date, valid.service_ids);
    // `any`: every bookable master's free times that day, each marked with the master.
    const masters = (await this.staff({ company_id: valid.company_id, ...(valid.service_ids ? { service_ids: valid.service_ids } : {}) })).filter((master) => master.bookable);
    const all: StaffTime[] = [];
    for (const master of masters) all.push(...(await this.#staffTimes(valid.company_id, master.id, valid.date, valid.service_ids)));
    return all.sort((a, b) => a.datetime.localeCompare(b.datetime) || a.staff_id - b.staff_id);
  }

  async check(request: CheckRequest): Promise<void> {
    const valid = validateCheckRequest(request, this.#defaults());
    const appointments = await this.#resolve(valid.company_id, valid.appointments);
    await this.#run('check', (client) => client.bookCheck({ company_id: valid.company_id, appointments }));
  }

  async book(request: RecordRequest): Promise<BookedRecord> {
    const valid = validateRecordRequest({ ...request, api_id: request.api_id ?? defaultApiId(request) }, this.#defaults());
    const apiId = valid.api_id as string;
    const remembered = this.#booked.get(apiId);
    if (remembered) return { ...remembered, existing: true };
    const appointments = await this.#resolve(valid.company_id, valid.appointments);
    const found = await this.#lookup(valid.company_id, apiId, appointments);
    if (found.length > 0) return this.#remember({ api_id: apiId, records: found, existing: true });
    await this.#run('check', (client) => client.bookCheck({ company_id: valid.company_id, appointments }));
    const started = this.#options.clock.now();
    let paced = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const records = await this.#once('book', 'write', (client) => client.bookRecord({ ...valid, api_id: apiId, appointments }));
        this.#dropTimes(valid.company_id);
        this.#observe('book', 'ok', started);
        return this.#remember({ api_id: apiId, records, existing: false });
      } catch (error) {
        if (isTransient(error) && error.code === 'WAR_ERR_BOOKING_RATE_LIMITED' && paced < RATE_LIMITED_WAITS) {
          paced++;
          attempt--;
        } else if (!isTransient(error) || attempt >= ATTEMPTS) {
          this.#observe('book', outcomeOf(error), started);
          throw error;
        }
        await this.#wait(Math.max(1, attempt), error);
        // It may have been carried out: look before booking again.
        if (error.ambiguous || error.kind === 'unavailable') {
          const made = await this.#lookup(valid.company_id, apiId, appointments);
          if (made.length > 0) {
            this.#dropTimes(valid.company_id);
            this.#observe('book', 'ok', started);
            return this.#remember({ api_id: apiId, records: made, existing: true });
          }
        }
      }
    }
  }

  async reschedule(request: RescheduleRequest): Promise<void> {
    const company = this.#company(request.company_id);
    await this.#run('reschedule', (client) => client.reschedule({ ...request, company_id: company }), 'write', false);
    this.#dropTimes(company);
  }

  async cancel(request: CancelRequest): Promise<void> {
    const company = this.#company(request.company_id);
    await this.#run('cancel', (client) => client.cancel({ ...request, company_id: company }), 'write', false);
    this.#dropTimes(company);
  }

  findClient(query: ClientQuery): Promise<ClientSummary | undefined> {
    return this.#run('findClient', (client) => client.findClient({ ...query, company_id: this.#company(query.company_id) }));
  }

  // ---- plumbing ------------------------------------------------------------------------

  #defaults(): { companyId?: number } {
    return this.#options.companyId === undefined ? {} : { companyId: this.#options.companyId };
  }

  #company(companyId: number | undefined): number {
    const company = companyId ?? this.#options.companyId;
    if (company === undefined) throw new BookingError('WAR_ERR_BOOKING_INVALID', 'company_id is required (YCLIENTS_COMPANY_ID is not set)', { field: 'company_id' });
    return company;
  }

  #staffTimes(company: number, staffId: number, date: string, serviceIds: readonly number[] | undefined): Promise<readonly StaffTime[]> {
    const key = `times:${company}:${staffId}:${date}:${(serviceIds ?? []).join(',')}`;
    return this.#cached(key, Math.min(TIMES_TTL_MS, this.#options.cacheTtlMs), async () => {
      const times = await this.#run('times', (client) => client.bookTimes({ company_id: company, staff_id: staffId, date, ...(serviceIds ? { service_ids: serviceIds } : {}) }));
      return times.map((time) => ({ ...time, staff_id: staffId }));
    });
  }

  /** Each `any` becomes a master free at that datetime for those services; none free is 436, before any write. */
  async #resolve(company: number, appointments: readonly Appointment[]): Promise<ResolvedAppointment[]> {
    const resolved: ResolvedAppointment[] = [];
    for (const [index, appointment] of appointments.entries()) {
      if (appointment.staff_id !== 'any') {
        resolved.push({ ...appointment, staff_id: appointment.staff_id });
        continue;
      }
      const wanted = Date.parse(appointment.datetime);
      const free = await this.times({ company_id: company, staff_id: 'any', date: localDateOf(appointment.datetime), service_ids: appointment.services });
      const taken = new Set(resolved.filter((other) => Date.parse(other.datetime) === wanted).map((other) => other.staff_id));
      const master = free.find((time) => Date.parse(time.datetime) === wanted && !taken.has(time.staff_id));
      if (!master) {
        throw new BookingError('WAR_ERR_BOOKING_NO_MASTER', `no master is free at ${appointment.datetime} for services ${appointment.services.join(', ')}`, { field: `appointments[${index}].staff_id` });
      }
      resolved.push({ ...appointment, staff_id: master.staff_id });
    }
    return resolved;
  }

  /** The records an api_id already made, on the days of its appointments. */
  async #lookup(company: number, apiId: string, appointments: readonly ResolvedAppointment[]): Promise<CreatedRecord[]> {
    const days = [...new Set(appointments.map((appointment) => appointment.datetime))];
    const found: FoundRecord[] = [];
    for (const datetime of days) {
      const records = await this.#run('book', (client) => client.findRecordsByApiId({ company_id: company, api_id: apiId, date: localDateOf(datetime) }), 'read', false);
      for (const record of records) if (!record.deleted && !found.some((seen) => seen.record_id === record.record_id)) found.push(record);
    }
    return found.map((record, index) => {
      const appointment = appointments.findIndex((candidate) => Date.parse(candidate.datetime) === Date.parse(record.datetime) && candidate.staff_id === record.staff_id);
      // A found record has no hash to give (YClients shows it only to book_record's caller).
      return { id: appointment >= 0 ? (appointments[appointment]?.id ?? index) : index, record_id: record.record_id, record_hash: '' };
    });
  }

  #remember(booked: BookedRecord): BookedRecord {
    this.#booked.set(booked.api_id, { ...booked, existing: false }, 24 * 3_600_000);
    return booked;
  }

  #dropTimes(company: number): void {
    this.#cache.deleteWhere((key) => key.startsWith(`times:${company}:`));
  }

  #cached<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    if (ttlMs <= 0) return load();
    return this.#cache.getOrLoad(key, ttlMs, load) as Promise<T>;
  }

  /** An operation with retries on transient failures (reads; writes only when `retry`). */
  async #run<T>(operation: BookingOperationName, call: (client: YClientsClient) => Promise<T>, priority: Priority = 'read', retry = true): Promise<T> {
    const started = this.#options.clock.now();
    let paced = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await this.#once(operation, priority, call);
        this.#observe(operation, 'ok', started);
        return value;
      } catch (error) {
        if (isTransient(error) && error.code === 'WAR_ERR_BOOKING_RATE_LIMITED' && paced < RATE_LIMITED_WAITS) {
          paced++;
          attempt--;
        } else if (!retry || !isTransient(error) || attempt >= ATTEMPTS) {
          this.#observe(operation, outcomeOf(error), started);
          throw error;
        }
        await this.#wait(Math.max(1, attempt), error);
      }
    }
  }

  /** One attempt: through the breaker (the client waits for the limiter before each HTTP request). */
  #once<T>(_operation: BookingOperationName, _priority: Priority, call: (client: YClientsClient) => Promise<T>): Promise<T> {
    const client = this.#client;
    if (!client) return Promise.reject(new BookingError('WAR_ERR_BOOKING_UNAVAILABLE', 'the booking actor is not running (restarting or stopped)', { retryable: true }));
    return this.#breaker.run(
      () => call(client),
      // A 429 is YClients pacing us, not failing: it waits, it does not open the breaker.
      (error) => isTransient(error) && error.code !== 'WAR_ERR_BOOKING_RATE_LIMITED',
    );
  }

  /** Backoff before attempt `attempt + 1`; a 429's Retry-After pauses the limiter for every caller. */
  async #wait(attempt: number, error: BookingError): Promise<void> {
    const backoff = Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), RETRY_MAX_MS);
    const wait = Math.max(backoff, error.retryAfterMs ?? 0);
    if (error.retryAfterMs !== undefined) this.#limiter.pause(this.#options.clock.now() + error.retryAfterMs);
    await new Promise<void>((resolve) => this.#options.clock.setTimeout(resolve, wait));
  }

  #observe(operation: BookingOperationName, outcome: RequestOutcome, started: number): void {
    this.#requests[outcome]++;
    this.#options.observe?.(operation, outcome, this.#options.clock.now() - started);
  }
}

function outcomeOf(error: unknown): RequestOutcome {
  if (!(error instanceof BookingError)) return 'failed';
  if (error.code === 'WAR_ERR_BOOKING_BREAKER_OPEN') return 'fast_failed';
  if (error.code === 'WAR_ERR_BOOKING_QUEUE_FULL' || error.code === 'WAR_ERR_BOOKING_QUEUE_TIMEOUT') return 'queue_refused';
  return error.kind === 'unavailable' || error.kind === 'bad_answer' ? 'failed' : 'rejected';
}

/** Without an api_id from the caller: one derived from what is booked, so the same request twice is one record. */
function defaultApiId(request: RecordRequest): string {
  const basis = `${String(request.phone)}|${(request.appointments ?? []).map((a) => `${String(a.staff_id)}@${String(a.datetime)}:${(a.services ?? []).join('.')}`).join('|')}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < basis.length; i++) hash = Math.imul(hash ^ basis.charCodeAt(i), 0x01000193) >>> 0;
  return `req-${hash.toString(36)}-${basis.length.toString(36)}`;
}
