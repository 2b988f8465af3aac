import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { YClientsOperation } from '../../actors/booking/yclients-answers.js';
import { closeLocal, listenLocal, readBody } from './net.js';

/**
 * A local YClients REST API (v2 JSON: `{success, data, meta}`) for the endpoints the booking
 * client calls, over an in-memory salon: free times are computed from the staff's schedules
 * and the records booked so far, book_record answers 201 and keeps `api_id` (without
 * deduplicating on it, as YClients does not: the client's own rule is what tests see), refusals
 * carry YClients' codes (422 with 433, 436, 437, 438, 431, 435, 432; 403 with 434), and a bad
 * token gets 401. It enforces the documented limit (5 requests a second, 200 a minute) per
 * partner token, answers a request over it with 429 and Retry-After and COUNTS it in
 * `violations`; and it can be scripted to be slow, hang, fail, rate-limit, or carry out a
 * booking and never answer (the ambiguous timeout).
 */

export type YClientsEndpoint = YClientsOperation;

export interface SalonCompany {
  readonly id: number;
  readonly title: string;
  /** The company's UTC offset: every datetime it answers with carries it. */
  readonly timezone: string;
  /** Set: book_record needs this SMS code (`code`), else 432. */
  readonly phoneConfirmationCode?: string;
  /** Phones (digits) refused with 403 / 434. */
  readonly blacklist?: readonly string[];
}

export interface SalonService {
  readonly id: number;
  readonly company_id: number;
  readonly title: string;
  readonly price_min: number;
  readonly price_max: number;
  /** Seconds. */
  readonly seance_length: number;
}

export interface SalonStaff {
  readonly id: number;
  readonly company_id: number;
  readonly name: string;
  readonly specialization: string;
  readonly service_ids: readonly number[];
  /** YYYY-MM-DD days it works, from `from` to `to` (HH:MM, company time). */
  readonly dates: readonly string[];
  readonly from: string;
  readonly to: string;
}

export interface Salon {
  readonly companies: readonly SalonCompany[];
  readonly services: readonly SalonService[];
  readonly staff: readonly SalonStaff[];
  /** Free times start on this grid (minutes from the start of the working day). */
  readonly slotMinutes: number;
}

export interface SalonRecord {
  readonly id: number;
  readonly company_id: number;
  staff_id: number;
  readonly services: readonly number[];
  readonly client_id: number;
  /** Company time with its offset. */
  datetime: string;
  readonly seance_length: number;
  /** "" when none was given (as YClients answers). */
  readonly api_id: string;
  comment: string;
  readonly record_hash: string;
  deleted: boolean;
  /** Date.now() when it was booked. */
  readonly created_at: number;
}

export interface SalonClient {
  readonly id: number;
  readonly company_id: number;
  readonly name: string;
  readonly phone: string;
  readonly email: string;
}

/** Every request, as it arrived. */
export interface YClientsCall {
  readonly method: string;
  /** Without the query. */
  readonly path: string;
  readonly query: string;
  readonly at: number;
  /** The partner token it carried ("" for none). */
  readonly token: string;
  readonly userToken: string | undefined;
  readonly accept: string | undefined;
  readonly contentType: string | undefined;
  readonly endpoint: YClientsEndpoint | undefined;
  /** The JSON body, parsed (undefined without one). */
  readonly body: unknown;
  /** The status it was answered with; `hang` for none (yet). */
  readonly status: number | 'hang';
}

export interface RateViolation {
  readonly token: string;
  readonly at: number;
  readonly endpoint: YClientsEndpoint | undefined;
  readonly window: 'second' | 'minute';
}

/**
 * - `hang`: never answer (the connection stays open until the client gives up or `close`);
 * - `error`: YClients' error envelope with this status (and its code, and Retry-After);
 * - `rate-limit`: 429 with Retry-After;
 * - `raw`: this body as it is (malformed answers, a proxy's HTML page);
 * - `lost-answer`: carry the request out, then never answer (a booking that times out but exists).
 */
export type YClientsAnswer =
  | { readonly kind: 'hang' }
  | { readonly kind: 'error'; readonly status: number; readonly code?: number; readonly message?: string; readonly retryAfterS?: number }
  | { readonly kind: 'rate-limit'; readonly retryAfterS: number }
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly contentType?: string }
  | { readonly kind: 'lost-answer' };

export interface YClientsServerOptions {
  readonly partnerToken?: string;
  /** The user token the user-level endpoints (records, record delete, reschedule, clients search) need. */
  readonly userToken?: string;
  readonly salon?: Salon;
  /** The documented limit: 5 a second and 200 a minute, per token. */
  readonly perSecond?: number;
  readonly perMinute?: number;
  /** The path prefix the API is under (`/api/v1`), kept so a client's base URL must keep it too. */
  readonly prefix?: string;
}

