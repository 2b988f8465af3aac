import type { AlertNotification, AlertView } from '../alert.js';

/** Telegram's limit on one message's text (counted in UTF-16 code units, as JavaScript counts). */
export const TELEGRAM_MESSAGE_MAX = 4096;

/** The three characters parse_mode HTML needs escaped outside tags; quotes only matter inside attributes, which are not used. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (char) => (char === '&' ? '&amp;' : char === '<' ? '&lt;' : '&gt;'));
}

/** `2024-05-01T10:03Z`: UTC to the minute, enough to tell alerts apart and short enough for a phone. */
export function isoMinutes(iso: string): string {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? iso : `${new Date(at).toISOString().slice(0, 16)}Z`;
}

/** `[FIRING:5] whatsapp session down` or `[RESOLVED] whatsapp session down`, unescaped. */
export function telegramTitle(notification: AlertNotification): string {
  if (notification.status === 'resolved') return `[RESOLVED] ${notification.rule}`;
  const firing = notification.alerts.filter((alert) => alert.status === 'firing').length;
  return `[FIRING:${firing}] ${notification.rule}`;
}

/** One alert on one line, unescaped: `session=salon1 · WhatsApp session down · since 2024-05-01T10:03Z ×3`. */
export function telegramAlertLine(alert: AlertView): string {
  const labels = Object.entries(alert.labels).map(([key, value]) => `${key}=${value}`).join(' ');
  const parts = [labels, alert.summary, `since ${isoMinutes(alert.startsAt)}`].filter((part) => part.length > 0);
  let line = parts.join(' · ');
  if (alert.count > 1) line += ` ×${alert.count}`;
  if (alert.status === 'resolved') line += alert.endsAt ? ` · resolved ${isoMinutes(alert.endsAt)}` : ' · resolved';
  // A label or summary with a line break would split the alert over lines the splitter treats as separate.
  return `${alert.status === 'resolved' ? '✓' : '•'} ${line.replace(/\r?\n/g, ' ')}`;
}

/**
 * A notification as Telegram HTML (parse_mode `HTML`), in parts of at most `maxChars`:
 * the title in bold on the first line, then one line per alert. Parts break between lines;
 * a line longer than a part is cut, never inside an entity (`&amp;`) or a surrogate pair.
 * Only the first line carries a tag and it is never cut, so every part is valid HTML by itself.
 */
export function renderTelegram(notification: AlertNotification, maxChars = TELEGRAM_MESSAGE_MAX): string[] {
  const title = escapeHtml(telegramTitle(notification).replace(/\r?\n/g, ' '));
  const bold = `<b>${title}</b>`;
  const lines = [bold.length <= maxChars ? bold : title, ...notification.alerts.map((alert) => escapeHtml(telegramAlertLine(alert)))];
  // A group at its cap says so: the operator must know the list is not the whole story.
  if (notification.omitted) lines.push(escapeHtml(`… and ${notification.omitted} more alert signals not listed (the group is full; see GET /alerts)`));
  return splitLines(lines, maxChars);
}

/** Packs lines into parts of at most `maxChars` (joined by '\n'), cutting only lines that cannot fit any part. */
export function splitLines(lines: readonly string[], maxChars: number): string[] {
  const parts: string[] = [];
  let part = '';
  const flush = () => {
    if (part.length > 0) parts.push(part);
    part = '';
  };
  for (const line of lines) {
    for (const piece of cutLine(line, maxChars)) {
      if (part.length === 0) part = piece;
      else if (part.length + 1 + piece.length <= maxChars) part += `\n${piece}`;
      else {
        flush();
        part = piece;
      }
    }
  }
  flush();
  return parts;
}

function cutLine(line: string, maxChars: number): string[] {
  if (line.length <= maxChars) return [line];
  const pieces: string[] = [];
  let rest = line;
  while (rest.length > maxChars) {
    let cut = maxChars;
    // Back off an entity cut in half: `&am` | `p;` would make Telegram refuse the whole message.
    const amp = rest.lastIndexOf('&', cut - 1);
    if (amp >= 0 && amp > cut - 6) {
      const semi = rest.indexOf(';', amp);
      if (semi === -1 || semi >= cut) cut = amp;
    }
    // And a surrogate pair: half an emoji is not valid UTF-8 on the wire.
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--;
    if (cut <= 0) cut = maxChars;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0) pieces.push(rest);
  return pieces;
}
