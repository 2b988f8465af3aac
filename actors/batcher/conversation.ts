/**
 * A conversation is one WhatsApp session talking to one client phone. Phones are
 * normalised to E.164 digits without the plus, so `+7 916 377-94-44`, `79163779444` and
 * the WhatsApp id `79163779444@s.whatsapp.net` are the same conversation.
 */
export interface Conversation {
  readonly sessionId: string;
  readonly phone: string;
}

export type PhoneResult = { ok: true; phone: string } | { ok: false; problem: string };

const JID_SUFFIXES = ['@s.whatsapp.net', '@c.us'];
/** Separators people and systems put in phone numbers. */
const DECORATION = /[\s\-().]/g;

/** Already normalised (the usual case on a hot path): digits only, 8 to 15, not starting with 0. */
const E164_DIGITS = /^[1-9]\d{7,14}$/;

export function normalizePhone(input: unknown): PhoneResult {
  if (typeof input === 'string' && E164_DIGITS.test(input)) return { ok: true, phone: input };
  if (typeof input === 'number' && Number.isSafeInteger(input) && input > 0) return normalizePhone(String(input));
  if (typeof input !== 'string') return { ok: false, problem: `phone must be a string, got ${input === null ? 'null' : typeof input}` };
  let text = input.trim();
  const suffix = JID_SUFFIXES.find((s) => text.toLowerCase().endsWith(s));
  if (suffix) {
    text = text.slice(0, -suffix.length);
    // A device suffix ("79161234567:12@s.whatsapp.net") names the same phone.
    const device = text.indexOf(':');
    if (device >= 0) text = text.slice(0, device);
  } else if (text.includes('@')) {
    return { ok: false, problem: `phone ${JSON.stringify(input)} is a WhatsApp id that is not a person's number (groups and broadcasts are not conversations)` };
  }
  const digits = text.replace(/^\+/, '').replace(DECORATION, '');
  if (!/^\d+$/.test(digits)) return { ok: false, problem: `phone ${JSON.stringify(input)} is not a phone number` };
  if (digits.length < 8 || digits.length > 15) {
    return { ok: false, problem: `phone ${JSON.stringify(input)} must have 8 to 15 digits (E.164), got ${digits.length}` };
  }
  if (digits.startsWith('0')) return { ok: false, problem: `phone ${JSON.stringify(input)} must start with a country code, not 0` };
  return { ok: true, phone: digits };
}

export const DEFAULT_SESSION = 'default';
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isSessionId(value: string): boolean {
  return SESSION_ID.test(value);
}

/**
 * `<sessionId>:<phone>`: the batcher's id under /batchers and the store's key. Joined into
 * one flat string: a template literal's cons string kept as a map key also keeps its
 * flattened copy (32 bytes more per pending conversation, per map).
 */
export function conversationKey(conversation: Conversation): string {
  return [conversation.sessionId, conversation.phone].join(':');
}

export function parseConversationKey(key: string): Conversation | undefined {
  const cut = key.lastIndexOf(':');
  if (cut <= 0) return undefined;
  const sessionId = key.slice(0, cut);
  const phone = key.slice(cut + 1);
  return isSessionId(sessionId) && /^\d{8,15}$/.test(phone) ? { sessionId, phone } : undefined;
}
