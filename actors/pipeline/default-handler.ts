import { request } from 'undici';
import { DownstreamError } from '../../src/errors.js';
import type { BatchHandler, HandlerAction } from './handler.js';
import { honoursRetryAfter, isPermanentStatus, parseRetryAfter } from './retry-rule.js';

/** Enough of an error body to say what the webhook objected to, without a page of HTML in every log line. */
const BODY_START_CHARS = 200;

/**
 * The built-in handler: POSTs the batch as JSON to BATCH_WEBHOOK_URL (an n8n flow, an AI
 * service) with `Idempotency-Key: <batchId>`, so a repeated delivery can be dropped there.
 * A 2xx answer whose JSON has a string `reply` (or `text`) becomes a reply to the client.
 * Any other answer throws a DownstreamError: permanent for a 4xx that sending again cannot
 * change (dead-lettered at once), otherwise retried with backoff, no sooner than the
 * Retry-After of a 429 or 503 (retry-rule.ts). A network error or a timeout throws as is
 * and is retried too. A dry run (`batch.test`) is not forwarded. With no URL it does nothing; the pipeline logs every batch it delivers.
 */
const forward: BatchHandler = async (batch, context) => {
  // An operator's dry run shows the handler loads and runs; it is never forwarded.
  if (!context.webhookUrl || batch.test) return [];
  const response = await request(context.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': batch.batchId },
    body: JSON.stringify(batch),
    signal: context.signal,
  });
  const body = await response.body.text();
  const status = response.statusCode;
  if (status < 200 || status >= 300) {
    const bodyStart = body.slice(0, BODY_START_CHARS);
    const retryAfterMs = honoursRetryAfter(status) ? parseRetryAfter(response.headers['retry-after'], Date.now()) : undefined;
    throw new DownstreamError(`webhook answered ${status}: ${bodyStart}`, { status, bodyStart, permanent: isPermanentStatus(status), retryAfterMs });
  }
  return replyFrom(body, String(response.headers['content-type'] ?? ''));
};

function replyFrom(body: string, contentType: string): HandlerAction[] {
  if (!contentType.includes('json') || body.length === 0) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const answer = parsed as { reply?: unknown; text?: unknown } | null;
  const text = typeof answer?.reply === 'string' ? answer.reply : typeof answer?.text === 'string' ? answer.text : undefined;
  return text ? [{ type: 'reply', text }] : [];
}

export default forward;
