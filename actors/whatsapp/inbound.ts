import type { WAMessage, proto } from '@whiskeysockets/baileys';
import { normalizePhone } from '../batcher/conversation.js';

/** Why an upserted message does not go to a batcher; each is counted per session. */
export type IgnoredReason = 'own' | 'group' | 'broadcast' | 'status' | 'newsletter' | 'not_text' | 'no_id' | 'bad_sender' | 'lid_unresolved';

export type InboundResult =
  | { readonly kind: 'text'; readonly id: string; readonly phone: string; readonly text: string; readonly at: number }
  | { readonly kind: 'ignored'; readonly reason: IgnoredReason }
  /** The sender is known only by a LID: resolve it to a phone-number id and map again. */
  | { readonly kind: 'needs_phone'; readonly lid: string };

const PERSON = '@s.whatsapp.net';
const LID = '@lid';

/**
 * One `messages.upsert` entry to what the batcher takes: text from a person's individual
 * chat (plain, extended, or a media caption), with WhatsApp's message id so a redelivery is
 * a duplicate, and the sender's phone normalised. v7 may address a person by LID; the phone
 * number then comes from `remoteJidAlt`, or from `phoneJid` once the caller resolved it.
 *
 * Both upsert kinds count: Baileys upserts what WhatsApp held while the session was offline
 * as `append` (already acknowledged, never sent again), so ignoring `append` would lose every
 * message written during a reconnect. Real history arrives as `messaging-history.set`, and the
 * other `append`s (own sends, stubs, channels) fall to the rules below.
 */
export function mapInbound(message: WAMessage, phoneJid?: string): InboundResult {
  const key = message.key;
  if (key.fromMe) return ignored('own');
  const remote = key.remoteJid ?? '';
  if (remote === 'status@broadcast') return ignored('status');
  if (remote.endsWith('@broadcast') || message.broadcast) return ignored('broadcast');
  if (remote.endsWith('@g.us')) return ignored('group');
  if (remote.endsWith('@newsletter')) return ignored('newsletter');
  if (!key.id) return ignored('no_id');
  const text = textOf(message.message);
  if (text === undefined) return ignored('not_text');
  const alternate = (key as { remoteJidAlt?: string | null }).remoteJidAlt ?? '';
  const jid = [remote, alternate, phoneJid ?? ''].find((candidate) => candidate.endsWith(PERSON));
  if (jid === undefined) {
    const lid = [remote, alternate].find((candidate) => candidate.endsWith(LID));
    if (lid !== undefined) return phoneJid === undefined ? { kind: 'needs_phone', lid } : ignored('lid_unresolved');
    return ignored('bad_sender');
  }
  const phone = normalizePhone(jid);
  if (!phone.ok) return ignored('bad_sender');
  return { kind: 'text', id: key.id, phone: phone.phone, text, at: timestampMs(message.messageTimestamp) };
}

function ignored(reason: IgnoredReason): InboundResult {
  return { kind: 'ignored', reason };
}

/** Containers WhatsApp wraps a message in; the text is inside. */
function unwrap(content: proto.IMessage | null | undefined): proto.IMessage | undefined {
  let current = content ?? undefined;
  for (let depth = 0; current && depth < 4; depth++) {
    const inner =
      current.ephemeralMessage?.message ??
      current.viewOnceMessage?.message ??
      current.viewOnceMessageV2?.message ??
      current.viewOnceMessageV2Extension?.message ??
      current.documentWithCaptionMessage?.message;
    if (!inner) return current;
    current = inner;
  }
  return current;
}

function textOf(content: proto.IMessage | null | undefined): string | undefined {
  const message = unwrap(content);
  if (!message) return undefined;
  const text =
    message.conversation ??
    message.extendedTextMessage?.text ??
    message.imageMessage?.caption ??
    message.videoMessage?.caption ??
    message.documentMessage?.caption;
  return typeof text === 'string' && text.trim() !== '' ? text : undefined;
}

function timestampMs(value: WAMessage['messageTimestamp']): number {
  if (value === null || value === undefined) return 0;
  const seconds = typeof value === 'number' ? value : Number(value.toString());
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
}
