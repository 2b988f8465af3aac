import { randomBytes } from 'node:crypto';
import type { InlineKeyboardMarkup } from 'grammy/types';

/** A question the bot asked ("restart /http?") and waits to have confirmed. */
export interface Pending<A> {
  readonly nonce: string;
  /** The chat that asked: the only one whose press counts. */
  readonly chatId: string;
  readonly action: A;
  /** The confirmation's own words: `restart /http`. */
  readonly label: string;
  readonly expiresAt: number;
  /** The message carrying the keyboard, once Telegram took it. */
  messageId: number | undefined;
}

/** What a press did. */
export type Press<A> =
  | { readonly kind: 'confirmed'; readonly pending: Pending<A> }
  | { readonly kind: 'cancelled'; readonly pending: Pending<A> }
  /** Past its time, already answered, or asked before a restart of the bot: nothing happens. */
  | { readonly kind: 'expired' }
  /** Another chat's keyboard: nothing happens. */
  | { readonly kind: 'foreign' }
  /** Not one of our buttons. */
  | { readonly kind: 'unknown' };

const CONFIRM = 'ok';
const CANCEL = 'no';
/** At most this many questions wait at once; the oldest is forgotten beyond it. */
const MAX_PENDING = 100;

/**
 * The pending restart and recover confirmations of one bot incarnation. Each gets a random
 * nonce, carried in its buttons' callback_data (`ok:<nonce>`, `no:<nonce>`, well under
 * Telegram's 64 bytes), so a button cannot be guessed or replayed from another question. A
 * press counts only from the chat that asked and before `expiresAt` (the actor's clock); a
 * confirmation is used once. Everything else is `expired`, `foreign` or `unknown`: nothing runs.
 */
export class Confirmations<A> {
  readonly #pending = new Map<string, Pending<A>>();
  readonly #ttlMs: number;
  readonly #random: (bytes: number) => string;

  constructor(options: { readonly ttlMs: number; readonly random?: (bytes: number) => string }) {
    this.#ttlMs = options.ttlMs;
    this.#random = options.random ?? ((bytes) => randomBytes(bytes).toString('base64url'));
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  get size(): number {
    return this.#pending.size;
  }

  ask(chatId: string, action: A, label: string, now: number): Pending<A> {
    const nonce = this.#random(12);
    const pending: Pending<A> = { nonce, chatId, action, label, expiresAt: now + this.#ttlMs, messageId: undefined };
    this.#pending.set(nonce, pending);
    if (this.#pending.size > MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value as string);
    return pending;
  }

  /** The question's buttons. */
  keyboard(pending: Pending<A>): InlineKeyboardMarkup {
    return {
      inline_keyboard: [
        [
          { text: `✅ ${pending.label}`, callback_data: `${CONFIRM}:${pending.nonce}` },
          { text: '✖ cancel', callback_data: `${CANCEL}:${pending.nonce}` },
        ],
      ],
    };
  }

  /** A press of one of our buttons from `chatId` at `now`, on the message `messageId` (when Telegram says). */
  press(data: string | undefined, chatId: string, now: number, messageId?: number): Press<A> {
    const match = data === undefined ? null : /^(ok|no):([A-Za-z0-9_-]{8,32})$/.exec(data);
    if (!match) return { kind: 'unknown' };
    const pending = this.#pending.get(match[2] as string);
    if (!pending) return { kind: 'expired' };
    // Checked before the time: another chat's press must not even learn that the question expired.
    if (pending.chatId !== chatId) return { kind: 'foreign' };
    // The nonce on a message other than the question's: a button copied elsewhere.
    if (pending.messageId !== undefined && messageId !== undefined && pending.messageId !== messageId) return { kind: 'foreign' };
    if (now >= pending.expiresAt) {
      this.#pending.delete(pending.nonce);
      return { kind: 'expired' };
    }
    this.#pending.delete(pending.nonce);
    return match[1] === CONFIRM ? { kind: 'confirmed', pending } : { kind: 'cancelled', pending };
  }

  /** Forgets a question whose time is up; the pending one, if it was still waiting. */
  expire(nonce: string, now: number): Pending<A> | undefined {
    const pending = this.#pending.get(nonce);
    if (!pending || now < pending.expiresAt) return undefined;
    this.#pending.delete(nonce);
    return pending;
  }

  get(nonce: string): Pending<A> | undefined {
    return this.#pending.get(nonce);
  }
}
