import type { Feature, FeatureContext } from '../../src/feature.js';
import { TREE } from '../../src/tree-paths.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import { childId } from '../../supervisor/tree-node.js';
import type { BookingOperations } from './booking-api.js';
import { bookingActor } from './booking-actor.js';
import { BookingService, type RequestObserver } from './booking-service.js';
import { YClientsClient } from './yclients-client.js';

export interface BookingOffers {
  /** The typed operations (HTTP routes, handlers' `context.booking`); undefined without YCLIENTS_PARTNER_TOKEN. */
  readonly operations: BookingOperations | undefined;
  readonly service: BookingService | undefined;
  /** Metrics register here for every operation's outcome and duration. */
  observe(observer: RequestObserver): void;
}

/** How often /booking refreshes its check and detail (the breaker also reports at once). */
const REFRESH_MS = 5_000;

/**
 * `/booking` (actors/booking): with YCLIENTS_PARTNER_TOKEN, one actor owning the YClients
 * client and one booking service over it (one rate limiter, one breaker, one validation) that
 * every consumer shares; without it, no child at all, said once at start.
 */
export function bookingFeature(ctx: FeatureContext): Feature<BookingOffers> {
  const settings = ctx.config.booking;
  const observers = new Set<RequestObserver>();
  const observe = (observer: RequestObserver): void => void observers.add(observer);
  if (!settings) {
    ctx.logger.info('booking is off: YCLIENTS_PARTNER_TOKEN is not set, so /booking is not in the tree and book actions are reported as no_booking');
    return { children: [], offers: { operations: undefined, service: undefined, observe } };
  }
  const service = new BookingService({
    clock: ctx.clock,
    companyId: settings.companyId,
    ratePerSecond: settings.ratePerSecond,
    ratePerMinute: settings.ratePerMinute,
    queueMax: settings.queueMax,
    queueTimeoutMs: settings.queueTimeoutMs,
    breakerFailures: settings.breakerFailures,
    breakerCooldownMs: settings.breakerCooldownMs,
    cacheTtlMs: settings.cacheTtlMs,
    createClient: (beforeRequest) =>
      new YClientsClient({
        baseUrl: settings.baseUrl,
        partnerToken: settings.partnerToken,
        userToken: settings.userToken,
        companyId: settings.companyId,
        timeoutMs: settings.timeoutMs,
        connections: poolSize(settings.ratePerSecond, settings.timeoutMs),
        logger: ctx.logger.child({ component: 'yclients' }),
        beforeRequest,
        now: () => ctx.clock.now(),
      }),
    observe: (operation, outcome, durationMs) => {
      for (const observer of observers) observer(operation, outcome, durationMs);
    },
  });
  const child: ChildSpec = {
    kind: 'actor',
    id: childId(TREE.booking),
    behaviour: local(() => bookingActor({ service, checks: ctx.checks, events: ctx.events, refreshMs: REFRESH_MS })),
  };
  return { children: [child], offers: { operations: service, service, observe } };
}

/**
 * Sockets enough that a request the limiter lets go is sent at once: with fewer, requests
 * queue in the pool behind slow or hanging ones and then leave in a clump, which is exactly
 * what the server's per-second count refuses. A request holds a socket for at most the
 * timeout, and at most `ratePerSecond` start each second.
 */
export function poolSize(ratePerSecond: number, timeoutMs: number): number {
  return Math.min(256, Math.ceil((ratePerSecond * timeoutMs) / 1_000) + 4);
}
