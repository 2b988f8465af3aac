import { describe, expect, it } from 'vitest';
import { mapInbound } from '../../actors/whatsapp/inbound.js';
import { waMessage } from '../support/wa-messages.js';

describe('inbound mapping (messages.upsert to the batcher)', () => {
  it.each([
    ['plain text', { conversation: 'На завтра' }, 'На завтра'],
    ['extended text (a reply, a link)', { extendedTextMessage: { text: 'В 18:00 https://example.com' } }, 'В 18:00 https://example.com'],
    ['an image caption', { imageMessage: { caption: 'Вот так подстричь' } }, 'Вот так подстричь'],
    ['a video caption', { videoMessage: { caption: 'как тут' } }, 'как тут'],
    ['a document caption', { documentWithCaptionMessage: { message: { documentMessage: { caption: 'прайс' } } } }, 'прайс'],
    ['a disappearing message', { ephemeralMessage: { message: { extendedTextMessage: { text: 'К Бари' } } } }, 'К Бари'],
    ['a view-once caption', { viewOnceMessageV2: { message: { imageMessage: { caption: 'раз' } } } }, 'раз'],
  ])('takes %s', (_kind, message, text) => {
    const mapped = mapInbound(waMessage({ id: 'WA-ID-1', message }));
    expect(mapped).toEqual({ kind: 'text', id: 'WA-ID-1', phone: '79161234567', text, at: 1_763_900_000_000 });
  });

  it.each([
    ['own messages', waMessage({ fromMe: true }), 'own'],
    ['groups', waMessage({ remoteJid: '120363025246125486@g.us', participant: '79161234567@s.whatsapp.net' }), 'group'],
    ['status updates', waMessage({ remoteJid: 'status@broadcast' }), 'status'],
    ['broadcast lists', waMessage({ remoteJid: '1700000000@broadcast' }), 'broadcast'],
    ['messages flagged broadcast', waMessage({ broadcast: true }), 'broadcast'],
    ['channels', waMessage({ remoteJid: '120363000000000000@newsletter' }), 'newsletter'],
    ['media without a caption', waMessage({ message: { imageMessage: { mimetype: 'image/jpeg' } } }), 'not_text'],
    ['reactions', waMessage({ message: { reactionMessage: { text: '👍' } } }), 'not_text'],
    ['blank text', waMessage({ message: { conversation: '   ' } }), 'not_text'],
    ['no content (a stub)', waMessage({ message: null }), 'not_text'],
    ['a message without an id', waMessage({ id: null }), 'no_id'],
    ['a sender that is no phone number', waMessage({ remoteJid: '12@s.whatsapp.net' }), 'bad_sender'],
  ])('ignores %s', (_kind, message, reason) => {
    expect(mapInbound(message)).toEqual({ kind: 'ignored', reason });
  });

  it('normalises the sender: a device suffix and a LID with its phone-number alternate', () => {
    expect(mapInbound(waMessage({ remoteJid: '79161234567:12@s.whatsapp.net' }))).toMatchObject({ kind: 'text', phone: '79161234567' });
    const lid = waMessage({ remoteJid: '111222333444555@lid', remoteJidAlt: '4915112345678@s.whatsapp.net' });
    expect(mapInbound(lid)).toMatchObject({ kind: 'text', phone: '4915112345678' });
  });

  it('a LID without an alternate needs the phone resolved; unresolved it is ignored and counted', () => {
    const lid = waMessage({ remoteJid: '111222333444555@lid' });
    expect(mapInbound(lid)).toEqual({ kind: 'needs_phone', lid: '111222333444555@lid' });
    expect(mapInbound(lid, '79161234567@s.whatsapp.net')).toMatchObject({ kind: 'text', phone: '79161234567' });
    expect(mapInbound(lid, '')).toEqual({ kind: 'ignored', reason: 'lid_unresolved' });
  });
});
