import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { autoRetry } from '@grammyjs/auto-retry';
import { Api, GrammyError, HttpError } from 'grammy';
import { systemClock, type Clock, type TimerHandle } from '../../../src/clock.js';
import type { AlertNotification } from '../alert.js';
import type { ChannelTransport, SendOutcome } from './channel.js';
import { renderTelegram } from './telegram-format.js';

export const TELEGRAM_API_ROOT = 'https://api.telegram.org';

export interface TelegramTransportOptions {
  /** ALERT_TELEGRAM_BOT_TOKEN. Never appears in an outcome's `error`. */
  readonly botToken: string;
  /** ALERT_TELEGRAM_CHAT_ID: every part of every notification goes to each of them. */
  readonly chatIds: readonly string[];
  /** TELEGRAM_API_ROOT, without a trailing '/'; tests point it at a local server. */
  readonly apiRoot?: string;
  /** The channel's name: its check is `alert-channel:<name>`. Default `telegram`. */
  readonly name?: string;
  /** One request's budget (grammY's `timeoutSeconds`); default 10 s. A hung Bot API is then a retry. */
  readonly requestTimeoutMs?: number;
  /** The least time between two messages to one chat; default 1000 (Telegram allows about one a second per chat). */
  readonly perChatIntervalMs?: number;
  /** Where the pacing waits; default the system clock. */
  readonly clock?: Clock;
  /**
   * The longest `retry_after` that auto-retry waits out inside one attempt (seconds, default 3).
   * A longer one ends the attempt as `retry` with `afterMs`, so the channel actor waits on its
   * own clock and keeps answering, instead of a request blocking for minutes.
   */
  readonly autoRetryMaxDelaySeconds?: number;
}

/** How far one notification got: which (chat, part) Telegram took, and which chats refused it for good. */
interface Progress {
  readonly parts: readonly string[];
  readonly taken: Set<string>;
  readonly refused: Map<string, string>;
}

/**
 * Notifications whose progress is remembered between attempts. The channel actor retries one
 * notification at a time, so a few would do; the margin covers a restarted actor's abandoned ones.
 */
const MAX_REMEMBERED = 64;

/**
 * The Telegram channel through grammY's `Api` (no `Bot`: nothing here polls). A notification
 * is rendered as HTML (telegram-format.ts), split at 4096 characters, and each part sent to
 * each chat in order, paced to one message per chat per `perChatIntervalMs`. The (chat, part)
 * pairs Telegram took are remembered per notification id, so a retry sends only the rest:
 * one chat failing never makes another chat see a part twice.
 *
 * Outcomes: a 429 is `retry` after its `retry_after`; a 5xx, a network error or a timeout is
 * `retry`; any other 4xx is `rejected` for that chat (the other chats still get it). Errors are
 * scrubbed of the bot token, which grammY's and node-fetch's messages can carry in the URL.
 */
