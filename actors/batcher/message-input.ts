/**
 * Characters that show nothing: white space of every kind (no-break spaces included), control
 * and format characters (zero-width space, joiners, BOM, soft hyphen) and variation selectors.
 */
const INVISIBLE = /^[\p{White_Space}\p{Cc}\p{Cf}\p{Z}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}]*$/u;

/** A message a person could read: at least one visible character. */
export function hasVisibleText(text: string): boolean {
  return !INVISIBLE.test(text);
}

export type TimestampResult = { readonly ok: true; readonly at: number } | { readonly ok: false; readonly problem: string };

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
/** 2000-01-01: an earlier "epoch millisecond" is almost surely seconds. */
const EARLIEST_MS = 946_684_800_000;
const LATEST_MS = 8_640_000_000_000_000;

/** A sender's timestamp: ISO-8601 with a zone (`2026-12-01T18:00:00+03:00`) or epoch milliseconds (a number, or a string of digits). */
export function parseTimestamp(value: unknown): TimestampResult {
  if (typeof value === 'string' && /^\d+$/.test(value)) return parseTimestamp(Number(value));
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { ok: false, problem: `timestamp ${value} is not a whole number of epoch milliseconds` };
    if (value < EARLIEST_MS) {
      return { ok: false, problem: `timestamp ${value} is before 2000 in epoch milliseconds${value < 1e11 ? ' (it looks like seconds; multiply by 1000)' : ''}` };
    }
    if (value > LATEST_MS) return { ok: false, problem: `timestamp ${value} is past the largest date` };
    return { ok: true, at: value };
  }
  if (typeof value === 'string') {
    const at = ISO_8601.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(at)) return { ok: false, problem: `timestamp ${JSON.stringify(value.slice(0, 64))} is neither ISO-8601 with a time zone (2026-12-01T18:00:00Z) nor epoch milliseconds` };
    return { ok: true, at };
  }
  return { ok: false, problem: `timestamp must be ISO-8601 or epoch milliseconds, got ${value === null ? 'null' : typeof value}` };
}
