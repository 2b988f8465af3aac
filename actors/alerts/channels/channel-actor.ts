import type { ActorContext, Behaviour } from '../../../src/actor/behaviour.js';
import { RingQueue } from '../../../src/actor/ring-queue.js';
import type { CheckReport, CheckStatus, HealthChecks } from '../../../src/health/health-checks.js';
import type { AlertNotification } from '../alert.js';
import {
  channelCheckName,
  type ChannelMessage,
  type ChannelStatus,
  type ChannelTransport,
  type NotificationOutcome,
  type SendOutcome,
} from './channel.js';

/** Failed attempts in a row after which a channel counts as down (its check goes critical). */
export const DEFAULT_CHANNEL_DOWN_AFTER = 3;

export interface ChannelRetryOptions {
  /** The wait after the first failed attempt; it doubles per failure in a row, up to `maxMs`. */
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface ChannelActorOptions {
  /** How the channel reaches its service. The actor closes it when it stops; a restart sends through it again. */
  readonly transport: ChannelTransport;
  /** ALERT_CHANNEL_QUEUE_MAX: notifications that wait behind the one in hand; past it the oldest is dropped. */
  readonly queueMax: number;
  readonly retry: ChannelRetryOptions;
  /** Consecutive failed attempts after which the channel is down; default 3. */
  readonly downAfter?: number;
  readonly checks: HealthChecks;
  /** Told of every outcome, for `runtime_alert_notifications_total{channel,outcome}`. */
  readonly onOutcome?: (outcome: NotificationOutcome) => void;
}

/** The wait before attempt `failures + 1`: min(initial * 2^(failures-1), max). */
export function channelBackoffMs(failures: number, retry: ChannelRetryOptions): number {
  return Math.min(retry.initialMs * 2 ** Math.max(0, failures - 1), retry.maxMs);
}

interface InFlight {
  /** Identity of this attempt: the answer of an aborted or superseded attempt is ignored. */
  readonly attempt: object;
  readonly controller: AbortController;
}

type State = ChannelStatus['state'];

/**
 * `/alerts/<channel>`: one alert channel (Telegram, n8n) as its own actor, so a dead service
 * is this actor's state and never the notifier's or the other channel's problem.
 *
 * Notifications wait in a bounded FIFO and go out one at a time, in order. A failed attempt
 * (`retry`) is tried again, the same notification, after the longer of the service's own
 * wait (`retry_after`, `Retry-After`) and an exponential backoff on the actor's clock, so
 * nothing is lost while the service is away; a refusal (`rejected`) is logged, counted and
 * passed over. Sends run outside `receive`, so a hung request never stops the actor from
 * answering `status`, and nothing here throws: failures are counted states.
 */
export function channelActor(options: ChannelActorOptions): Behaviour<ChannelMessage, ChannelStatus | undefined> {
  const { transport, checks, retry } = options;
  const downAfter = options.downAfter ?? DEFAULT_CHANNEL_DOWN_AFTER;
  const queueMax = Math.max(1, options.queueMax);
  const checkName = channelCheckName(transport.name);
  const queue = new RingQueue<AlertNotification>();

  /** The notification being sent or waiting for its retry; it left `queue` and is not counted in `queued`. */
  let current: AlertNotification | undefined;
  let inFlight: InFlight | undefined;
  let state: State = 'ok';
  let sent = 0;
  let retried = 0;
  let rejected = 0;
  let dropped = 0;
  let consecutiveFailures = 0;
  let lastError: string | null = null;
  /** Set by a refusal, cleared by the next delivery: a channel refusing everything (a revoked bot token) must not look healthy. */
  let lastRejection: string | null = null;
  let nextAttemptAt: number | null = null;
  /** Drops since the queue last overflowed: logged once when a burst starts and summed up when it ends. */
  let dropBurst = 0;
  let reported: string | undefined;

  const status = (): ChannelStatus => ({
    channel: transport.name,
    state,
    queued: queue.length,
    sent,
    retried,
    rejected,
    dropped,
    consecutiveFailures,
    lastError,
    nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt).toISOString(),
  });

  const outcome = (kind: NotificationOutcome): void => {
    try {
      options.onOutcome?.(kind);
    } catch {
      // A metrics callback that throws must not wedge the channel: delivery matters more than the count.
    }
  };

  function checkReport(now: number): CheckReport {
    let checkStatus: CheckStatus = 'ok';
    let message = queue.length > 0 || current ? `sending (${queue.length} waiting)` : 'idle';
    if (state === 'down') {
      checkStatus = 'critical';
      message = `down: ${consecutiveFailures} failed attempts in a row, ${queue.length + 1} notifications waiting; last error: ${lastError ?? 'unknown'}`;
    } else if (state === 'retrying') {
      checkStatus = 'warn';
      message = `retrying after ${consecutiveFailures} failed attempt${consecutiveFailures === 1 ? '' : 's'}: ${lastError ?? 'unknown'}`;
    } else if (lastRejection !== null) {
      checkStatus = 'warn';
      message = `the last notification was refused (not retried): ${lastRejection}`;
    }
    return {
      status: checkStatus,
      message,
      at: new Date(now).toISOString(),
      data: { state, queued: queue.length, sent, retried, rejected, dropped, consecutiveFailures },
    };
  }

