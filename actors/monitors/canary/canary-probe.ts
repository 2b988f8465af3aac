import { request, type Dispatcher } from 'undici';
import type { CanaryTarget } from '../../../src/config/parsers.js';
import { redactUrl } from '../../../src/config/parsers.js';

/** One check of one target. */
export interface ProbeOutcome {
  /** The answer's status code; null when there was no answer (a network error, a timeout). */
  readonly statusCode: number | null;
  readonly responseTimeMs: number;
  /** Why this result counts as a failure; undefined for a success. */
  readonly failure: string | undefined;
}

/** A health answer larger than this is not a health answer; reading it whole would let a target fill the heap. */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * Whether an answer passes: a status under 400 (redirects are not followed: a health URL
 * that redirects is answered as the 3xx it is) and, when the target expects a JSON field,
 * that field with that value. Returns why it fails, or undefined.
 */
export function judgeAnswer(statusCode: number, body: string | undefined, expect: CanaryTarget['expect']): string | undefined {
  if (statusCode >= 400) return `HTTP ${statusCode}`;
  if (!expect) return undefined;
  if (body === undefined) return `HTTP ${statusCode}, body over ${MAX_BODY_BYTES / 1024} KiB`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `HTTP ${statusCode}, body is not JSON (expected ${expect.field}=${expect.value})`;
  }
  const found = fieldAt(parsed, expect.field);
  if (!found.present) return `HTTP ${statusCode}, field ${expect.field} missing (expected ${JSON.stringify(expect.value)})`;
  const text = asText(found.value);
  if (text !== expect.value) return `HTTP ${statusCode}, field ${expect.field} is ${JSON.stringify(text)} (expected ${JSON.stringify(expect.value)})`;
  return undefined;
}

/** A dotted path (`checks.db.status`, `items.0.ok`) into parsed JSON. */
export function fieldAt(value: unknown, path: string): { present: true; value: unknown } | { present: false } {
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return { present: false };
    current = (current as Record<string, unknown>)[key];
  }
  return { present: true, value: current };
}

/** The config holds the expected value as text, so the answer's value is compared as text too (`true`, `200`, `"ok"`). */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Asks `target` once and judges the answer; never throws. The body is always read to its end
 * (or up to MAX_BODY_BYTES), so the connection goes back to the pool rather than leaking.
 * Credentials in the URL go as Basic auth (undici drops them from the URL silently) and never
 * into the outcome: a failure names the error, not the URL.
 */
export async function probeTarget(
  target: CanaryTarget,
  options: { readonly dispatcher: Dispatcher; readonly signal: AbortSignal },
): Promise<Omit<ProbeOutcome, 'responseTimeMs'>> {
  const { url, headers } = withoutCredentials(target.url);
  try {
    const response = await request(url, { method: 'GET', headers, dispatcher: options.dispatcher, signal: options.signal });
    const body = target.expect ? await readCapped(response.body) : await response.body.dump({ limit: MAX_BODY_BYTES }).then(() => undefined);
    return { statusCode: response.statusCode, failure: judgeAnswer(response.statusCode, body, target.expect) };
  } catch (error) {
    return { statusCode: null, failure: scrub(describeNetworkError(error), target.url) };
  }
}

async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function withoutCredentials(raw: string): { url: string; headers: Record<string, string> } {
  const parsed = new URL(raw);
  if (!parsed.username && !parsed.password) return { url: raw, headers: {} };
  const basic = Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64');
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), headers: { authorization: `Basic ${basic}` } };
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message = error.message;
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Belt and braces: should an error ever quote the URL, it shows redacted. */
function scrub(text: string, url: string): string {
  const parsed = new URL(url);
  let out = text.split(url).join(redactUrl(url, true));
  for (const secret of [parsed.password, parsed.username, parsed.search.slice(1)]) if (secret.length >= 3) out = out.split(secret).join('[redacted]');
  return out;
}
