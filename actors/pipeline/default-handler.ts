import { request } from 'undici';
import type { BatchHandler, HandlerAction } from './handler.js';

/**
 * The built-in handler: POSTs the batch as JSON to BATCH_WEBHOOK_URL (an n8n flow, an AI
 * service) with `Idempotency-Key: <batchId>`, so a repeated delivery can be dropped there.
 * A 2xx answer whose JSON has a string `reply` (or `text`) becomes a reply to the client.
 * Anything else throws, and the pipeline retries with backoff, then dead-letters.
 * With no URL it does nothing; the pipeline logs every batch it delivers.
 */
const forward: BatchHandler = async (batch, context) => {
  if (!context.webhookUrl) return [];
  const response = await request(context.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': batch.batchId },
    body: JSON.stringify(batch),
    signal: context.signal,
  });
  const body = await response.body.text();
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw new Error(`webhook answered ${response.statusCode}: ${body.slice(0, 200)}`);
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
