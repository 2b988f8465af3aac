import type { WAMessage } from '@whiskeysockets/baileys';

let counter = 0;

/** A `messages.upsert` entry shaped as Baileys v7 delivers it. */
export function waMessage(overrides: { remoteJid?: string; remoteJidAlt?: string; fromMe?: boolean; id?: string | null; message?: WAMessage['message']; broadcast?: boolean; participant?: string } = {}): WAMessage {
  counter++;
  return {
    key: {
      remoteJid: overrides.remoteJid ?? '79161234567@s.whatsapp.net',
      fromMe: overrides.fromMe ?? false,
      id: overrides.id === undefined ? `3EB0TEST${String(counter).padStart(8, '0')}` : overrides.id,
      ...(overrides.remoteJidAlt ? { remoteJidAlt: overrides.remoteJidAlt } : {}),
      ...(overrides.participant ? { participant: overrides.participant } : {}),
    },
    message: overrides.message === undefined ? { conversation: 'Запишите на стрижку' } : overrides.message,
    messageTimestamp: 1_763_900_000,
    ...(overrides.broadcast ? { broadcast: true } : {}),
  } as WAMessage;
}
