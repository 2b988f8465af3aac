import type { FastifyInstance } from 'fastify';
import type { Appointment, BookingOperations, StaffChoice } from '../../../actors/booking/booking-api.js';
import { RuntimeError } from '../../errors.js';
import { adminAuth } from '../admin-auth.js';
import type { HttpDeps } from '../http-deps.js';

/**
 * The booking operations over HTTP for n8n flows and AI services, behind the admin token, in
 * YClients' own field names (a flow written against YClients moves over unchanged). Every
 * consumer shares the booking service's one rate limit, breaker and validation; a typed
 * booking error answers with its status and `{error, code, message}` (and `field`,
 * `yclients_code` where known) through the common error handler.
 */
export function bookingRoutes(app: FastifyInstance, deps: HttpDeps, booking: BookingOperations): void {
  app.register(async (routes) => {
    routes.addHook('onRequest', adminAuth(deps.config.adminToken));

    routes.get<{ Querystring: Record<string, string | undefined> }>('/booking/services', async (request) => {
      const q = request.query;
      const staffId = optionalId(q.staff_id, 'staff_id');
      return { success: true, data: await booking.services({ ...company(q), ...(staffId === undefined ? {} : { staff_id: staffId }), ...(q.datetime ? { datetime: q.datetime } : {}) }) };
    });

    routes.get<{ Querystring: Record<string, string | undefined> }>('/booking/staff', async (request) => {
      const q = request.query;
      return { success: true, data: await booking.staff({ ...company(q), ...services(q), ...(q.datetime ? { datetime: q.datetime } : {}) }) };
    });

    routes.get<{ Querystring: Record<string, string | undefined> }>('/booking/dates', async (request) => {
      const q = request.query;
      return { success: true, data: await booking.dates({ ...company(q), ...services(q), ...(q.staff_id === undefined ? {} : { staff_id: staffChoice(q.staff_id, 'staff_id') }) }) };
    });

    routes.get<{ Querystring: Record<string, string | undefined> }>('/booking/slots', async (request) => {
      const q = request.query;
      if (q.staff_id === undefined) throw new RuntimeError('WAR_ERR_BAD_REQUEST', 'staff_id is required: a master id or "any"');
      if (q.date === undefined) throw new RuntimeError('WAR_ERR_BAD_REQUEST', 'date is required (YYYY-MM-DD)');
      return { success: true, data: await booking.times({ ...company(q), ...services(q), staff_id: staffChoice(q.staff_id, 'staff_id'), date: q.date }) };
    });

    routes.post<{ Body: { appointments?: unknown; company_id?: unknown } }>('/booking/check', { bodyLimit: 16_384 }, async (request) => {
      const body = objectBody(request.body);
      await booking.check({ ...bodyCompany(body), appointments: body.appointments as readonly Appointment[] });
      return { success: true, data: null };
    });

    routes.post<{ Body: Record<string, unknown> }>('/booking/records', { bodyLimit: 16_384 }, async (request, reply) => {
      const body = objectBody(request.body);
      const booked = await booking.book({
        ...bodyCompany(body),
        phone: body.phone as string,
        fullname: body.fullname as string,
        ...(body.email === undefined ? {} : { email: body.email as string }),
        ...(body.comment === undefined ? {} : { comment: body.comment as string }),
        ...(body.api_id === undefined ? {} : { api_id: body.api_id as string }),
        appointments: body.appointments as readonly Appointment[],
      });
      // A repeated request for the same api_id answers the first record, as it was made.
      return reply.code(booked.existing ? 200 : 201).send({ success: true, data: booked.records, meta: { api_id: booked.api_id, existing: booked.existing } });
    });

    routes.delete<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/booking/records/:id', async (request) => {
      const recordId = optionalId(request.params.id, 'id');
      if (recordId === undefined) throw new RuntimeError('WAR_ERR_BAD_REQUEST', 'id must be a record id');
      await booking.cancel({ ...company(request.query), record_id: recordId });
      return { success: true, data: null };
    });
  });
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RuntimeError('WAR_ERR_BAD_REQUEST', 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

function company(query: Record<string, string | undefined>): { company_id?: number } {
  const id = optionalId(query.company_id, 'company_id');
  return id === undefined ? {} : { company_id: id };
}

function bodyCompany(body: Record<string, unknown>): { company_id?: number } {
  const raw = body.company_id;
  if (raw === undefined) return {};
  const id = typeof raw === 'number' ? raw : optionalId(String(raw), 'company_id');
  if (id === undefined || !Number.isSafeInteger(id) || id <= 0) throw new RuntimeError('WAR_ERR_BAD_REQUEST', `company_id must be a positive integer, got ${JSON.stringify(raw)}`);
  return { company_id: id };
}

function services(query: Record<string, string | undefined>): { service_ids?: readonly number[] } {
  const raw = query.service_ids ?? query['service_ids[]'];
  if (raw === undefined || raw === '') return {};
  const ids = raw.split(',').map((part) => part.trim());
  const bad = ids.find((id) => !/^[1-9]\d{0,15}$/.test(id));
  if (bad !== undefined) throw new RuntimeError('WAR_ERR_BAD_REQUEST', `service_ids must be comma-separated positive integers, got ${JSON.stringify(bad)}`);
  return { service_ids: ids.map(Number) };
}

function optionalId(raw: string | undefined, field: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^[1-9]\d{0,15}$/.test(raw)) throw new RuntimeError('WAR_ERR_BAD_REQUEST', `${field} must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** A master id or `any`; anything else ("last", "12a", "0") is refused here, before the service sees it. */
function staffChoice(raw: string, field: string): StaffChoice {
  if (raw === 'any') return 'any';
  const id = optionalId(raw, field);
  if (id === undefined) throw new RuntimeError('WAR_ERR_BAD_REQUEST', `${field} must be a positive integer or "any", got ${JSON.stringify(raw)}`);
  return id;
}