interface Scripted {
  remaining: number;
  readonly endpoint: YClientsEndpoint | undefined;
  readonly answer: YClientsAnswer;
}

interface MutableCall extends Omit<YClientsCall, 'status'> {
  status: number | 'hang';
}

interface Route {
  readonly endpoint: YClientsEndpoint;
  readonly companyId: number | undefined;
  readonly rest: readonly string[];
}

class Refusal {
  constructor(
    readonly status: number,
    readonly message: string,
    readonly code?: number,
    readonly id?: number,
  ) {}
}

const V2 = 'application/vnd.yclients.v2+json';
const USER_ENDPOINTS: ReadonlySet<YClientsEndpoint> = new Set(['records', 'record_delete', 'reschedule', 'clients_search']);

export const DEFAULT_PARTNER_TOKEN = 'partner-test-token-0123456789';
export const DEFAULT_USER_TOKEN = 'user-test-token-9876543210';

/** A chain of one company (4564, +03:00) with three services and three masters working 1-7 December 2026, 10:00-20:00. */
export function testSalon(): Salon {
  const december = ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06', '2026-12-07'];
  return {
    companies: [{ id: 4564, title: 'Salon on Tverskaya', timezone: '+03:00', blacklist: ['79990000000'] }, { id: 4565, title: 'Salon with SMS', timezone: '+03:00', phoneConfirmationCode: '38829' }],
    services: [
      { id: 331, company_id: 4564, title: 'Haircut', price_min: 1500, price_max: 2500, seance_length: 3600 },
      { id: 332, company_id: 4564, title: 'Colouring', price_min: 4000, price_max: 8000, seance_length: 7200 },
      { id: 333, company_id: 4564, title: 'Manicure', price_min: 1200, price_max: 1200, seance_length: 1800 },
      { id: 441, company_id: 4565, title: 'Haircut', price_min: 1000, price_max: 1000, seance_length: 3600 },
    ],
    staff: [
      { id: 6544, company_id: 4564, name: 'Irina', specialization: 'stylist', service_ids: [331, 332], dates: december, from: '10:00', to: '20:00' },
      { id: 6545, company_id: 4564, name: 'Olga', specialization: 'stylist, manicure', service_ids: [331, 333], dates: december, from: '10:00', to: '20:00' },
      { id: 6546, company_id: 4564, name: 'Pavel', specialization: 'trainee', service_ids: [331], dates: [], from: '10:00', to: '20:00' },
      { id: 7001, company_id: 4565, name: 'Anna', specialization: 'stylist', service_ids: [441], dates: december, from: '10:00', to: '18:00' },
    ],
    slotMinutes: 30,
  };
}

export class YClientsServer {
  readonly partnerToken: string;
  readonly userToken: string;
  readonly salon: Salon;
  readonly records: SalonRecord[] = [];
  readonly clients: SalonClient[] = [];
  readonly violations: RateViolation[] = [];
  readonly requests: readonly YClientsCall[];
  readonly #calls: MutableCall[] = [];
  readonly #perSecond: number;
  readonly #perMinute: number;
  readonly #prefix: string;
  readonly #admitted = new Map<string, number[]>();
  readonly #latency = new Map<YClientsEndpoint | '*', number>();
  #script: Scripted[] = [];
  #nextRecordId = 2_820_000;
  #nextClientId = 500;
  #url: string | undefined;
  readonly #server: Server;

  constructor(options: YClientsServerOptions = {}) {
    this.partnerToken = options.partnerToken ?? DEFAULT_PARTNER_TOKEN;
    this.userToken = options.userToken ?? DEFAULT_USER_TOKEN;
    this.salon = options.salon ?? testSalon();
    this.#perSecond = options.perSecond ?? 5;
    this.#perMinute = options.perMinute ?? 200;
    this.#prefix = (options.prefix ?? '/api/v1').replace(/\/+$/, '');
    this.requests = this.#calls;
    this.#server = createServer((request, response) => {
      void this.#handle(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
  }

  /** Starts listening on 127.0.0.1; resolves with the base URL (origin and prefix, no trailing '/'). */
  async listen(): Promise<string> {
    this.#url = `${new URL(await listenLocal(this.#server)).origin}${this.#prefix}`;
    return this.#url;
  }

