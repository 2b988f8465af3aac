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

/** A salon with `masters` masters working 1-7 December, 10:00-20:00, so bookings need not collide. */
export function bigSalon(masters: number): Salon {
  const base = testSalon();
  const december = ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06', '2026-12-07'];
  return {
    ...base,
    staff: Array.from({ length: masters }, (_, i) => ({ id: 9000 + i, company_id: 4564, name: `Master ${i}`, specialization: 'stylist', service_ids: [331], dates: december, from: '10:00', to: '20:00' })),
  };
}

export async function startBookingRig(options: { perSecond: number; perMinute: number; timeoutMs?: number; salon?: Salon; cacheTtlMs?: number; queueMax?: number }): Promise<BookingRig> {
  const server = new YClientsServer({ perSecond: options.perSecond, perMinute: options.perMinute, ...(options.salon ? { salon: options.salon } : {}) });
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
