import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import type { RuntimeEvents } from '../../src/events/runtime-events.js';
import type { CheckReport, HealthChecks } from '../../src/health/health-checks.js';
import type { RecordRequest } from './booking-api.js';
import { bookingErrorView } from './booking-outcome.js';
import type { BookingService, BookingStatus } from './booking-service.js';

export type BookingMessage =
  /** A handler's `book` action, from the pipeline: booked in the background, its outcome published. */
  | { readonly type: 'book'; readonly request: Readonly<Record<string, unknown>>; readonly batchId: string; readonly index?: number }
  | { readonly type: 'status' }
  | { readonly type: 'refresh' };

export const BOOKING_CHECK = 'booking';

export interface BookingActorOptions {
  readonly service: BookingService;
  readonly checks: HealthChecks;
  readonly events: RuntimeEvents;
  /** How often the check and the tree detail are refreshed (the breaker also reports at once). */
  readonly refreshMs: number;
}

/** `booking`: ok while the breaker is closed, warn while a probe is allowed, critical while it is open. */
export function classifyBooking(status: BookingStatus, at: number): CheckReport {
  const { breaker } = status;
  const state = breaker.state;
  const message =
    state === 'closed'
      ? `YClients answering; ${status.queue.waiting} waiting for the rate limit`
      : state === 'open'
        ? `YClients failing: the breaker is open after ${breaker.consecutiveFailures} failures in a row; calls fail fast until ${breaker.halfOpenAt === null ? 'the cool-down ends' : new Date(breaker.halfOpenAt).toISOString()}`
        : 'YClients failed; one probe decides whether the breaker closes';
  return {
    status: state === 'closed' ? 'ok' : state === 'open' ? 'critical' : 'warn',
    message,
    at: new Date(at).toISOString(),
    data: { breaker: state, consecutiveFailures: breaker.consecutiveFailures, waiting: status.queue.waiting, ok: status.requests.ok, failed: status.requests.failed, fastFailed: status.requests.fast_failed },
  };
}

/**
 * `/booking`: owns the YClients client (one undici pool, opened at start, closed at stop) that
 * the booking service sends through, reports the `booking` check and its detail, and books for
 * the pipeline's `book` actions. Calls never wait in this mailbox: a booking takes seconds
 * behind the rate limit, and the HTTP routes and handlers call the service directly, sharing
 * its one limiter, one breaker and one validation.
 */
export function bookingActor(options: BookingActorOptions): Behaviour<BookingMessage, BookingStatus | undefined> {
  const { service } = options;
  let unsubscribe: (() => void) | undefined;
  const refresh = (ctx: ActorContext<BookingMessage>): BookingStatus => {
    const status = service.status();
    options.checks.report(BOOKING_CHECK, classifyBooking(status, ctx.clock.now()));
    ctx.setDetail({ breaker: status.breaker.state, consecutiveFailures: status.breaker.consecutiveFailures, waiting: status.queue.waiting, requests: status.requests, cached: status.cached });
    return status;
  };
  return {
    start(ctx) {
      service.open();
      unsubscribe = service.onBreakerChange(() => ctx.self.tell({ type: 'refresh' }));
      ctx.timers.every('refresh', options.refreshMs, { type: 'refresh' });
      refresh(ctx);
    },
    receive(message, ctx) {
      switch (message.type) {
        case 'status':
        case 'refresh':
          return refresh(ctx);
        case 'book': {
          const { batchId } = message;
          const request = message.request as unknown as RecordRequest;
          // api_id from the batch: a redelivered batch finds the record it made instead of making another.
          const apiId = request.api_id ?? `batch-${batchId}-${message.index ?? 0}`.slice(0, 64);
          void service.book({ ...request, api_id: apiId }).then(
            (booked) => {
              options.events.publish({ type: 'booking', at: ctx.clock.now(), batchId, apiId, outcome: booked.existing ? 'existing' : 'booked', recordIds: booked.records.map((record) => record.record_id), code: null, message: null });
              ctx.log.info({ batchId, apiId, records: booked.records.map((record) => record.record_id), existing: booked.existing }, 'booked');
            },
            (error: unknown) => {
              const view = bookingErrorView(error);
              options.events.publish({ type: 'booking', at: ctx.clock.now(), batchId, apiId, outcome: 'failed', recordIds: [], code: view.code, message: view.message });
              ctx.log.warn({ batchId, apiId, code: view.code, field: view.field }, `booking failed: ${view.message}`);
            },
          );
          return undefined;
        }
      }
    },
    async stop() {
      unsubscribe?.();
      options.checks.remove(BOOKING_CHECK);
      await service.close();
    },
  };
}
