/**
 * The booking service as the runtime composes it (one limiter, one breaker, the real undici
 * YClients client) against the local YClients server of test/support/yclients-server.ts.
 */
import { pino } from 'pino';
import { poolSize } from '../../actors/booking/booking-feature.js';
import { BookingService } from '../../actors/booking/booking-service.js';
import { YClientsClient } from '../../actors/booking/yclients-client.js';
import { systemClock } from '../../src/clock.js';
import { testSalon, YClientsServer, type Salon } from '../../test/support/yclients-server.js';

export interface BookingRig {
  readonly server: YClientsServer;
  readonly service: BookingService;
  close(): Promise<void>;
}

/** The days the test salon works (1-7 December 2026). */
export const SALON_DAYS: readonly string[] = ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06', '2026-12-07'];

/** The headers the YClients client sends, for a bare undici yardstick against the same server. */
export function yclientsHeaders(server: YClientsServer): Record<string, string> {
  return { accept: 'application/vnd.yclients.v2+json', authorization: `Bearer ${server.partnerToken}, User ${server.userToken}`, 'content-type': 'application/json' };
}

/** A salon with `masters` masters working 1-7 December, 10:00-20:00, so bookings need not collide. */
export function bigSalon(masters: number): Salon {
  const base = testSalon();
  return {
    ...base,
    staff: Array.from({ length: masters }, (_, i) => ({ id: 9000 + i, company_id: 4564, name: `Master ${i}`, specialization: 'stylist', service_ids: [331], dates: [...SALON_DAYS], from: '10:00', to: '20:00' })),
  };
}

export interface BookingRigOptions {
  /** The service's limits (YCLIENTS_RATE_PER_SECOND / _PER_MINUTE). */
  readonly perSecond: number;
  readonly perMinute: number;
  /** The server's, when they differ from the service's (a yardstick sharing the token must not be counted against ours). */
  readonly server?: { readonly perSecond: number; readonly perMinute: number };
  readonly timeoutMs?: number;
  readonly salon?: Salon;
  readonly cacheTtlMs?: number;
  readonly queueMax?: number;
}

export async function startBookingRig(options: BookingRigOptions): Promise<BookingRig> {
  const limits = options.server ?? options;
  const server = new YClientsServer({ perSecond: limits.perSecond, perMinute: limits.perMinute, ...(options.salon ? { salon: options.salon } : {}) });
  await server.listen();
  const clock = systemClock();
  const service = new BookingService({
    clock,
    companyId: 4564,
    ratePerSecond: options.perSecond,
    ratePerMinute: options.perMinute,
    queueMax: options.queueMax ?? 100_000,
    queueTimeoutMs: 3_600_000,
    breakerFailures: 1_000_000,
    breakerCooldownMs: 1_000,
    cacheTtlMs: options.cacheTtlMs ?? 0,
    createClient: (beforeRequest) =>
      new YClientsClient({ baseUrl: server.url, partnerToken: server.partnerToken, userToken: server.userToken, companyId: 4564, timeoutMs: options.timeoutMs ?? 10_000, connections: poolSize(Math.min(options.perSecond, 1_000), options.timeoutMs ?? 10_000), beforeRequest, logger: pino({ level: 'silent' }) }),
  });
  service.open();
  return {
    server,
    service,
    async close() {
      await service.close();
      await server.close();
    },
  };
}

/**
 * Runs the client's and the server's code once in this process before anything is measured:
 * cold, the first requests reach the in-process server up to 30 ms after undici wrote them
 * (compiling its handlers on the one event loop), and a request that late lands inside the
 * window of one sent a second after it. A throwaway server, so no measured count sees these.
 */
export async function warmUpBooking(): Promise<void> {
  const rig = await startBookingRig({ perSecond: 1_000, perMinute: 60_000, salon: bigSalon(2) });
  try {
    await Promise.all(Array.from({ length: 300 }, (_, i) => rig.service.times({ staff_id: 9000 + (i % 2), date: SALON_DAYS[i % SALON_DAYS.length]!, service_ids: [331] })));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => rig.service.book({ phone: `+7916${2_000_000 + i}`, fullname: `Warm ${i}`, api_id: `warm-${i}`, appointments: [{ id: 0, services: [331], staff_id: 9000 + (i % 2), datetime: `2026-12-0${1 + (Math.floor(i / 2) % 7)}T${10 + Math.floor(i / 14)}:00:00+03:00` }] })),
    );
  } finally {
    await rig.close();
  }
}
