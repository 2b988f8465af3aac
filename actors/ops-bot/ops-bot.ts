import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Api, GrammyError, HttpError } from 'grammy';
import type { CallbackQuery, InlineKeyboardMarkup, Message, Update } from 'grammy/types';
import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import { describe, RuntimeError, type RuntimeErrorCode } from '../../src/errors.js';
import type { HealthChecks } from '../../src/health/health-checks.js';
import type { Initiator } from '../../src/operations/initiator.js';
import type { Operations } from '../../src/operations/operations.js';
import { tokenScrubber } from '../alerts/channels/telegram-transport.js';
import { humanDuration } from '../../src/operations/human-units.js';
import { describeCommand, needsConfirmation, parseCommand, validateCommand, type BotCommand, type CommandScope } from './commands.js';
import { Confirmations } from './confirmations.js';
import {
  escapeHtml,
  renderError,
  renderHealth,
  renderHelp,
  renderLogs,
  renderQueue,
  renderRecover,
  renderRestart,
  renderSilence,
  renderStatus,
  renderTest,
} from './render.js';

export const OPS_BOT_CHECK = 'ops-bot';
/** The updates the bot asks for; anything else Telegram sends anyway is ignored and counted. */
const ALLOWED_UPDATES = ['message', 'edited_message', 'callback_query'] as const;
/** How often a bot that keeps polling refreshes its `ok` check (a change is reported at once). */
const CHECK_REFRESH_MS = 60_000;
/** A 429 on an answer is waited out this many times, each wait at most `MAX_RETRY_AFTER_S`. */
const SEND_RETRIES = 5;
const MAX_RETRY_AFTER_S = 60;
/** Chats whose ignored updates were already warned about (the oldest forgotten first). */
const MAX_WARNED_IGNORES = 1_000;

/** Why an update got no answer: counted per reason (the tree node's detail, the feature's offer). */
export type IgnoreReason =
  /** A message from a chat not on OPS_ALLOWED_CHAT_IDS. */
  | 'stranger'
  /** A button press from a chat not on the list. */
  | 'callbackStranger'
  /** An allowed chat pressing a button of another chat's question. */
  | 'callbackForeign'
  /** An edited message, from anyone: a command is only taken as first sent. */
  | 'edited'
  /** An update kind the bot does not take (channel posts, inline queries, ...). */
  | 'unknownKind'
  /** An allowed chat's message that is not a command (or `/cmd@another_bot`). */
  | 'notCommand';

export function emptyIgnoreCounts(): Record<IgnoreReason, number> {
  return { stranger: 0, callbackStranger: 0, callbackForeign: 0, edited: 0, unknownKind: 0, notCommand: 0 };
}

/** What outlives one incarnation of the bot: the update offset (never handle an update twice) and the counters. */
export interface OpsBotState {
  /** The next update_id to ask for: every update before it was taken. */
  offset: number | undefined;
  /** The bot's @username (getMe), to tell `/cmd@us` from `/cmd@another_bot`. */
  username: string | undefined;
  webhookCleared: boolean;
  readonly ignored: Record<IgnoreReason, number>;
  /** Chat and reason pairs already warned about; later ones are logged at info. */
  readonly warnedIgnores: Set<string>;
  /** Commands answered. */
  answered: number;
  /** Answers Telegram did not take (logged, not retried beyond 429s). */
  failedSends: number;
  /** The last poll failure logged, so an outage is one line per change, not one per retry. */
  lastFailure: string | undefined;
}

export function initialOpsBotState(): OpsBotState {
  return { offset: undefined, username: undefined, webhookCleared: false, ignored: emptyIgnoreCounts(), warnedIgnores: new Set(), answered: 0, failedSends: 0, lastFailure: undefined };
}

export interface OpsBotOptions {
  /** OPS_BOT_TOKEN: never in a log line, a check or an error. */
  readonly token: string;
  readonly apiRoot: string;
  readonly allowedChatIds: readonly string[];
  readonly confirmTtlMs: number;
  /** getUpdates' long-poll timeout (seconds); a stop aborts the request in flight anyway. */
  readonly pollTimeoutSeconds: number;
  /** One answer's budget (sendMessage, answerCallbackQuery, ...). */
  readonly requestTimeoutMs: number;
  readonly operations: Operations;
  readonly checks: HealthChecks;
  readonly scope: Omit<CommandScope, 'hasPath'>;
  readonly state: OpsBotState;
}

