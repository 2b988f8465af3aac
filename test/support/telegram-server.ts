import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeLocal, listenLocal, readBody } from './net.js';

/** A sendMessage the server took, as the Bot API received it. */
export interface TelegramSentMessage {
  readonly token: string;
  readonly chat_id: string;
  readonly text: string;
  readonly parse_mode: string | undefined;
  /** Date.now() when it arrived. */
  readonly at: number;
  /** The inline keyboard (or other markup) it carried, parsed. */
  readonly reply_markup?: TelegramReplyMarkup;
  /** The message_id the server gave it. */
  readonly message_id?: number;
}

/** An inline keyboard as sendMessage carries it. */
export interface TelegramReplyMarkup {
  readonly inline_keyboard?: readonly (readonly { readonly text: string; readonly callback_data?: string }[])[];
  readonly [key: string]: unknown;
}

/** An update for getUpdates: anything but its update_id, which `pushUpdate` assigns. */
export type TelegramUpdateBody = Readonly<Record<string, unknown>>;

/** Every call, answered well or not. */
export interface TelegramCall {
  readonly method: string;
  readonly token: string;
  readonly chatId: string | undefined;
  readonly at: number;
  /** The HTTP status it got, or `hang`. */
  readonly answer: number | 'hang';
  /**
   * The parameters of a getUpdates, answerCallbackQuery, editMessageText,
   * editMessageReplyMarkup or deleteWebhook call.
   */
  readonly params?: Readonly<Record<string, unknown>>;
  /** For a getUpdates answered 200: how many updates it carried. */
  readonly updates?: number;
}

interface HeldPoll {
  readonly offset: number | undefined;
  readonly limit: number;
  readonly response: ServerResponse;
  readonly call: Omit<TelegramCall, 'answer'>;
  readonly timer: NodeJS.Timeout;
}

/** The methods answered `true` and recorded with their parameters. */
const TRUE_METHODS = new Set(['answerCallbackQuery', 'editMessageReplyMarkup', 'deleteWebhook']);

/**
 * How to answer a call instead of taking it:
 * - `rate-limit`: 429 with `parameters.retry_after` (seconds), as Telegram's flood control does;
 * - `error`: a Bot API error object with this status (500, 400, 403, ...);
 * - `html`: a non-JSON answer with this status, as a proxy in front of the Bot API gives;
 * - `hang`: never answer (the connection stays open until the client gives up or `close`).
 */
export type TelegramAnswer =
  | { readonly kind: 'rate-limit'; readonly retryAfterS: number }
  | { readonly kind: 'error'; readonly status: number; readonly description?: string }
  | { readonly kind: 'html'; readonly status: number }
  | { readonly kind: 'hang' };

interface Scripted {
  remaining: number;
  /** Matching calls still to let through before this script starts answering. */
  skip: number;
  readonly answer: TelegramAnswer;
  readonly chatId: string | undefined;
  readonly method: string | undefined;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad Request: chat not found',
  401: 'Unauthorized',
  403: 'Forbidden: bot was kicked from the group chat',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

/**
 * A local Telegram Bot API for `TELEGRAM_API_ROOT` / the transport's `apiRoot`: `POST
 * /bot<token>/<method>` with JSON, urlencoded or multipart bodies (grammY sends JSON unless it
 * uploads a file). Answers `getMe` and `sendMessage` as Telegram does, records every
 * sendMessage it takes and every call, and can be scripted to answer the next calls (of one
 * chat or method, if asked) with a 429, an error, a non-JSON page, or not at all.
 *
 * For a bot that polls: `getUpdates` serves the updates pushed with `pushUpdate`, honouring
 * `offset` (updates before it are confirmed and dropped, as Telegram does), `limit` and the
 * long-poll `timeout` (the request is held until an update arrives or the timeout passes;
 * `close` releases held requests). `answerCallbackQuery`, `editMessageText`,
 * `editMessageReplyMarkup` and `deleteWebhook` are answered ok and recorded with their params.
 */
export class TelegramServer {
  readonly messages: TelegramSentMessage[] = [];
  readonly calls: TelegramCall[] = [];
  /** The token calls must carry; others get 401, as Telegram answers a revoked token. Unset: any token. */
  readonly token: string | undefined;
  #script: Scripted[] = [];
  #always: TelegramAnswer | undefined;
  #nextMessageId = 1;
  #nextUpdateId = 1;
  /** Pushed updates not yet confirmed by an offset past them. */
  #updates: Record<string, unknown>[] = [];
  #held: HeldPoll[] = [];
  #alwaysMethod: string | undefined;
  #apiRoot: string | undefined;
  readonly #server: Server;

  constructor(options: { token?: string } = {}) {
    this.token = options.token;
    this.#server = createServer((request, response) => {
      void this.#handle(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
  }

  /** Starts listening; resolves with the API root (no trailing '/'). */
  async listen(): Promise<string> {
    this.#apiRoot = new URL(await listenLocal(this.#server)).origin;
    return this.#apiRoot;
  }

