import type { TelegramUpdateBody } from './telegram-server.js';

/**
 * Crafted updates for the local Telegram server's getUpdates (`pushUpdate` assigns the
 * update_id), shaped as the Bot API sends them. A chat id is a private chat's, the same as its
 * user's id, unless `fromId` says otherwise (a group).
 */
export interface UpdateOptions {
  /** The sender's user id (default: the chat id). */
  readonly fromId?: number;
  readonly username?: string;
  /** The message's id (default: a fresh one). */
  readonly messageId?: number;
}

let nextMessageId = 10_000;

function chat(chatId: string | number): { id: number; type: string } {
  const id = Number(chatId);
  return { id, type: id < 0 ? 'group' : 'private' };
}

function user(chatId: string | number, options: UpdateOptions): Record<string, unknown> {
  return { id: options.fromId ?? Math.abs(Number(chatId)), is_bot: false, first_name: 'Operator', ...(options.username ? { username: options.username } : {}) };
}

function message(chatId: string | number, text: string, options: UpdateOptions): Record<string, unknown> {
  return { message_id: options.messageId ?? nextMessageId++, date: Math.floor(Date.now() / 1000), chat: chat(chatId), from: user(chatId, options), text };
}

/** A text message (a command) from a chat. */
export function messageUpdate(chatId: string | number, text: string, options: UpdateOptions = {}): TelegramUpdateBody {
  return { message: message(chatId, text, options) };
}

/** An edited message: a command changed after it was sent. */
export function editedMessageUpdate(chatId: string | number, text: string, options: UpdateOptions = {}): TelegramUpdateBody {
  return { edited_message: { ...message(chatId, text, options), edit_date: Math.floor(Date.now() / 1000) } };
}

/** A press of an inline button with `data`, on message `messageId` of a chat. */
export function callbackUpdate(chatId: string | number, data: string, options: UpdateOptions & { readonly messageId?: number } = {}): TelegramUpdateBody {
  return {
    callback_query: {
      id: `cq-${nextMessageId++}`,
      from: user(chatId, options),
      chat_instance: `ci-${chatId}`,
      data,
      message: { message_id: options.messageId ?? nextMessageId++, date: Math.floor(Date.now() / 1000), chat: chat(chatId), text: 'question' },
    },
  };
}

/** An update kind the ops bot does not take (a channel post). */
export function channelPostUpdate(chatId: string | number, text: string): TelegramUpdateBody {
  return { channel_post: { message_id: nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: Number(chatId), type: 'channel' }, text } };
}