export function telegramTransport(options: TelegramTransportOptions): ChannelTransport {
  const apiRoot = (options.apiRoot ?? TELEGRAM_API_ROOT).replace(/\/+$/, '');
  const clock = options.clock ?? systemClock();
  const intervalMs = options.perChatIntervalMs ?? 1_000;
  const timeoutSeconds = (options.requestTimeoutMs ?? 10_000) / 1_000;
  const maxDelaySeconds = options.autoRetryMaxDelaySeconds ?? 3;
  const scrub = tokenScrubber(options.botToken);
  const progress = new Map<string, Progress>();
  const lastSentAt = new Map<string, number>();
  let connection: { api: Api; agent: HttpAgent } | undefined;

  function api(): Api {
    if (connection) return connection.api;
    // Our own keep-alive agent (grammY would share a module-wide one), so `close` can let its sockets go.
    const agent = apiRoot.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    // grammY runs on node-fetch, which takes `agent`; its types describe the web fetch, which does not.
    const baseFetchConfig = { agent, duplex: 'half' as const };
    const client = new Api(options.botToken, { apiRoot, timeoutSeconds, baseFetchConfig });
    client.config.use(
      autoRetry({
        // One quick second try for a short retry_after; anything longer, and every 5xx or network
        // error, comes back to the channel actor, whose backoff runs on the injected clock and can
        // be aborted. (auto-retry would retry network errors for ever, which would hang a send.)
        maxRetryAttempts: 1,
        maxDelaySeconds,
        rethrowInternalServerErrors: true,
        rethrowHttpErrors: true,
      }),
    );
    connection = { api: client, agent };
    return client;
  }

  function progressOf(notification: AlertNotification): Progress {
    let entry = progress.get(notification.id);
    if (!entry) {
      entry = { parts: renderTelegram(notification), taken: new Set(), refused: new Map() };
      progress.set(notification.id, entry);
      if (progress.size > MAX_REMEMBERED) progress.delete(progress.keys().next().value as string);
    }
    return entry;
  }

  async function sendPart(chatId: string, text: string, signal: AbortSignal): Promise<SendOutcome> {
    lastSentAt.set(chatId, clock.now());
    try {
      // grammY types its signal as the abort-controller polyfill's; Node's own is what it uses at run time.
      const grammySignal = signal as unknown as Parameters<Api['sendMessage']>[3];
      await api().sendMessage(chatId, text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true } }, grammySignal);
      return { kind: 'sent' };
    } catch (error) {
      return classify(error, scrub);
    }
  }

  return {
    name: options.name ?? 'telegram',
    async send(notification, signal) {
      const entry = progressOf(notification);
      for (let index = 0; index < entry.parts.length; index++) {
        const text = entry.parts[index] as string;
        for (const chatId of options.chatIds) {
          const key = `${chatId}\u0000${index}`;
          if (entry.taken.has(key) || entry.refused.has(chatId)) continue;
          const last = lastSentAt.get(chatId);
          if (last !== undefined && !(await sleep(clock, last + intervalMs - clock.now(), signal))) return aborted();
          if (signal.aborted) return aborted();
          const outcome = await sendPart(chatId, text, signal);
          if (outcome.kind === 'sent') entry.taken.add(key);
          else if (outcome.kind === 'rejected') entry.refused.set(chatId, outcome.error);
          else return signal.aborted ? aborted() : outcome;
        }
      }
      progress.delete(notification.id);
      if (entry.refused.size === 0) return { kind: 'sent' };
      const refusals = [...entry.refused].map(([chatId, error]) => `chat ${chatId}: ${error}`).join('; ');
      const delivered = options.chatIds.filter((chatId) => !entry.refused.has(chatId));
      return { kind: 'rejected', error: `${refusals}${delivered.length > 0 ? ` (delivered to ${delivered.join(', ')})` : ''}` };
    },
    async close() {
      connection?.agent.destroy();
      connection = undefined;
    },
  };
}

function aborted(): SendOutcome {
  return { kind: 'retry', error: 'aborted' };
}

/** Classifies what grammY threw: Telegram's answer (GrammyError) or a failed request (HttpError, a timeout). */
function classify(error: unknown, scrub: (text: string) => string): SendOutcome {
  if (error instanceof GrammyError) {
    let text = `Telegram answered ${error.error_code}: ${error.description}`;
    if (error.parameters.migrate_to_chat_id !== undefined) text += ` (the group is now chat ${error.parameters.migrate_to_chat_id}: update ALERT_TELEGRAM_CHAT_ID)`;
    text = scrub(text);
    if (error.error_code === 429) {
      const seconds = error.parameters.retry_after;
      return typeof seconds === 'number' && seconds >= 0 ? { kind: 'retry', error: text, afterMs: seconds * 1_000 } : { kind: 'retry', error: text };
    }
    if (error.error_code >= 500) return { kind: 'retry', error: text };
    return { kind: 'rejected', error: text };
  }
  if (error instanceof HttpError) {
    // grammY's own message is token-free; the underlying one (node-fetch's FetchError) names the URL.
    const cause = error.error instanceof Error ? error.error.message : undefined;
    return { kind: 'retry', error: scrub(cause ? `${error.message} ${cause}` : error.message) };
  }
  return { kind: 'retry', error: scrub(error instanceof Error ? `${error.name}: ${error.message}` : String(error)) };
}

/** Replaces the bot token, and anything shaped like a bot token (`123456:AA…`, another bot's), wherever it shows up. */
export function tokenScrubber(token: string): (text: string) => string {
  return (text) => {
    const out = token.length > 0 ? text.split(token).join('<token>') : text;
    return out.replace(/\d{3,}:[A-Za-z0-9_-]{20,}/g, '<token>');
  };
}

/** Waits `ms` on `clock`; false if `signal` aborted first. */
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    let handle: TimerHandle | undefined = undefined;
    const onAbort = () => {
      if (handle) clock.clearTimeout(handle);
      resolve(false);
    };
    handle = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