  get apiRoot(): string {
    if (!this.#apiRoot) throw new Error('TelegramServer is not listening');
    return this.#apiRoot;
  }

  /**
   * Answers the next `count` matching calls with `answer`, after letting `skip` of them through
   * (scripts are used in the order given).
   */
  answerNext(count: number, answer: TelegramAnswer, match: { chatId?: string; method?: string; skip?: number } = {}): void {
    this.#script.push({ remaining: count, skip: match.skip ?? 0, answer, chatId: match.chatId, method: match.method });
  }

  /**
   * Answers every unscripted call (of one method, if asked) with `answer` until told otherwise;
   * `undefined` goes back to taking them.
   */
  answerAlways(answer: TelegramAnswer | undefined, match: { method?: string } = {}): void {
    this.#always = answer;
    this.#alwaysMethod = answer === undefined ? undefined : match.method;
  }

  /** Queues an update for getUpdates (a held long poll gets it at once); returns its update_id. */
  pushUpdate(update: TelegramUpdateBody): number {
    const updateId = this.#nextUpdateId++;
    this.#updates.push({ ...update, update_id: updateId });
    this.#releaseHeld();
    return updateId;
  }

  /** Updates pushed and not yet confirmed by a later getUpdates' offset. */
  get unconfirmedUpdates(): number {
    return this.#updates.length;
  }

  /** Long polls waiting for an update. */
  get heldPolls(): number {
    return this.#held.length;
  }

  /** The calls of one method, in order. */
  callsOf(method: string): TelegramCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** The texts one chat received, in order. */
  textsFor(chatId: string): string[] {
    return this.messages.filter((message) => message.chat_id === chatId).map((message) => message.text);
  }

  close(): Promise<void> {
    // Held long polls end empty, as Telegram's do at their timeout.
    for (const held of this.#held.splice(0)) {
      clearTimeout(held.timer);
      this.#servePoll(held.response, held.call, held.offset, held.limit, true);
    }
    return closeLocal(this.#server);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const match = /^\/bot([^/]+)\/(?:test\/)?([A-Za-z]+)$/.exec(new URL(request.url ?? '/', 'http://local').pathname);
    if (!match || request.method !== 'POST') {
      send(response, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    const token = decodeURIComponent(match[1] as string);
    const method = match[2] as string;
    const params = await parseParams(raw, String(request.headers['content-type'] ?? ''));
    const chatId = params.chat_id === undefined ? undefined : String(params.chat_id);
    const at = Date.now();

    if (this.token !== undefined && token !== this.token) {
      this.calls.push({ method, token, chatId, at, answer: 401 });
      send(response, 401, { ok: false, error_code: 401, description: DESCRIPTIONS[401] });
      return;
    }
    const scripted = this.#take(method, chatId) ?? (this.#alwaysMethod === undefined || this.#alwaysMethod === method ? this.#always : undefined);
    if (scripted) {
      this.#answer(scripted, response, { method, token, chatId, at });
      return;
    }
    if (method === 'getMe') {
      this.calls.push({ method, token, chatId, at, answer: 200 });
      send(response, 200, { ok: true, result: { id: 42, is_bot: true, first_name: 'Alerts', username: 'alerts_test_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false } });
      return;
    }
    if (method === 'sendMessage') {
      const text = params.text === undefined ? '' : String(params.text);
      if (chatId === undefined || text.length === 0) {
        this.calls.push({ method, token, chatId, at, answer: 400 });
        send(response, 400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
        return;
      }
      if (text.length > 4096) {
        this.calls.push({ method, token, chatId, at, answer: 400 });
        send(response, 400, { ok: false, error_code: 400, description: 'Bad Request: message is too long' });
        return;
      }
      this.calls.push({ method, token, chatId, at, answer: 200 });
      const messageId = this.#nextMessageId++;
      const markup = parseMarkup(params.reply_markup);
      this.messages.push({
        token,
        chat_id: chatId,
        text,
        parse_mode: params.parse_mode === undefined ? undefined : String(params.parse_mode),
        at,
        message_id: messageId,
        ...(markup ? { reply_markup: markup } : {}),
      });
      send(response, 200, { ok: true, result: { message_id: messageId, date: Math.floor(at / 1000), chat: { id: Number(chatId) || 0, type: 'private' }, text } });
      return;
    }
    if (method === 'getUpdates') {
      const offset = params.offset === undefined ? undefined : Number(params.offset);
      const limit = params.limit === undefined ? 100 : Math.max(1, Math.min(100, Number(params.limit)));
      const timeoutS = params.timeout === undefined ? 0 : Math.max(0, Number(params.timeout));
      const call = { method, token, chatId, at, params: { ...params } };
      // Confirms what came before the offset, as Telegram does.
      if (offset !== undefined) this.#updates = this.#updates.filter((update) => (update.update_id as number) >= offset);
      if (this.#available(offset) > 0 || timeoutS === 0) {
        this.#servePoll(response, call, offset, limit, false);
        return;
      }
      const held: HeldPoll = {
        offset,
        limit,
        response,
        call,
        timer: setTimeout(() => {
          this.#held = this.#held.filter((item) => item !== held);
          this.#servePoll(response, call, offset, limit, false);
        }, timeoutS * 1000),
      };
      this.#held.push(held);
      // A client that gives up (an aborted poll) takes nothing with it: its updates stay unconfirmed.
      response.once('close', () => {
        if (!this.#held.includes(held)) return;
        clearTimeout(held.timer);
        this.#held = this.#held.filter((item) => item !== held);
      });
      return;
    }
    if (TRUE_METHODS.has(method)) {
      this.calls.push({ method, token, chatId, at, answer: 200, params: { ...params } });
      send(response, 200, { ok: true, result: true });
      return;
    }
    if (method === 'editMessageText') {
      const text = params.text === undefined ? '' : String(params.text);
      if (text.length === 0 || text.length > 4096) {
        this.calls.push({ method, token, chatId, at, answer: 400, params: { ...params } });
        send(response, 400, { ok: false, error_code: 400, description: text.length === 0 ? 'Bad Request: message text is empty' : 'Bad Request: MESSAGE_TOO_LONG' });
        return;
      }
      this.calls.push({ method, token, chatId, at, answer: 200, params: { ...params } });
      send(response, 200, { ok: true, result: { message_id: Number(params.message_id) || 0, date: Math.floor(at / 1000), chat: { id: Number(chatId) || 0, type: 'private' }, text, edit_date: Math.floor(at / 1000) } });
      return;
    }
    this.calls.push({ method, token, chatId, at, answer: 400 });
    send(response, 400, { ok: false, error_code: 400, description: `Bad Request: method ${method} is not served by this test server` });
  }

  #available(offset: number | undefined): number {
    return this.#updates.filter((update) => offset === undefined || (update.update_id as number) >= offset).length;
  }

  #servePoll(response: ServerResponse, call: Omit<TelegramCall, 'answer'>, offset: number | undefined, limit: number, empty: boolean): void {
    if (response.writableEnded || response.destroyed) return;
    const updates = empty ? [] : this.#updates.filter((update) => offset === undefined || (update.update_id as number) >= offset).slice(0, limit);
    this.calls.push({ ...call, answer: 200, updates: updates.length });
    send(response, 200, { ok: true, result: updates });
  }

  /** Answers the held long polls that now have updates to take. */
  #releaseHeld(): void {
    for (const held of [...this.#held]) {
      if (this.#available(held.offset) === 0) continue;
      clearTimeout(held.timer);
      this.#held = this.#held.filter((item) => item !== held);
      this.#servePoll(held.response, held.call, held.offset, held.limit, false);
    }
  }

  #take(method: string, chatId: string | undefined): TelegramAnswer | undefined {
    const entry = this.#script.find((item) => (item.method === undefined || item.method === method) && (item.chatId === undefined || item.chatId === chatId));
    if (!entry) return undefined;
    if (entry.skip > 0) {
      entry.skip--;
      return undefined;
    }
    if (--entry.remaining <= 0) this.#script = this.#script.filter((item) => item !== entry);
    return entry.answer;
  }

  #answer(answer: TelegramAnswer, response: ServerResponse, call: Omit<TelegramCall, 'answer'>): void {
    switch (answer.kind) {
      case 'hang':
        this.calls.push({ ...call, answer: 'hang' });
        return;
      case 'rate-limit':
        this.calls.push({ ...call, answer: 429 });
        send(response, 429, { ok: false, error_code: 429, description: `Too Many Requests: retry after ${answer.retryAfterS}`, parameters: { retry_after: answer.retryAfterS } });
        return;
      case 'error':
        this.calls.push({ ...call, answer: answer.status });
        send(response, answer.status, { ok: false, error_code: answer.status, description: answer.description ?? DESCRIPTIONS[answer.status] ?? 'Error' });
        return;
      case 'html':
        this.calls.push({ ...call, answer: answer.status });
        response.writeHead(answer.status, { 'content-type': 'text/html' });
        response.end(`<html><body><h1>${answer.status}</h1></body></html>`);
        return;
    }
  }
}

function parseMarkup(value: unknown): TelegramReplyMarkup | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as TelegramReplyMarkup;
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' ? (value as TelegramReplyMarkup) : undefined;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}


async function parseParams(raw: Buffer, contentType: string): Promise<Record<string, unknown>> {
  if (raw.length === 0) return {};
  if (contentType.includes('application/json')) return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  if (contentType.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  if (contentType.includes('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const params: Record<string, unknown> = {};
    form.forEach((value, key) => {
      params[key] = typeof value === 'string' ? value : `<file ${value.name}>`;
    });
    return params;
  }
  return {};
}

/** A Telegram server on a free port, closed by the test file's cleanups. */
export async function listeningTelegram(cleanups: (() => Promise<void> | void)[], options: { token?: string } = {}): Promise<TelegramServer> {
  const server = new TelegramServer(options);
  await server.listen();
  cleanups.push(() => server.close());
  return server;
}
