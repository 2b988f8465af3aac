import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BookingError } from '../../actors/booking/booking-errors.js';
import {
  validateCancelRequest,
  validateCheckRequest,
  validateClientQuery,
  validateDatesQuery,
  validateRecordRequest,
  validateRecordsLookup,
  validateRescheduleRequest,
  validateResolvedCheckRequest,
  validateResolvedRecordRequest,
  validateResolvedTimesQuery,
  validateServicesQuery,
  validateStaffQuery,
  validateTimesQuery,
} from '../../actors/booking/booking-input.js';

const defaults = { companyId: 4564 };
const appointment = (overrides: Record<string, unknown> = {}) => ({ id: 1, services: [331], staff_id: 6544, datetime: '2026-12-03T18:00:00+03:00', ...overrides });
const record = (overrides: Record<string, unknown> = {}) => ({ phone: '+7 916 377-94-44', fullname: 'Anna', appointments: [appointment()], ...overrides });

/** The BookingError a call throws (fails the test when it throws something else, or nothing). */
function refusal(call: () => unknown): BookingError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(BookingError);
    return error as BookingError;
  }
  throw new Error('expected a BookingError, got none');
}

describe('booking input validation', () => {
  it.each([
    ['"last"', 'last', 'must be a positive integer or "any", got "last"'],
    ['"12a"', '12a', 'must be a positive integer or "any", got "12a"'],
    ['0', 0, 'must be a positive integer or "any", got 0'],
    ['-1', -1, 'must be a positive integer or "any", got -1'],
    ['1.5', 1.5, 'must be a positive integer or "any", got 1.5'],
    ['null', null, 'must be a positive integer or "any", got null'],
    ['missing', undefined, 'is missing'],
  ])('refuses staff_id %s, naming the appointment field', (_label, staffId, problem) => {
    const appointments = [appointment(), appointment({ id: 2, staff_id: staffId, datetime: '2026-12-03T19:00:00+03:00' })];
    if (staffId === undefined) delete (appointments[1] as Record<string, unknown>).staff_id;
    const error = refusal(() => validateRecordRequest(record({ appointments }), defaults));
    expect(error.code).toBe('WAR_ERR_BOOKING_INVALID');
    expect(error.statusCode).toBe(400);
    expect(error.kind).toBe('validation');
    expect(error.field).toBe('appointments[1].staff_id');
    expect(error.message).toContain(`appointments[1].staff_id ${problem}`);
  });

  it('takes a master id as a number or a digit string, and "any" until it must be resolved', () => {
    expect(validateCheckRequest({ appointments: [appointment({ staff_id: '6544' })] }, defaults).appointments[0]?.staff_id).toBe(6544);
    expect(validateCheckRequest({ appointments: [appointment({ staff_id: 'any' })] }, defaults).appointments[0]?.staff_id).toBe('any');
    expect(validateTimesQuery({ staff_id: 'any', date: '2026-12-03' }, defaults).staff_id).toBe('any');
    // What is sent to YClients has a real master: "any" reaching the client is a bug upstream.
    const unresolved = refusal(() => validateResolvedCheckRequest({ appointments: [appointment({ staff_id: 'any' })] }, defaults));
    expect(unresolved.field).toBe('appointments[0].staff_id');
    expect(unresolved.message).toMatch(/resolved to a free master/);
    expect(refusal(() => validateResolvedTimesQuery({ staff_id: 'any', date: '2026-12-03' }, defaults)).field).toBe('staff_id');
    expect(refusal(() => validateResolvedRecordRequest(record({ appointments: [appointment({ staff_id: 'any' })] }), defaults)).field).toBe('appointments[0].staff_id');
  });

  it('refuses every text that is not a canonical positive integer as a master id (property)', () => {
    fc.assert(
      fc.property(
        fc.string().filter((text) => text !== 'any' && !/^[1-9]\d{0,15}$/.test(text)),
        (text) => refusal(() => validateTimesQuery({ staff_id: text, date: '2026-12-03' }, defaults)).field === 'staff_id',
      ),
    );
  });

  it('takes real YYYY-MM-DD dates only', () => {
    expect(validateTimesQuery({ staff_id: 1, date: '2028-02-29' }, defaults).date).toBe('2028-02-29');
    for (const date of ['2026-02-29', '2026-13-01', '2026-12-32', '2026-1-3', '03.12.2026', '2026-12-03T10:00:00+03:00', 20261203]) {
      const error = refusal(() => validateTimesQuery({ staff_id: 1, date }, defaults));
      expect(error.field).toBe('date');
    }
    expect(refusal(() => validateTimesQuery({ staff_id: 1 }, defaults)).message).toBe('date is missing: a date (YYYY-MM-DD)');
  });

  it('takes datetimes with an explicit offset only: the company\'s time zone must be explicit', () => {
    for (const datetime of ['2026-12-03T18:00:00+03:00', '2026-12-03T18:00+03:00', '2026-12-03T15:00:00Z', '2026-12-03T18:00:00.000-05:00']) {
      expect(validateCheckRequest({ appointments: [appointment({ datetime })] }, defaults).appointments[0]?.datetime).toBe(datetime);
    }
    const naked = refusal(() => validateCheckRequest({ appointments: [appointment({ datetime: '2026-12-03T18:00:00' })] }, defaults));
    expect(naked.field).toBe('appointments[0].datetime');
    expect(naked.message).toMatch(/offset/);
    for (const datetime of ['2026-12-03 18:00:00+03:00', '2026-12-03T24:00:00+03:00', '2026-02-30T10:00:00+03:00', '2026-12-03T18:61:00+03:00', '2026-12-03T18:00:00+15:00', 'tomorrow', 1764770400000]) {
      expect(refusal(() => validateServicesQuery({ datetime }, defaults)).field).toBe('datetime');
    }
  });

  it('takes services as non-empty lists of positive integers', () => {
    expect(validateCheckRequest({ appointments: [appointment({ services: [331, '332'] })] }, defaults).appointments[0]?.services).toEqual([331, 332]);
    expect(refusal(() => validateCheckRequest({ appointments: [appointment({ services: [] })] }, defaults)).field).toBe('appointments[0].services');
    expect(refusal(() => validateCheckRequest({ appointments: [appointment({ services: 331 })] }, defaults)).field).toBe('appointments[0].services');
    expect(refusal(() => validateCheckRequest({ appointments: [appointment({ services: [331, 0] })] }, defaults)).field).toBe('appointments[0].services[1]');
    expect(refusal(() => validateCheckRequest({ appointments: [appointment({ services: ['x'] })] }, defaults)).field).toBe('appointments[0].services[0]');
    // As a filter, a query string's "1,2" is a list too, and an empty one is no filter.
    expect(validateStaffQuery({ service_ids: '331, 332' }, defaults).service_ids).toEqual([331, 332]);
    expect(validateStaffQuery({ service_ids: [] }, defaults)).toEqual({ company_id: 4564 });
    expect(refusal(() => validateDatesQuery({ service_ids: '331,abc' }, defaults)).field).toBe('service_ids[1]');
  });

  it('takes appointment ids as unique non-negative integers', () => {
    expect(validateCheckRequest({ appointments: [appointment({ id: 0 })] }, defaults).appointments[0]?.id).toBe(0);
    expect(refusal(() => validateCheckRequest({ appointments: [appointment({ id: -1 })] }, defaults)).field).toBe('appointments[0].id');
    expect(refusal(() => validateCheckRequest({ appointments: [appointment({ id: 1.5 })] }, defaults)).field).toBe('appointments[0].id');
    expect(refusal(() => validateCheckRequest({ appointments: [appointment({ id: undefined })] }, defaults)).field).toBe('appointments[0].id');
    const repeated = refusal(() => validateCheckRequest({ appointments: [appointment(), appointment({ datetime: '2026-12-03T19:00:00+03:00' })] }, defaults));
    expect(repeated.field).toBe('appointments[1].id');
    expect(repeated.message).toMatch(/unique/);
    expect(refusal(() => validateCheckRequest({ appointments: [] }, defaults)).field).toBe('appointments');
    expect(refusal(() => validateCheckRequest({}, defaults)).field).toBe('appointments');
    expect(refusal(() => validateCheckRequest({ appointments: ['x'] }, defaults)).field).toBe('appointments[0]');
  });

  it('normalises the phone as the batcher does, and needs a name', () => {
    const valid = validateRecordRequest(record({ fullname: '  Anna  ', email: ' anna@example.com ', comment: 'fringe' }), defaults);
    expect(valid).toMatchObject({ company_id: 4564, phone: '79163779444', fullname: 'Anna', email: 'anna@example.com', comment: 'fringe' });
    expect(validateClientQuery({ phone: '79163779444@s.whatsapp.net' }, defaults).phone).toBe('79163779444');
    expect(refusal(() => validateRecordRequest(record({ phone: 'call me' }), defaults)).field).toBe('phone');
    expect(refusal(() => validateRecordRequest(record({ phone: '0916377944' }), defaults)).field).toBe('phone');
    expect(refusal(() => validateRecordRequest(record({ phone: undefined }), defaults)).message).toBe("phone is missing: the client's phone");
    expect(refusal(() => validateRecordRequest(record({ fullname: '   ' }), defaults)).field).toBe('fullname');
    expect(refusal(() => validateRecordRequest(record({ fullname: undefined }), defaults)).field).toBe('fullname');
    expect(refusal(() => validateRecordRequest(record({ email: 'not an address' }), defaults)).field).toBe('email');
    // An empty email is no email.
    expect(validateRecordRequest(record({ email: '' }), defaults)).not.toHaveProperty('email');
  });

  it('defaults company_id, and refuses a bad one or none at all', () => {
    expect(validateServicesQuery({}, defaults).company_id).toBe(4564);
    expect(validateServicesQuery({ company_id: 4565 }, defaults).company_id).toBe(4565);
    expect(validateServicesQuery({ company_id: '4565' }, {}).company_id).toBe(4565);
    const none = refusal(() => validateServicesQuery({}, {}));
    expect(none.field).toBe('company_id');
    expect(none.message).toMatch(/YCLIENTS_COMPANY_ID/);
    for (const company_id of [0, -4, 'abc', 4.5]) expect(refusal(() => validateServicesQuery({ company_id }, defaults)).field).toBe('company_id');
  });

  it('takes api_id as 1 to 64 characters of [A-Za-z0-9:_-]', () => {
    expect(validateRecordRequest(record({ api_id: 'batch:default:79163779444:1764770400000-0_a' }), defaults).api_id).toBe('batch:default:79163779444:1764770400000-0_a');
    expect(validateRecordRequest(record({ api_id: 'x'.repeat(64) }), defaults).api_id).toHaveLength(64);
    for (const api_id of ['', 'x'.repeat(65), 'a b', 'a/b', 'заказ', 42]) expect(refusal(() => validateRecordRequest(record({ api_id }), defaults)).field).toBe('api_id');
  });

  it('validates the other requests the same way', () => {
    expect(validateRescheduleRequest({ record_id: '2820023', datetime: '2026-12-04T12:00:00+03:00' }, defaults)).toEqual({ company_id: 4564, record_id: 2820023, datetime: '2026-12-04T12:00:00+03:00' });
    expect(refusal(() => validateRescheduleRequest({ record_id: 0, datetime: '2026-12-04T12:00:00+03:00' }, defaults)).field).toBe('record_id');
    expect(refusal(() => validateRescheduleRequest({ record_id: 1, datetime: '2026-12-04T12:00:00' }, defaults)).field).toBe('datetime');
    expect(refusal(() => validateCancelRequest({ record_id: 'last' }, defaults)).field).toBe('record_id');
    expect(validateRecordsLookup({ api_id: 'b:1', datetime: '2026-12-03T18:00:00+03:00' }, defaults)).toEqual({ company_id: 4564, api_id: 'b:1', date: '2026-12-03', datetime: '2026-12-03T18:00:00+03:00' });
    expect(refusal(() => validateRecordsLookup({ api_id: 'b:1' }, defaults)).field).toBe('date');
    expect(refusal(() => validateStaffQuery('services please', defaults)).field).toBe('request');
    expect(refusal(() => validateRecordRequest(record({ code: 'abc' }), defaults)).field).toBe('code');
  });
});