  function publish(ctx: ActorContext<ChannelMessage>): void {
    const report = checkReport(ctx.clock.now());
    // Only a change is reported: the check's history keeps every result, and a `status` ask is not news.
    const key = JSON.stringify([report.status, report.message, report.data]);
    if (key !== reported) {
      checks.report(checkName, report);
      reported = key;
    }
    ctx.setDetail({ ...status() });
  }

  function enqueue(notification: AlertNotification, ctx: ActorContext<ChannelMessage>): void {
    if (queue.length >= queueMax) {
      const oldest = queue.shift();
      dropped++;
      outcome('dropped');
      if (dropBurst++ === 0) {
        ctx.log.warn(
          { channel: transport.name, queueMax, droppedGroupKey: oldest?.groupKey },
          'alert channel queue is full: dropping the oldest notifications until it drains',
        );
      }
    }
    queue.push(notification);
  }

  function attempt(ctx: ActorContext<ChannelMessage>): void {
    if (!current) {
      current = queue.shift();
      if (!current) {
        state = 'ok';
        return;
      }
    }
    // A retry keeps the channel's failing state until it succeeds, so the check does not flap to ok per attempt.
    if (consecutiveFailures === 0) state = 'sending';
    nextAttemptAt = null;
    const flight: InFlight = { attempt: {}, controller: new AbortController() };
    inFlight = flight;
    let sending: Promise<SendOutcome>;
    try {
      sending = transport.send(current, flight.controller.signal);
    } catch (error) {
      sending = Promise.resolve(thrownOutcome(error));
    }
    void sending
      .catch(thrownOutcome)
      .then((result) => {
        const message: ChannelMessage = { type: 'attempt-settled', attempt: flight.attempt, outcome: result };
        // A full mailbox refuses tells; a timer tick bypasses its capacity, and a lost answer would wedge the channel.
        if (!ctx.self.tell(message)) ctx.timers.once('settled', 0, message);
      });
  }

  function settled(result: SendOutcome, ctx: ActorContext<ChannelMessage>): void {
    const notification = current;
    inFlight = undefined;
    if (!notification) return;
    if (result.kind === 'retry') {
      retried++;
      consecutiveFailures++;
      lastError = result.error;
      outcome('retried');
      const delayMs = Math.max(result.afterMs ?? 0, channelBackoffMs(consecutiveFailures, retry));
      nextAttemptAt = ctx.clock.now() + delayMs;
      const wasDown = state === 'down';
      state = consecutiveFailures >= downAfter ? 'down' : 'retrying';
      const fields = { channel: transport.name, error: result.error, attempts: consecutiveFailures, retryInMs: delayMs, queued: queue.length };
      if (consecutiveFailures === 1) ctx.log.warn(fields, 'alert channel could not send a notification; retrying');
      else if (state === 'down' && !wasDown) ctx.log.error(fields, 'alert channel is down; notifications wait in its queue');
      else ctx.log.debug(fields, 'alert channel still failing');
      ctx.timers.once('retry', delayMs, { type: 'retry-due' });
      return;
    }
    current = undefined;
    if (result.kind === 'sent') {
      sent++;
      outcome('sent');
      lastRejection = null;
      if (consecutiveFailures > 0) ctx.log.info({ channel: transport.name, failedAttempts: consecutiveFailures }, 'alert channel is delivering again');
      if (dropBurst > 0) {
        ctx.log.warn({ channel: transport.name, dropped: dropBurst, queueMax }, 'alert channel dropped notifications while its queue was full');
        dropBurst = 0;
      }
    } else {
      rejected++;
      outcome('rejected');
      lastError = result.error;
      lastRejection = result.error;
      ctx.log.warn(
        { channel: transport.name, error: result.error, groupKey: notification.groupKey, notificationId: notification.id },
        'alert channel refused a notification for good; not retried',
      );
    }
    consecutiveFailures = 0;
    state = 'ok';
    attempt(ctx);
  }

  return {
    start(ctx) {
      publish(ctx);
    },
    receive(message, ctx) {
      switch (message.type) {
        case 'status':
          return status();
        case 'notify':
          enqueue(message.notification, ctx);
          if (!current) attempt(ctx);
          break;
        case 'attempt-settled':
          if (inFlight?.attempt !== message.attempt) return undefined;
          settled(message.outcome, ctx);
          break;
        case 'retry-due':
          if (current && !inFlight) attempt(ctx);
          break;
      }
      publish(ctx);
      return undefined;
    },
    async stop(ctx) {
      inFlight?.controller.abort();
      inFlight = undefined;
      const unsent = queue.length + (current ? 1 : 0);
      if (unsent > 0) ctx.log.warn({ channel: transport.name, unsent }, 'alert channel stopping with notifications not sent');
      checks.remove(checkName);
      try {
        await transport.close?.();
      } catch (error) {
        ctx.log.debug({ channel: transport.name, err: error }, 'alert channel transport did not close cleanly');
      }
    },
  };
}

/** A transport must answer with an outcome; one that throws anyway is treated as a failure worth retrying. */
function thrownOutcome(error: unknown): SendOutcome {
  const name = error instanceof Error ? error.name : typeof error;
  return { kind: 'retry', error: `the transport threw (${name}) instead of answering` };
}
