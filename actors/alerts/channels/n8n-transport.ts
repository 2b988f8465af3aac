import { Pool, type Dispatcher } from 'undici';
import { RETRY_AFTER_MAX_MS, parseRetryAfter } from '../../pipeline/retry-rule.js';
import type { AlertLabels, AlertNotification, Severity } from '../alert.js';
import type { ChannelTransport, SendOutcome } from './channel.js';

export interface N8nTransportOptions {
  /** ALERT_N8N_WEBHOOK_URL. Its query and credentials never appear in an outcome's `error`. */
  readonly webhookUrl: string;
  /** The channel's name: its check is `alert-channel:<name>`. Default `n8n`. */
  readonly name?: string;
  /** Time to the response's headers; default 10 s. */
  readonly headersTimeoutMs?: number;
  /** Time between two chunks of the response's body; default 10 s. */
  readonly bodyTimeoutMs?: number;
  /** For a Retry-After given as an HTTP date; default Date.now. */
  readonly now?: () => number;
}

/** The JSON the webhook receives (one notification, Alertmanager's webhook shape, trimmed). */
export interface N8nPayload {
  readonly status: 'firing' | 'resolved';
  readonly groupKey: string;
  readonly alerts: readonly {
    readonly fingerprint: string;
    readonly rule: string;
    readonly severity: Severity;
    readonly labels: AlertLabels;
    readonly summary: string;
    readonly startsAt: string;
    readonly endsAt: string | null;
  }[];
  readonly sentAt: string;
  /** Alert signals the group could not keep (it was at its cap): the list is not the whole story. */
  readonly omitted?: number;
}

/** Enough of an error body to say what the webhook objected to. */
const BODY_START_CHARS = 200;

/**
 * "Not now" rather than "never": timeout, conflict (the same Idempotency-Key still being
 * processed), too early, too many requests. Any other 4xx would get the same answer again.
 */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 409, 425, 429]);

export function n8nPayload(notification: AlertNotification): N8nPayload {
  return {
    status: notification.status,
    groupKey: notification.groupKey,
    alerts: notification.alerts.map((alert) => ({
      fingerprint: alert.fingerprint,
      rule: alert.rule,
      severity: alert.severity,
      labels: alert.labels,
      summary: alert.summary,
      startsAt: alert.startsAt,
      endsAt: alert.endsAt,
    })),
    sentAt: notification.sentAt,
    ...(notification.omitted ? { omitted: notification.omitted } : {}),
  };
}

/**
 * The n8n channel (any webhook): one POST per notification through an undici Pool of its own,
 * with `Idempotency-Key: <notification id>` so the retry of a request whose answer was lost
 * can be recognised on the other side. A 2xx is `sent`; 408, 409, 425, 429, a 5xx, a network
 * error or a timeout is `retry` (no sooner than a Retry-After, up to 5 minutes); any other
 * answer is `rejected` with its status and the start of its body. The body is always read to
 * the end, so the connection goes back to the pool.
 */
export function n8nTransport(options: N8nTransportOptions): ChannelTransport {
  const url = new URL(options.webhookUrl);
  const path = `${url.pathname}${url.search}`;
  const now = options.now ?? Date.now;
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const bodyTimeout = options.bodyTimeoutMs ?? 10_000;
  const redact = urlRedactor(url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  // The pool is made for the origin, which leaves credentials out: they travel as the header they stand for.
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${safeDecode(url.username)}:${safeDecode(url.password)}`).toString('base64')}`;
  }
  let pool: Pool | undefined;

  return {
    name: options.name ?? 'n8n',
    async send(notification, signal) {
      pool ??= new Pool(url.origin, { connections: 2, headersTimeout, bodyTimeout });
      let response: Dispatcher.ResponseData;
      try {
        response = await pool.request({
          path,
          method: 'POST',
          headers: { ...headers, 'idempotency-key': notification.id },
          body: JSON.stringify(n8nPayload(notification)),
          signal,
          headersTimeout,
          bodyTimeout,
        });
      } catch (error) {
        return { kind: 'retry', error: signal.aborted ? 'aborted' : `n8n webhook unreachable: ${redact(describe(error))}` };
      }
      const status = response.statusCode;
      let bodyStart: string;
      try {
        bodyStart = await readStart(response.body, BODY_START_CHARS);
      } catch (error) {
        // The answer's status counts even if its body broke off; a 2xx is still taken.
        if (status >= 200 && status < 300) return { kind: 'sent' };
        return { kind: 'retry', error: `n8n webhook answered ${status}, then its body failed: ${redact(describe(error))}` };
      }
      if (status >= 200 && status < 300) return { kind: 'sent' };
      const error = `n8n webhook answered ${status}${bodyStart ? `: ${redact(bodyStart)}` : ''}`;
      if (status >= 500 || RETRYABLE_4XX.has(status)) {
        const afterMs = parseRetryAfter(response.headers['retry-after'], now());
        return afterMs === undefined ? { kind: 'retry', error } : { kind: 'retry', error, afterMs: Math.min(afterMs, RETRY_AFTER_MAX_MS) };
      }
      return { kind: 'rejected', error };
    },
    async close() {
      const closing = pool;
      pool = undefined;
      // Destroy, not close: the actor stops after aborting its request, and nothing else is worth waiting for.
      await closing?.destroy();
    },
  };
}

/** Reads the body to its end (so the socket is reused) and keeps its first `max` characters. */
async function readStart(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    if (text.length < max) text += decoder.decode(chunk, { stream: true });
  }
  if (text.length < max) text += decoder.decode();
  return text.slice(0, max);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} ${error.message}` : `${error.name}: ${error.message}`;
}

/**
 * Removes the URL, its query and its credentials from a text that came from outside (an error,
 * an answer's body, which may echo the request). Our own words around it are left alone.
 */
function urlRedactor(url: URL): (text: string) => string {
  const query = url.search.slice(1);
  const candidates = [url.href, query, safeDecode(query), url.password, safeDecode(url.password), url.username, safeDecode(url.username)];
  // Longest first, so the URL goes whole before its pieces; very short values would blank out ordinary words.
  const secrets = [...new Set(candidates)].filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length);
  return (text) => secrets.reduce((out, secret) => out.split(secret).join('<redacted>'), text);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