export type OpsBotMessage =
  | { readonly type: 'updates'; readonly updates: readonly Update[] }
  | { readonly type: 'poll-failed'; readonly loop: object; readonly error: unknown }
  | { readonly type: 'expire'; readonly nonce: string }
  /** An answer of a command an earlier incarnation ran (`/restart /ops-bot` answers after its own restart). */
  | { readonly type: 'deliver'; readonly chatId: string; readonly texts: readonly string[] }
  | { readonly type: 'status' };

export interface OpsBotStatus {
  readonly state: 'connecting' | 'polling';
  readonly ignored: Readonly<Record<IgnoreReason, number>>;
  readonly answered: number;
  readonly failedSends: number;
  readonly pendingConfirmations: number;
}

/** A restart or recovery waiting for its button. */
interface Question {
  readonly command: Extract<BotCommand, { kind: 'restart' | 'recover' }>;
}

type Signal = Parameters<Api['getMe']>[0];

/**
 * `/ops-bot`: the operations (src/operations) from a phone, over Telegram long polling.
 *
 * The poll loop is its own (`getUpdates` with an offset, not grammY's `bot.start()`), so what
 * goes wrong is a state: a 409 (another poller with the same token), a network error or a
 * 5xx report the `ops-bot` check `warn` and fail the actor with an outage code, which its
 * supervisor retries for ever at the capped backoff (a dependency child: `backing_off` with
 * an outage in the tree). `warn`, not `critical`: the operators' phone channel being down
 * must not turn GET /health into a 503 that takes a serving runtime out of a load balancer.
 * A refused token (401) is critical and not an outage (it needs fixing). The check is
 * `ok` again after the next getUpdates that succeeds. A stop aborts the request in flight.
 *
 * Only OPS_ALLOWED_CHAT_IDS get an answer; everything else (other chats' messages and button
 * presses, edited messages, other update kinds) is ignored, counted and logged with the chat
 * id and at most the command's name. Restart and recover ask first (confirmations.ts).
 * Commands run one at a time outside the mailbox, so a slow operation (a recovery sweep) never
 * stops the polling; answers go out in order, and one Telegram refuses is logged and dropped.
 */