  get url(): string {
    if (!this.#url) throw new Error('YClientsServer is not listening');
    return this.#url;
  }

  /** Answers the next `count` requests (of one endpoint, if given) with `answer`; scripts are used in the order given. */
  answerNext(endpoint: YClientsEndpoint | undefined, count: number, answer: YClientsAnswer): void {
    this.#script.push({ remaining: count, endpoint, answer });
  }

  hangNext(endpoint: YClientsEndpoint, count = 1): void {
    this.answerNext(endpoint, count, { kind: 'hang' });
  }

  failNext(endpoint: YClientsEndpoint, count = 1, status = 500): void {
    this.answerNext(endpoint, count, { kind: 'error', status, message: status === 503 ? 'Service Unavailable' : 'Internal Server Error' });
  }

  rateLimitNext(retryAfterS: number, count = 1, endpoint?: YClientsEndpoint): void {
    this.answerNext(endpoint, count, { kind: 'rate-limit', retryAfterS });
  }

  /** Carries the next `count` requests of the endpoint out (a booking is made) and never answers them. */
  loseAnswerNext(endpoint: YClientsEndpoint, count = 1): void {
    this.answerNext(endpoint, count, { kind: 'lost-answer' });
  }

  /** Delays every answer (of one endpoint, if given) by `ms`; 0 removes the delay. */
  setLatency(ms: number, endpoint?: YClientsEndpoint): void {
    if (ms <= 0) this.#latency.delete(endpoint ?? '*');
    else this.#latency.set(endpoint ?? '*', ms);
  }

  /** The records of a company not deleted, in booking order. */
  liveRecords(companyId?: number): SalonRecord[] {
    return this.records.filter((record) => !record.deleted && (companyId === undefined || record.company_id === companyId));
  }

  close(): Promise<void> {
    return closeLocal(this.#server);
  }

  // ---- the request -------------------------------------------------------------------------

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // Counted at arrival, as a server's edge counts, not after the body has been read: reading
    // it takes event-loop turns that a loaded machine stretches unevenly between requests.
    const arrivedAt = Date.now();
    const raw = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://local');
    const method = request.method ?? 'GET';
    const auth = parseAuthorization(request.headers.authorization);
    const route = this.#route(method, url.pathname);
    let body: unknown;
    try {
      body = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
    } catch {
      body = Symbol.for('invalid-json');
    }
    const call: MutableCall = {
      method,
      path: url.pathname,
      query: url.search,
      at: arrivedAt,
      token: auth.partner,
      userToken: auth.user,
      accept: header(request, 'accept'),
      contentType: header(request, 'content-type'),
      endpoint: route?.endpoint,
      body: typeof body === 'symbol' ? undefined : body,
      status: 'hang',
    };
    this.#calls.push(call);

    const over = this.#overLimit(auth.partner, call.at);
    if (over) {
      this.violations.push({ token: auth.partner, at: call.at, endpoint: route?.endpoint, window: over.window });
      this.#send(response, call, 429, fail('Too many requests'), { 'retry-after': String(over.retryAfterS) });
      return;
    }
    const latency = (route && this.#latency.get(route.endpoint)) ?? this.#latency.get('*') ?? 0;
    if (latency > 0) await sleep(latency);

    if (call.accept !== V2) {
      this.#send(response, call, 400, fail(`Accept must be ${V2}`));
      return;
    }
    if (auth.partner !== this.partnerToken) {
      this.#send(response, call, 401, fail('Authentication needed.'));
      return;
    }
    if (!route) {
      this.#send(response, call, 404, { success: false, data: null, meta: [] });
      return;
    }
    if (USER_ENDPOINTS.has(route.endpoint)) {
      if (auth.user === undefined) {
        this.#send(response, call, 401, fail('Authentication needed.'));
        return;
      }
      if (auth.user !== this.userToken) {
        this.#send(response, call, 403, fail('Access denied.'));
        return;
      }
    }
    const scripted = this.#take(route.endpoint);
    if (scripted && scripted.kind !== 'lost-answer') {
      this.#answerScripted(response, call, scripted);
      return;
    }
    if (typeof body === 'symbol') {
      this.#send(response, call, 400, fail('The body is not valid JSON'));
      return;
    }
    const company = this.salon.companies.find((candidate) => candidate.id === route.companyId);
    let status: number;
    let answer: unknown;
    try {
      if (!company) throw new Refusal(404, 'Branch not found');
      [status, answer] = this.#serve(route, company, url.searchParams, body);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      status = error.status;
      answer = error.code === undefined ? fail(error.message) : fail('An error has occurred', [{ code: error.code, message: error.message, ...(error.id === undefined ? {} : { id: error.id }) }]);
    }
    // Carried out (a booking exists), and the answer never leaves.
    if (scripted?.kind === 'lost-answer') return;
    this.#send(response, call, status, answer);
  }

  #serve(route: Route, company: SalonCompany, query: URLSearchParams, body: unknown): [number, unknown] {
    switch (route.endpoint) {
      case 'book_services':
        return [200, ok(this.#bookServices(company, query))];
      case 'book_staff':
        return [200, ok(this.#bookStaff(company, query))];
      case 'book_dates':
        return [200, ok(this.#bookDates(company, query))];
      case 'book_times':
        return [200, ok(this.#bookTimes(company, route.rest, query))];
      case 'book_check':
        this.#place(company, appointmentsOf(body));
        return [201, { success: true, data: null, meta: { message: 'Created' } }];
      case 'book_record':
        return [201, ok(this.#bookRecord(company, body), [])];
      case 'reschedule':
        return [200, ok(this.#reschedule(company, Number(route.rest[0]), body))];
      case 'record_delete':
        this.#deleteRecord(company, Number(route.rest[0]));
        return [204, undefined];
      case 'records':
        return this.#recordsList(company, query);
      case 'clients_search':
        return this.#clientsSearch(company, body);
    }
  }

  #route(method: string, pathname: string): Route | undefined {
    if (!pathname.startsWith(`${this.#prefix}/`)) return undefined;
    const parts = pathname.slice(this.#prefix.length + 1).split('/').filter((part) => part !== '');
    const company = (text: string | undefined) => (text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined);
    const [first, second, ...rest] = parts;
    const simple: Record<string, YClientsEndpoint> = { 'GET book_services': 'book_services', 'GET book_staff': 'book_staff', 'GET book_dates': 'book_dates', 'POST book_check': 'book_check', 'GET records': 'records' };
    const key = `${method} ${first}`;
    if (parts.length === 2 && simple[key]) return { endpoint: simple[key], companyId: company(second), rest };
    if (method === 'GET' && first === 'book_times' && rest.length === 2) return { endpoint: 'book_times', companyId: company(second), rest };
    if (method === 'POST' && first === 'book_record' && parts.length === 2) return { endpoint: 'book_record', companyId: company(second), rest };
    if (method === 'PUT' && first === 'book_record' && rest.length === 1) return { endpoint: 'reschedule', companyId: company(second), rest };
    if (method === 'DELETE' && first === 'record' && rest.length === 1) return { endpoint: 'record_delete', companyId: company(second), rest };
    if (method === 'POST' && first === 'company' && rest[0] === 'clients' && rest[1] === 'search' && rest.length === 2) return { endpoint: 'clients_search', companyId: company(second), rest: [] };
    return undefined;
  }

  // ---- the endpoints -----------------------------------------------------------------------

  #bookServices(company: SalonCompany, query: URLSearchParams): unknown {
    const staffId = query.get('staff_id');
    const staff = staffId === null || staffId === '0' ? undefined : this.#staffOf(company).find((candidate) => candidate.id === Number(staffId));
    const services = this.#servicesOf(company).filter((service) => staffId === null || staffId === '0' || (staff?.service_ids.includes(service.id) ?? false));
    return {
      events: [],
      services: services.map((service) => ({
        id: service.id,
        title: service.title,
        category_id: 1,
        price_min: service.price_min,
        price_max: service.price_max,
        discount: 0,
        comment: '',
        weight: 0,
        active: 1,
        sex: 0,
        image: '',
        prepaid: 'forbidden',
        // Only with a master filter, as documented.
        ...(staff ? { seance_length: service.seance_length } : {}),
      })),
      category: [{ id: 1, title: 'All services', sex: 0, api_id: 0, weight: 1 }],
    };
  }

  #bookStaff(company: SalonCompany, query: URLSearchParams): unknown {
    const serviceIds = query.getAll('service_ids[]').map(Number);
    const at = query.get('datetime');
    const length = this.#lengthOf(company, serviceIds);
    return this.#staffOf(company)
      .filter((staff) => serviceIds.every((id) => staff.service_ids.includes(id)))
      .map((staff) => {
        const free = staff.dates.filter((day) => this.#freeTimes(company, staff, day, length).length > 0);
        const bookable = at === null ? free.length > 0 : this.#isFree(company, staff, at, length, undefined);
        return {
          // As documented: ids and counters as strings.
          id: String(staff.id),
          name: staff.name,
          bookable,
          specialization: staff.specialization,
          position: { id: 1, title: 'Master' },
          show_rating: '1',
          rating: '5',
          votes_count: '1',
          avatar: 'https://yclients.com/images/no-master.png',
          comments_count: '0',
          weight: '10',
          information: '<span></span>',
          ...(free[0] === undefined ? {} : { seance_date: free[0] }),
        };
      });
  }

  #bookDates(company: SalonCompany, query: URLSearchParams): unknown {
    const serviceIds = query.getAll('service_ids[]').map(Number);
    const staffId = query.get('staff_id');
    const length = this.#lengthOf(company, serviceIds);
    const staff = this.#staffOf(company).filter((candidate) => (staffId === null || staffId === '0' || candidate.id === Number(staffId)) && serviceIds.every((id) => candidate.service_ids.includes(id)));
    const working = [...new Set(staff.flatMap((candidate) => candidate.dates))].sort();
    const booking = working.filter((day) => staff.some((candidate) => this.#freeTimes(company, candidate, day, length).length > 0));
    return { booking_days: byMonth(booking), booking_dates: booking, working_days: byMonth(working), working_dates: working };
  }

  #bookTimes(company: SalonCompany, rest: readonly string[], query: URLSearchParams): unknown {
    const [staffText, day] = rest as [string, string];
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Refusal(400, 'Invalid date');
    const serviceIds = query.getAll('service_ids[]').map(Number);
    const length = this.#lengthOf(company, serviceIds);
    const candidates =
      staffText === '0'
        ? this.#staffOf(company)
        : this.#staffOf(company).filter((staff) => staff.id === Number(staffText));
    if (candidates.length === 0) throw new Refusal(404, 'Staff not found');
    const times = new Map<string, { time: string; seance_length: number; datetime: string }>();
    for (const staff of candidates.filter((candidate) => serviceIds.every((id) => candidate.service_ids.includes(id)))) {
      for (const minute of this.#freeTimes(company, staff, day, length)) {
        const time = clock(minute);
        if (!times.has(time)) times.set(time, { time, seance_length: length, datetime: `${day}T${time}:00${company.timezone}` });
      }
    }
    return [...times.values()].sort((a, b) => a.time.localeCompare(b.time));
  }

  #bookRecord(company: SalonCompany, body: unknown): unknown {
    const fields = isObject(body) ? body : {};
    const digits = typeof fields.phone === 'string' ? fields.phone.replace(/^\+/, '') : '';
    if (!/^\d{8,15}$/.test(digits)) throw new Refusal(422, 'The phone number is in the wrong format', 431);
    if (typeof fields.fullname !== 'string' || fields.fullname.trim() === '') throw new Refusal(422, 'The client\'s name is missing', 435);
    if (company.blacklist?.includes(digits)) throw new Refusal(403, 'The client is blacklisted and cannot book', 434);
    if (company.phoneConfirmationCode !== undefined && String(fields.code ?? '') !== company.phoneConfirmationCode) throw new Refusal(422, 'The SMS code is wrong', 432);
    const placed = this.#place(company, appointmentsOf(body));
    let client = this.clients.find((candidate) => candidate.company_id === company.id && candidate.phone === digits);
    if (!client) {
      client = { id: this.#nextClientId++, company_id: company.id, name: fields.fullname.trim(), phone: digits, email: typeof fields.email === 'string' ? fields.email : '' };
      this.clients.push(client);
    }
    const apiId = fields.api_id === undefined || fields.api_id === null ? '' : String(fields.api_id);
    const comment = typeof fields.comment === 'string' ? fields.comment : '';
    return placed.map((slot) => {
      const record: SalonRecord = {
        id: this.#nextRecordId++,
        company_id: company.id,
        staff_id: slot.staff.id,
        services: slot.services,
        client_id: (client as SalonClient).id,
        datetime: slot.datetime,
        seance_length: slot.length,
        api_id: apiId,
        comment,
        record_hash: randomBytes(16).toString('hex'),
        deleted: false,
        created_at: Date.now(),
      };
      this.records.push(record);
      return { id: slot.appointmentId, record_id: record.id, record_hash: record.record_hash };
    });
  }

  #reschedule(company: SalonCompany, recordId: number, body: unknown): unknown {
    const record = this.liveRecords(company.id).find((candidate) => candidate.id === recordId);
    if (!record) throw new Refusal(404, 'Record not found');
    const fields = isObject(body) ? body : {};
    if (typeof fields.datetime !== 'string' || Number.isNaN(Date.parse(fields.datetime))) throw new Refusal(422, 'datetime is required', 422);
    const staff = this.#staffOf(company).find((candidate) => candidate.id === record.staff_id);
    if (!staff || !this.#isFree(company, staff, fields.datetime, record.seance_length, record.id)) throw new Refusal(422, `${staff?.name ?? 'The master'} (${record.staff_id}) cannot be booked at that time: it is taken or not a working time`, 433);
    record.datetime = localDatetime(company, fields.datetime);
    if (typeof fields.comment === 'string') record.comment = fields.comment;
    return { ...this.#recordJson(company, record), date: record.datetime.slice(0, 19) };
  }

  #deleteRecord(company: SalonCompany, recordId: number): void {
    const record = this.liveRecords(company.id).find((candidate) => candidate.id === recordId);
    if (!record) throw new Refusal(404, 'Record not found');
    record.deleted = true;
  }

  #recordsList(company: SalonCompany, query: URLSearchParams): [number, unknown] {
    const page = Math.max(1, Number(query.get('page') ?? 1) || 1);
    const count = Math.min(300, Math.max(1, Number(query.get('count') ?? 50) || 50));
    const staffId = query.get('staff_id');
    const clientId = query.get('client_id');
    const start = query.get('start_date');
    const end = query.get('end_date');
    const withDeleted = query.get('with_deleted') === '1';
    const matching = this.records
      .filter((record) => record.company_id === company.id && (withDeleted || !record.deleted))
      .filter((record) => (staffId === null || record.staff_id === Number(staffId)) && (clientId === null || record.client_id === Number(clientId)))
      .filter((record) => (start === null || record.datetime.slice(0, 10) >= start) && (end === null || record.datetime.slice(0, 10) <= end))
      .sort((a, b) => a.datetime.localeCompare(b.datetime) || a.id - b.id);
    const slice = matching.slice((page - 1) * count, page * count);
    return [200, ok(slice.map((record) => this.#recordJson(company, record)), { page, total_count: matching.length })];
  }

  #clientsSearch(company: SalonCompany, body: unknown): [number, unknown] {
    const fields = isObject(body) ? body : {};
    const pageSize = Math.min(200, Math.max(1, Number(fields.page_size ?? 25) || 25));
    const page = Math.max(1, Number(fields.page ?? 1) || 1);
    const wanted = Array.isArray(fields.fields) ? fields.fields.filter((field): field is string => typeof field === 'string') : ['id'];
    const filters = Array.isArray(fields.filters) ? fields.filters.filter(isObject) : [];
    let matching = this.clients.filter((client) => client.company_id === company.id);
    for (const filter of filters) {
      if (filter.type !== 'quick_search') throw new Refusal(400, 'Unsupported filter');
      const value = isObject(filter.state) && typeof filter.state.value === 'string' ? filter.state.value : '';
      const digits = value.replace(/\D/g, '');
      matching = matching.filter((client) => (digits.length >= 3 && client.phone.includes(digits)) || client.name.toLowerCase().includes(value.toLowerCase()));
    }
    const slice = matching.slice((page - 1) * pageSize, page * pageSize);
    // YClients formats phones with a plus: the client must normalise before comparing.
    const shown = slice.map((client) => Object.fromEntries(wanted.map((field) => [field, field === 'phone' ? `+${client.phone}` : client[field as keyof SalonClient]])));
    return [200, ok(shown, { total_count: matching.length })];
  }

  #recordJson(company: SalonCompany, record: SalonRecord): Record<string, unknown> {
    const staff = this.#staffOf(company).find((candidate) => candidate.id === record.staff_id);
    const client = this.clients.find((candidate) => candidate.id === record.client_id);
    return {
      id: record.id,
      company_id: record.company_id,
      staff_id: record.staff_id,
      services: record.services.map((id) => {
        const service = this.salon.services.find((candidate) => candidate.id === id);
        return { id, title: service?.title ?? '', cost: service?.price_min ?? 0, manual_cost: service?.price_min ?? 0, discount: 0, first_cost: service?.price_min ?? 0, amount: 1 };
      }),
      staff: staff ? { id: staff.id, api_id: null, name: staff.name, specialization: staff.specialization } : null,
      client: client ? { id: client.id, name: client.name, phone: `+${client.phone}`, email: client.email } : null,
      date: record.datetime.slice(0, 19).replace('T', ' '),
      datetime: record.datetime,
      create_date: new Date(record.created_at).toISOString(),
      comment: record.comment,
      online: true,
      attendance: 0,
      confirmed: 1,
      seance_length: record.seance_length,
      length: record.seance_length,
      api_id: record.api_id,
      deleted: record.deleted,
    };
  }

  // ---- the salon -----------------------------------------------------------------------------

  /**
   * The appointments as they would be booked, or the Refusal YClients answers with: 422/437 for
   * two of the request that overlap, 422/433 for a time that is taken or not a working time,
   * 422/436 when "any master" (0) finds none, 422/438 for a service the master does not offer.
   */
  #place(company: SalonCompany, appointments: readonly Record<string, unknown>[]): { appointmentId: number; staff: SalonStaff; services: number[]; datetime: string; length: number }[] {
    if (appointments.length === 0) throw new Refusal(422, 'No appointments given', 422);
    const placed: { appointmentId: number; staff: SalonStaff; services: number[]; datetime: string; length: number; start: number; day: string }[] = [];
    for (const appointment of appointments) {
      const appointmentId = Number(appointment.id);
      const services = Array.isArray(appointment.services) ? appointment.services.map(Number) : [];
      if (services.length === 0) throw new Refusal(422, 'No services or promotions set', 422, appointmentId);
      if (services.some((id) => !this.#servicesOf(company).some((service) => service.id === id))) throw new Refusal(422, 'There is no booking for the specified service', 438, appointmentId);
      if (typeof appointment.datetime !== 'string' || Number.isNaN(Date.parse(appointment.datetime))) throw new Refusal(422, 'The time of the appointment is not a date and time', 433, appointmentId);
      const local = localDatetime(company, appointment.datetime);
      const day = local.slice(0, 10);
      const start = minutesOf(local.slice(11, 16));
      const length = this.#lengthOf(company, services);
      const clashes = (staff: SalonStaff) => placed.some((other) => other.staff.id === staff.id && other.day === day && other.start < start + length / 60 && start < other.start + other.length / 60);
      const staffId = Number(appointment.staff_id);
      let staff: SalonStaff | undefined;
      if (staffId === 0) {
        staff = this.#staffOf(company).find((candidate) => services.every((id) => candidate.service_ids.includes(id)) && !clashes(candidate) && this.#isFree(company, candidate, local, length, undefined));
        if (!staff) throw new Refusal(422, 'No masters are available for the booking', 436, appointmentId);
      } else {
        staff = this.#staffOf(company).find((candidate) => candidate.id === staffId);
        if (!staff) throw new Refusal(422, `Master (${staffId}) cannot be booked: the selected time is taken or is not a working time`, 433, appointmentId);
        if (!services.every((id) => staff?.service_ids.includes(id))) throw new Refusal(422, 'There is no booking for the specified service', 438, appointmentId);
        if (clashes(staff)) throw new Refusal(422, `Master ${staff.name} (${staff.id}) cannot be booked for ${local}: it overlaps another appointment of the request`, 437, appointmentId);
        if (!this.#isFree(company, staff, local, length, undefined)) throw new Refusal(422, `Master ${staff.name} (${staff.id}) cannot be booked for ${local}: the selected time is taken or is not a working time`, 433, appointmentId);
      }
      placed.push({ appointmentId, staff, services, datetime: local, length, start, day });
    }
    return placed;
  }

  /** Start minutes (of the day) at which a seance of `length` seconds fits between the master's hours and records. */
  #freeTimes(company: SalonCompany, staff: SalonStaff, day: string, length: number, ignoreRecord?: number): number[] {
    if (!staff.dates.includes(day)) return [];
    const from = minutesOf(staff.from);
    const to = minutesOf(staff.to);
    const minutes = Math.ceil(length / 60);
    const busy = this.liveRecords(company.id)
      .filter((record) => record.staff_id === staff.id && record.id !== ignoreRecord && record.datetime.slice(0, 10) === day)
      .map((record) => ({ start: minutesOf(record.datetime.slice(11, 16)), end: minutesOf(record.datetime.slice(11, 16)) + Math.ceil(record.seance_length / 60) }));
    const free: number[] = [];
    for (let start = from; start + minutes <= to; start += this.salon.slotMinutes) {
      if (!busy.some((slot) => slot.start < start + minutes && start < slot.end)) free.push(start);
    }
    return free;
  }

  #isFree(company: SalonCompany, staff: SalonStaff, datetime: string, length: number, ignoreRecord: number | undefined): boolean {
    if (Number.isNaN(Date.parse(datetime))) return false;
    const local = localDatetime(company, datetime);
    return this.#freeTimes(company, staff, local.slice(0, 10), length, ignoreRecord).includes(minutesOf(local.slice(11, 16)));
  }

  #lengthOf(company: SalonCompany, serviceIds: readonly number[]): number {
    const services = this.#servicesOf(company).filter((service) => serviceIds.includes(service.id));
    return services.length === 0 ? 3600 : services.reduce((sum, service) => sum + service.seance_length, 0);
  }

  #servicesOf(company: SalonCompany): SalonService[] {
    return this.salon.services.filter((service) => service.company_id === company.id);
  }

  #staffOf(company: SalonCompany): SalonStaff[] {
    return this.salon.staff.filter((staff) => staff.company_id === company.id);
  }

  // ---- rate limit, scripts, answers ----------------------------------------------------------

  /** Sliding windows of the requests admitted per token; a request over either limit is refused (and not admitted). */
  #overLimit(token: string, now: number): { window: 'second' | 'minute'; retryAfterS: number } | undefined {
    const admitted = (this.#admitted.get(token) ?? []).filter((at) => at > now - 60_000);
    this.#admitted.set(token, admitted);
    const lastSecond = admitted.filter((at) => at > now - 1_000);
    if (lastSecond.length >= this.#perSecond) return { window: 'second', retryAfterS: Math.max(1, Math.ceil(((lastSecond[0] as number) + 1_000 - now) / 1000)) };
    if (admitted.length >= this.#perMinute) return { window: 'minute', retryAfterS: Math.max(1, Math.ceil(((admitted[0] as number) + 60_000 - now) / 1000)) };
    admitted.push(now);
    return undefined;
  }

  #take(endpoint: YClientsEndpoint): YClientsAnswer | undefined {
    const entry = this.#script.find((item) => item.endpoint === undefined || item.endpoint === endpoint);
    if (!entry) return undefined;
    if (--entry.remaining <= 0) this.#script = this.#script.filter((item) => item !== entry);
    return entry.answer;
  }

  #answerScripted(response: ServerResponse, call: MutableCall, answer: Exclude<YClientsAnswer, { kind: 'lost-answer' }>): void {
    switch (answer.kind) {
      case 'hang':
        return;
      case 'rate-limit':
        this.#send(response, call, 429, fail('Too many requests'), { 'retry-after': String(answer.retryAfterS) });
        return;
      case 'error': {
        const body = answer.code === undefined ? fail(answer.message ?? 'Error') : fail('An error has occurred', [{ code: answer.code, message: answer.message ?? 'Error' }]);
        this.#send(response, call, answer.status, body, answer.retryAfterS === undefined ? {} : { 'retry-after': String(answer.retryAfterS) });
        return;
      }
      case 'raw':
        call.status = answer.status;
        response.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json' });
        response.end(answer.body);
        return;
    }
  }

  #send(response: ServerResponse, call: MutableCall, status: number, body: unknown, headers: Record<string, string> = {}): void {
    call.status = status;
    if (body === undefined) {
      response.writeHead(status, headers).end();
      return;
    }
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  }
}

/** A server on a free port, closed by the test file's cleanups. */
export async function listeningYClients(cleanups: (() => Promise<void> | void)[], options: YClientsServerOptions = {}): Promise<YClientsServer> {
  const server = new YClientsServer(options);
  await server.listen();
  cleanups.push(() => server.close());
  return server;
}

function ok(data: unknown, meta: unknown = []): unknown {
  return { success: true, data, meta };
}

function fail(message: string, errors?: readonly Record<string, unknown>[]): unknown {
  return { success: false, data: null, meta: errors === undefined ? { message } : { message, errors } };
}

function parseAuthorization(value: string | undefined): { partner: string; user: string | undefined } {
  const match = /^Bearer\s+([^,\s]+)\s*(?:,\s*User\s+(\S+))?$/.exec(value?.trim() ?? '');
  return match ? { partner: match[1] as string, user: match[2] } : { partner: '', user: undefined };
}

function appointmentsOf(body: unknown): Record<string, unknown>[] {
  return isObject(body) && Array.isArray(body.appointments) ? body.appointments.filter(isObject) : [];
}

/** A datetime as company time with the company's offset (YYYY-MM-DDTHH:MM:SS+03:00). */
function localDatetime(company: SalonCompany, datetime: string): string {
  const sign = company.timezone.startsWith('-') ? -1 : 1;
  const [hours, minutes] = company.timezone.slice(1).split(':').map(Number) as [number, number];
  const shifted = new Date(Date.parse(datetime) + sign * (hours * 60 + minutes) * 60_000);
  return `${shifted.toISOString().slice(0, 19)}${company.timezone}`;
}

function minutesOf(time: string): number {
  const [hours, minutes] = time.split(':').map(Number) as [number, number];
  return hours * 60 + minutes;
}

function clock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function byMonth(days: readonly string[]): Record<string, string[]> {
  const months: Record<string, string[]> = {};
  for (const day of days) (months[String(Number(day.slice(5, 7)))] ??= []).push(String(Number(day.slice(8, 10))));
  return months;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

