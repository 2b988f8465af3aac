import type { AlertNotification } from '../alert.js';

/**
 * What one delivery attempt of a notification came to, as a transport reports it:
 * - `sent`: the other side took it;
 * - `retry`: worth trying again (a 5xx, a network error, a 429), after `afterMs` if the other
 *   side said how long (Telegram's `retry_after`, a `Retry-After` header);
 * - `rejected`: the other side refused it for good (a 4xx): not retried, logged and counted.
 */
export type SendOutcome =
  | { readonly kind: 'sent' }
  | { readonly kind: 'retry'; readonly error: string; readonly afterMs?: number }
  | { readonly kind: 'rejected'; readonly error: string };

/**
 * How a channel reaches its service. One call sends one notification whole (a transport that
 * has to split it, as Telegram does past 4096 characters, sends every part before it answers;
 * the parts already taken are not sent again on a retry). It must not throw: a failure is an
 * outcome. Secrets (a bot token) never appear in `error`.
 */
export interface ChannelTransport {
  readonly name: string;
  send(notification: AlertNotification, signal: AbortSignal): Promise<SendOutcome>;
  /**
   * Lets go of connections. The channel actor calls it when it stops; a restarted actor sends
   * through the same transport again, so a send after `close` reopens what it needs.
   */
  close?(): Promise<void>;
}

/**
 * What the channel actor tells itself: an attempt that finished (sends run outside `receive`,
 * so the actor keeps answering while one hangs) and a backoff that ran out. `attempt` is the
 * identity of the attempt it answers, so the answer of an aborted attempt or of an earlier
 * incarnation is recognised and ignored. Nobody else sends these.
 */
export type ChannelSelfMessage =
  | { readonly type: 'attempt-settled'; readonly attempt: object; readonly outcome: SendOutcome }
  | { readonly type: 'retry-due' };

export type ChannelMessage =
  | { readonly type: 'notify'; readonly notification: AlertNotification }
  | { readonly type: 'status' }
  | ChannelSelfMessage;

/** A channel actor's state, as its ask `status`, the tree's detail and its check show it. */
export interface ChannelStatus {
  readonly channel: string;
  /** `ok`: nothing waiting or sending; `retrying`: a send failed and waits for its backoff; `down`: failed CHANNEL_DOWN_AFTER times in a row. */
  readonly state: 'ok' | 'sending' | 'retrying' | 'down';
  /** Waiting behind the notification in hand (the one being sent or waiting for its retry), at most ALERT_CHANNEL_QUEUE_MAX. */
  readonly queued: number;
  readonly sent: number;
  readonly retried: number;
  readonly rejected: number;
  /** Dropped because the queue was full (the oldest go first). */
  readonly dropped: number;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly nextAttemptAt: string | null;
}

/** `runtime_alert_notifications_total{channel,outcome}`. */
export type NotificationOutcome = 'sent' | 'retried' | 'rejected' | 'dropped';

/** The health check a channel reports: `alert-channel:telegram`. */
export function channelCheckName(channel: string): string {
  return `alert-channel:${channel}`;
}