export function opsBot(options: OpsBotOptions): Behaviour<OpsBotMessage, OpsBotStatus | undefined> {
  const { state, operations, checks } = options;
  const allowed = new Set(options.allowedChatIds);
  const scrub = tokenScrubber(options.token);
  const confirmations = new Confirmations<Question>({ ttlMs: options.confirmTtlMs });
  const scope: CommandScope = { ...options.scope, hasPath: (path) => operations.hasPath(path) };
  const stopping = new AbortController();
  const loop = {};
  let alive = true;
  let phase: OpsBotStatus['state'] = 'connecting';
  let agent: HttpAgent | undefined;
  let api: Api | undefined;
  /** Commands, one at a time. */
  let work: Promise<void> = Promise.resolve();
  /** Answers, in order. */
  let outbox: Promise<void> = Promise.resolve();
  let reported: { key: string; at: number } | undefined;
  let mailSeq = 0;
  let log: ActorContext<OpsBotMessage>['log'] | undefined;

  const status = (): OpsBotStatus => ({
    state: phase,
    ignored: { ...state.ignored },
    answered: state.answered,
    failedSends: state.failedSends,
    pendingConfirmations: confirmations.size,
  });

  function detail(ctx: ActorContext<OpsBotMessage>): void {
    ctx.setDetail({ ...status() });
  }

  function client(): Api {
    if (api) return api;
    agent = options.apiRoot.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    // grammY runs on node-fetch, which takes `agent`; its types describe the web fetch, which does not.
    api = new Api(options.token, { apiRoot: options.apiRoot, timeoutSeconds: options.pollTimeoutSeconds + 15, baseFetchConfig: { agent, duplex: 'half' as const } });
    return api;
  }

  function signal(timeoutMs?: number): Signal {
    const signals = timeoutMs === undefined ? stopping.signal : AbortSignal.any([stopping.signal, AbortSignal.timeout(timeoutMs)]);
    // grammY types its signal as the abort-controller polyfill's; Node's own is what it uses at run time.
    return signals as unknown as Signal;
  }

  function tell(ctx: ActorContext<OpsBotMessage>, message: OpsBotMessage): void {
    // A full mailbox refuses tells; a timer tick bypasses its capacity.
    if (!ctx.self.tell(message)) ctx.timers.once(`mail:${++mailSeq}`, 0, message);
  }

  function reportCheck(ctx: ActorContext<OpsBotMessage>, level: 'ok' | 'warn' | 'critical', message: string): void {
    const now = ctx.clock.now();
    const ignored = Object.values(state.ignored).reduce((sum, count) => sum + count, 0);
    const key = `${level}\u0000${message}`;
    if (level === 'ok' && reported?.key === key && now - reported.at < CHECK_REFRESH_MS) return;
    reported = { key, at: now };
    checks.report(OPS_BOT_CHECK, { status: level, message, at: new Date(now).toISOString(), data: { answered: state.answered, ignored, failedSends: state.failedSends } });
  }

  async function pause(ms: number): Promise<void> {
    if (stopping.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
      stopping.signal.addEventListener('abort', done, { once: true });
    });
  }

  async function poll(ctx: ActorContext<OpsBotMessage>): Promise<void> {
    try {
      const telegram = client();
      if (state.username === undefined) state.username = (await telegram.getMe(signal(options.requestTimeoutMs))).username;
      if (!state.webhookCleared) {
        // Long polling and a webhook exclude each other (Telegram answers getUpdates 409 while one is set).
        await telegram.deleteWebhook({ drop_pending_updates: false }, signal(options.requestTimeoutMs));
        state.webhookCleared = true;
      }
      while (alive) {
        const startedAt = Date.now();
        const updates = await telegram.getUpdates({ offset: state.offset, timeout: options.pollTimeoutSeconds, allowed_updates: [...ALLOWED_UPDATES] }, signal());
        if (!alive) return;
        // Taken before they are handled: an update is handled at most once, even across a crash.
        for (const update of updates) state.offset = Math.max(state.offset ?? 0, update.update_id + 1);
        phase = 'polling';
        if (state.lastFailure !== undefined) {
          ctx.log.info({ after: state.lastFailure }, 'ops bot polls Telegram again');
          state.lastFailure = undefined;
        }
        reportCheck(ctx, 'ok', 'polling');
        if (updates.length > 0) tell(ctx, { type: 'updates', updates });
        else detail(ctx);
        // A server that answers an empty long poll at once must not make this a busy loop.
        if (updates.length === 0 && Date.now() - startedAt < 200) await pause(1_000);
      }
    } catch (error) {
      if (alive) tell(ctx, { type: 'poll-failed', loop, error });
    }
  }

  /** A poll's failure as the check says it and the error the actor fails with. */
  function pollFailure(error: unknown): { code: RuntimeErrorCode; message: string } {
    if (error instanceof GrammyError) {
      const description = scrub(error.description);
      if (error.error_code === 409) {
        if (/webhook/i.test(error.description)) {
          state.webhookCleared = false;
          return { code: 'WAR_ERR_OPS_BOT_CONFLICT', message: `a webhook is set for OPS_BOT_TOKEN (409): ${description}; deleting it on the next attempt` };
        }
        return { code: 'WAR_ERR_OPS_BOT_CONFLICT', message: 'another client polls with OPS_BOT_TOKEN (409)' };
      }
      if (error.error_code === 401 || error.error_code === 403 || error.error_code === 404) {
        return { code: 'WAR_ERR_CONFIG_INVALID', message: `Telegram refused OPS_BOT_TOKEN (${error.error_code}: ${description}); fix the token and restart /ops-bot` };
      }
      return { code: 'WAR_ERR_OPS_BOT_UNREACHABLE', message: `the Telegram Bot API failed ${error.method} (${error.error_code}: ${description})` };
    }
    if (error instanceof HttpError) {
      const cause = error.error instanceof Error ? `: ${error.error.message}` : '';
      return { code: 'WAR_ERR_OPS_BOT_UNREACHABLE', message: scrub(`the Telegram Bot API cannot be reached (${error.message}${cause})`) };
    }
    return { code: 'WAR_ERR_OPS_BOT_UNREACHABLE', message: scrub(`polling Telegram failed: ${describe(error)}`) };
  }

  function failed(error: unknown, ctx: ActorContext<OpsBotMessage>): never {
    const failure = pollFailure(error);
    reportCheck(ctx, failure.code === 'WAR_ERR_CONFIG_INVALID' ? 'critical' : 'warn', failure.message);
    // The supervisor does not log an outage: the child that owns the connection logs it, once per change.
    if (state.lastFailure !== failure.message) {
      state.lastFailure = failure.message;
      if (failure.code === 'WAR_ERR_CONFIG_INVALID') ctx.log.error({ code: failure.code }, `ops bot: ${failure.message}`);
      else ctx.log.warn({ code: failure.code }, `ops bot: ${failure.message}; retrying at the backoff`);
    }
    throw new RuntimeError(failure.code, failure.message);
  }

  // ---- answers -------------------------------------------------------------------------

  async function call<T>(what: string, chatId: string, run: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        if (!alive) return undefined;
        const retryAfter = error instanceof GrammyError && error.error_code === 429 ? error.parameters.retry_after : undefined;
        if (retryAfter !== undefined && retryAfter <= MAX_RETRY_AFTER_S && attempt < SEND_RETRIES) {
          await pause(retryAfter * 1_000);
          if (!alive) return undefined;
          continue;
        }
        state.failedSends++;
        const text = error instanceof HttpError && error.error instanceof Error ? `${error.message}: ${error.error.message}` : describe(error);
        log?.warn({ chatId, method: what, error: scrub(text) }, 'ops bot: Telegram did not take an answer');
        return undefined;
      }
    }
  }

  function sendOne(chatId: string, text: string, keyboard?: InlineKeyboardMarkup): Promise<number | undefined> {
    return call('sendMessage', chatId, async () => {
      const sent = await client().sendMessage(chatId, text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...(keyboard ? { reply_markup: keyboard } : {}) }, signal(options.requestTimeoutMs));
      return sent.message_id;
    });
  }

  /** Queues answers for a chat; from an incarnation that has ended, they go to the next one. */
  function deliver(ctx: ActorContext<OpsBotMessage>, chatId: string, texts: readonly string[]): Promise<void> {
    if (!alive) {
      ctx.self.tell({ type: 'deliver', chatId, texts });
      return Promise.resolve();
    }
    const sending = outbox.then(async () => {
      for (const text of texts) {
        if (!alive) return;
        await sendOne(chatId, text);
      }
    });
    outbox = sending.catch(() => undefined);
    return outbox;
  }

  function edit(chatId: string, messageId: number | undefined, text: string): void {
    if (messageId === undefined) return;
    outbox = outbox.then(() => call('editMessageText', chatId, () => client().editMessageText(chatId, messageId, text, { parse_mode: 'HTML' }, signal(options.requestTimeoutMs)))).then(() => undefined);
  }

  function answerCallback(queryId: string, chatId: string, text: string): void {
    // Not queued behind answers: Telegram shows the button spinning until it is answered.
    void call('answerCallbackQuery', chatId, () => client().answerCallbackQuery(queryId, { text }, signal(options.requestTimeoutMs)));
  }

  function enqueue(ctx: ActorContext<OpsBotMessage>, task: () => Promise<void>): void {
    work = work.then(task).catch((error: unknown) => ctx.log.warn({ error: scrub(describe(error)) }, 'ops bot: a command failed unexpectedly'));
  }

  // ---- updates -------------------------------------------------------------------------

  function ignore(ctx: ActorContext<OpsBotMessage>, reason: IgnoreReason, chatId: string | undefined, fields: Record<string, unknown> = {}): void {
    state.ignored[reason]++;
    const why: Record<IgnoreReason, string> = {
      stranger: 'a message from a chat not on OPS_ALLOWED_CHAT_IDS',
      callbackStranger: 'a button press from a chat not on OPS_ALLOWED_CHAT_IDS',
      callbackForeign: "a button press on another chat's confirmation",
      edited: 'an edited message',
      unknownKind: 'an update kind it does not take',
      notCommand: 'a message that is not one of its commands',
    };
    const line = { chatId: chatId ?? null, reason, ...fields };
    // Warned once per chat and reason: a stranger flooding the bot must not push real warnings out of the log ring.
    const seen = `${reason}\u0000${chatId ?? ''}`;
    if (reason === 'notCommand' || state.warnedIgnores.has(seen)) {
      ctx.log.info(line, `ops bot ignored ${why[reason]}`);
      return;
    }
    if (state.warnedIgnores.size >= MAX_WARNED_IGNORES) state.warnedIgnores.delete(state.warnedIgnores.values().next().value as string);
    state.warnedIgnores.add(seen);
    ctx.log.warn(line, `ops bot ignored ${why[reason]} (further ones from this chat are logged at info)`);
  }

  function dispatch(update: Update, ctx: ActorContext<OpsBotMessage>): void {
    if (update.message) return onMessage(update.message, ctx);
    if (update.edited_message) return ignore(ctx, 'edited', chatOf(update.edited_message), { command: commandName(update.edited_message.text) });
    if (update.callback_query) return onCallback(update.callback_query, ctx);
    const kind = Object.keys(update).find((key) => key !== 'update_id') ?? 'empty';
    const anyChat = (update as unknown as Record<string, { chat?: { id?: number } } | undefined>)[kind]?.chat?.id;
    ignore(ctx, 'unknownKind', anyChat === undefined ? undefined : String(anyChat), { kind: kind.slice(0, 40) });
  }

  function onMessage(message: Message, ctx: ActorContext<OpsBotMessage>): void {
    const chatId = chatOf(message);
    if (!allowed.has(chatId)) return ignore(ctx, 'stranger', chatId, { command: commandName(message.text) });
    const who = initiator(chatId, message.from?.username);
    const parsed = parseCommand(message.text ?? '', state.username);
    switch (parsed.type) {
      case 'not_command':
        return ignore(ctx, 'notCommand', chatId);
      case 'other_bot':
        return ignore(ctx, 'notCommand', chatId, { command: `/${parsed.name}`, addressedTo: 'another bot' });
      case 'unknown':
        void deliver(ctx, chatId, [`unknown command <code>/${escapeHtml(parsed.name)}</code>; /help lists them`]);
        return;
      case 'usage':
        void deliver(ctx, chatId, [escapeHtml(parsed.message)]);
        return;
      case 'command':
        break;
    }
    const command = parsed.command;
    ctx.log.info({ chatId, command: command.kind, by: who.who }, 'ops bot command');
    if (!needsConfirmation(command)) {
      enqueue(ctx, async () => {
        const texts = await answer(command, who, ctx);
        state.answered++;
        await deliver(ctx, chatId, texts);
      });
      return;
    }
    const refusal = validateCommand(command, scope);
    if (refusal) {
      state.answered++;
      void deliver(ctx, chatId, [`❌ ${escapeHtml(refusal)}`]);
      return;
    }
    const label = describeCommand(command);
    const pending = confirmations.ask(chatId, { command }, label, ctx.clock.now());
    ctx.timers.once(`expire:${pending.nonce}`, confirmations.ttlMs, { type: 'expire', nonce: pending.nonce });
    const question = `Run <b>${escapeHtml(label)}</b>? Press within ${humanDuration(confirmations.ttlMs)}.`;
    outbox = outbox.then(async () => {
      const messageId = await sendOne(chatId, question, confirmations.keyboard(pending));
      const still = confirmations.get(pending.nonce);
      if (still) still.messageId = messageId;
    });
  }

  function onCallback(query: CallbackQuery, ctx: ActorContext<OpsBotMessage>): void {
    const chatId = query.message ? String(query.message.chat.id) : String(query.from.id);
    if (!allowed.has(chatId)) return ignore(ctx, 'callbackStranger', chatId);
    const press = confirmations.press(query.data, chatId, ctx.clock.now(), query.message?.message_id);
    switch (press.kind) {
      case 'unknown':
        answerCallback(query.id, chatId, 'not a button of this bot');
        return;
      case 'expired':
        answerCallback(query.id, chatId, 'expired');
        return;
      case 'foreign':
        ignore(ctx, 'callbackForeign', chatId);
        answerCallback(query.id, chatId, 'this confirmation belongs to another chat');
        return;
      case 'cancelled':
        ctx.timers.cancel(`expire:${press.pending.nonce}`);
        answerCallback(query.id, chatId, 'cancelled');
        edit(chatId, press.pending.messageId, `✖ cancelled: <b>${escapeHtml(press.pending.label)}</b> (not run)`);
        return;
      case 'confirmed': {
        const { pending } = press;
        ctx.timers.cancel(`expire:${pending.nonce}`);
        const who = initiator(chatId, query.from.username);
        ctx.log.info({ chatId, command: pending.action.command.kind, by: who.who }, 'ops bot confirmation pressed');
        answerCallback(query.id, chatId, `running ${pending.label}`);
        edit(chatId, pending.messageId, `⏳ <b>${escapeHtml(pending.label)}</b> confirmed by ${escapeHtml(who.who)}`);
        enqueue(ctx, async () => {
          const texts = await answer(pending.action.command, who, ctx);
          state.answered++;
          await deliver(ctx, chatId, texts);
        });
        return;
      }
    }
  }

  /** Runs a command through the operations (which audit what changes) and renders its answer. */
  async function answer(command: BotCommand, by: Initiator, ctx: ActorContext<OpsBotMessage>): Promise<string[]> {
    try {
      switch (command.kind) {
        case 'help':
          return renderHelp();
        case 'status':
          return renderStatus(operations.status(), ctx.clock.now());
        case 'health':
          return renderHealth(operations.health());
        case 'queue':
          return renderQueue(await operations.queue());
        case 'logs':
          return renderLogs(operations.logs({ level: 'warn', limit: command.limit }), command.limit);
        case 'test':
          return renderTest(await operations.test(by));
        case 'silence':
          return renderSilence(operations.silence({ matchers: command.matchers, durationMs: command.durationMs, comment: command.comment }, by));
        case 'restart':
          return renderRestart(await operations.restart(command.path, by));
        case 'recover':
          return renderRecover(await operations.recover(command.request, by));
      }
    } catch (error) {
      return renderError(error, scrub);
    }
  }

  return {
    start(ctx) {
      log = ctx.log;
      detail(ctx);
      void poll(ctx);
    },
    receive(message, ctx) {
      switch (message.type) {
        case 'status':
          return status();
        case 'updates':
          // Also an earlier incarnation's: their offset is taken, so they are handled here or never.
          for (const update of message.updates) {
            try {
              dispatch(update, ctx);
            } catch (error) {
              ctx.log.warn({ error: scrub(describe(error)), updateId: update.update_id }, 'ops bot could not handle an update');
            }
          }
          break;
        case 'poll-failed':
          if (message.loop !== loop) return undefined;
          failed(message.error, ctx);
          break;
        case 'expire': {
          const now = ctx.clock.now();
          const pending = confirmations.expire(message.nonce, now);
          if (pending) edit(pending.chatId, pending.messageId, `⌛ expired: <b>${escapeHtml(pending.label)}</b> (not run)`);
          else {
            const waiting = confirmations.get(message.nonce);
            // A timer a hair early by the clock: look again at its time.
            if (waiting) ctx.timers.once(`expire:${waiting.nonce}`, Math.max(1, waiting.expiresAt - now), message);
          }
          break;
        }
        case 'deliver':
          void deliver(ctx, message.chatId, message.texts);
          break;
      }
      detail(ctx);
      return undefined;
    },
    stop(_ctx, reason) {
      alive = false;
      stopping.abort();
      agent?.destroy();
      // A failure leaves its critical check for the backoff; a stop asked for leaves no stale `ok`.
      if (reason.kind !== 'failure') checks.remove(OPS_BOT_CHECK);
    },
  };
}

function chatOf(message: { readonly chat: { readonly id: number } }): string {
  return String(message.chat.id);
}

/** The command's name only (`/restart`), never its arguments or any other text. */
function commandName(text: string | undefined): string | null {
  const match = text === undefined ? null : /^\/([A-Za-z0-9_]{1,64})/.exec(text.trim());
  return match ? `/${match[1]}` : null;
}

function initiator(chatId: string, username: string | undefined): Initiator {
  return { frontEnd: 'bot', who: `bot chat ${chatId}${username ? ` @${username}` : ''}` };
}
