import type { WAMessage } from '@whiskeysockets/baileys';
import type { ActorContext, Behaviour, ThreadBehaviourFactory } from '../../src/actor/behaviour.js';
import { RuntimeError } from '../../src/errors.js';
import type { AuthStore, AuthStoreSpec } from './auth-store.js';
import { loadSessionAuth, type SessionAuth } from './auth-state.js';
import { closeCodeName, closeCodeOf, decideClose } from './close-codes.js';
import { baileysLogger, DecryptErrorLog, routeConsole } from './decrypt-error-log.js';
import { mapInbound, type IgnoredReason } from './inbound.js';
import { openAuthStore } from './open-auth-store.js';
import { refused, type InboundText, type Outcome, type PairReply, type SocketHints, type SocketMessage, type SocketReply, type SocketReport } from './session-protocol.js';
import type { SessionStatus } from './session-status.js';
import type { ConnectionUpdate, SessionSocket, SocketFactory, SocketOptions } from './wa-socket.js';

/** Cloneable: the socket actor is created from these inside the session's worker thread. */
export interface SessionSocketArgs {
  readonly sessionId: string;
  readonly gatewayPath: string;
  readonly auth: AuthStoreSpec;
  readonly socket: SocketOptions;
  /** The module and export of the SocketFactory; unset: real Baileys. */
  readonly factory?: { readonly module: string; readonly exportName: string };
  /** Route the thread's console (libsignal's output) through the decrypt-error limiter; only in the session's own thread. */
  readonly routeConsole: boolean;
  readonly decryptLog: { readonly perWindow: number; readonly windowMs: number };
  /** How often changed decrypt-error counts are reported to the gateway. */
  readonly reportIntervalMs: number;
  readonly gatewayAskTimeoutMs: number;
}

/** Live dependencies for a local placement (tests): used instead of what `args` names. */
export interface SessionSocketOverrides {
  readonly factory?: SocketFactory;
  readonly authStore?: AuthStore;
}

type Internal =
  | { readonly type: 'connection'; readonly generation: number; readonly update: ConnectionUpdate }
  | { readonly type: 'upsert'; readonly generation: number; readonly messages: readonly WAMessage[]; readonly kind: 'notify' | 'append' }
  | { readonly type: 'report_errors' };

type Message = SocketMessage | Internal;

export class SessionClosedError extends RuntimeError {
  constructor(readonly closeCode: number | undefined, cause: unknown) {
    super('ERR_WA_CLOSED', `WhatsApp connection closed: ${closeCode ?? 'no code'} ${closeCodeName(closeCode)}`, { cause });
  }
}

/** Resolved by the socket's own callbacks, not through the mailbox, so a `pair` can wait for it. */
interface QrWaiter {
  promise: Promise<void>;
  settle(error?: Error): void;
}

function qrWaiter(): QrWaiter {
  let settle!: (error?: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  promise.catch(() => undefined);
  return { promise, settle };
}

/**
 * One WhatsApp number's socket. It owns the Baileys socket and applies the close-code rule
 * (close-codes.ts): `backoff` fails this incarnation so the supervisor restarts it after its
 * delay; `reconnect_now` opens a new socket in place; `halt` and `await_pairing` close and
 * stay up without a socket. Never two sockets: `connect` is single-flight and a successor
 * opens only after its predecessor's WebSocket has closed.
 */
export function sessionSocket(args: SessionSocketArgs, overrides: SessionSocketOverrides = {}): Behaviour<Message, SocketReply> {
  let store: AuthStore | undefined;
  let auth: SessionAuth | undefined;
  let factory: SocketFactory | undefined;
  let socket: SessionSocket | undefined;
  let generation = 0;
  let status: SessionStatus = 'connecting';
  let qrShown = false;
  let qr = qrWaiter();
  let after515 = false;
  let spent401Retry = false;
  let hints: SocketHints = { previous500s: 0, down: undefined };
  let decryptErrors: DecryptErrorLog | undefined;
  let reportedErrors = '';
  let restoreConsole: (() => void) | undefined;

  const report = (ctx: ActorContext<Message>, message: SocketReport): void => {
    if (!ctx.lookup<SocketReport>(args.gatewayPath)?.tell(message)) ctx.log.warn({ report: message.type }, 'the session gateway is not there');
  };

  const setStatus = (ctx: ActorContext<Message>, next: SessionStatus): void => {
    status = next;
    ctx.setDetail({ status });
  };

  const connect = (ctx: ActorContext<Message>): void => {
    if (socket || !auth || !factory) return;
    const mine = ++generation;
    const baileysLog = ctx.log.child({ component: 'baileys' });
    // Baileys narrates every connection at info; an operator at info wants our lines, not its.
    if (baileysLog.level === 'info') baileysLog.level = 'warn';
    qrShown = false;
    qr = qrWaiter();
    const waiter = qr;
    setStatus(ctx, 'connecting');
    report(ctx, { type: 'status', status: 'connecting' });
    socket = factory({
      options: args.socket,
      auth: auth.state,
      saveCreds: auth.saveCreds,
      logger: baileysLogger(baileysLog, decryptErrors as DecryptErrorLog),
      handlers: {
        connection(update) {
          if (mine !== generation) return;
          if (update.qr) waiter.settle();
          if (update.connection === 'close') waiter.settle(new Error(`the connection closed before pairing could start (${closeCodeOf(update.closeError) ?? 'no code'})`));
          ctx.self.tell({ type: 'connection', generation: mine, update });
        },
        messages(messages, kind) {
          if (mine === generation) ctx.self.tell({ type: 'upsert', generation: mine, messages, kind });
        },
      },
    });
  };

  const closeSocket = async (): Promise<void> => {
    const closing = socket;
    socket = undefined;
    generation++;
    await closing?.close();
  };

  const onConnection = async (update: ConnectionUpdate, ctx: ActorContext<Message>): Promise<void> => {
    if (update.qr) {
      qrShown = true;
      setStatus(ctx, 'pairing');
      report(ctx, { type: 'qr', qr: update.qr });
    }
    if (update.connection === 'open') {
      after515 = false;
      spent401Retry = false;
      setStatus(ctx, 'open');
      report(ctx, { type: 'status', status: 'open' });
    }
    if (update.connection !== 'close') return;
    const code = closeCodeOf(update.closeError);
    const decision = decideClose(code, { pairing: qrShown && update.registered !== true, after515, spent401Retry, previous500s: hints.previous500s });
    ctx.log.info({ code, reason: closeCodeName(code), action: decision.action }, 'WhatsApp connection closed');
    await closeSocket();
    switch (decision.action) {
      case 'backoff': {
        if (decision.clearSignalSessions) {
          const cleared = await auth?.clearSignalSessions();
          ctx.log.warn({ cleared }, 'repeated bad sessions: Signal sessions cleared, credentials kept');
        }
        report(ctx, { type: 'closed', code, action: 'backoff', clearedSignalSessions: decision.clearSignalSessions });
        ctx.fail(new SessionClosedError(code, update.closeError));
        return;
      }
      case 'reconnect_now':
        report(ctx, { type: 'closed', code, action: 'reconnect_now', clearedSignalSessions: false });
        if (decision.spends401Retry) spent401Retry = true;
        after515 = code === 515;
        connect(ctx);
        return;
      case 'await_pairing':
        report(ctx, { type: 'closed', code, action: 'await_pairing', clearedSignalSessions: false });
        setStatus(ctx, 'awaiting_pairing');
        report(ctx, { type: 'status', status: 'awaiting_pairing' });
        return;
      case 'halt':
        if (decision.dropCredentials && store) {
          await auth?.dropCredentials();
          auth = await loadSessionAuth(store);
        }
        report(ctx, { type: 'closed', code, action: 'halt', clearedSignalSessions: false });
        setStatus(ctx, decision.status);
        ctx.log.error({ code, status: decision.status, alert: true }, `WhatsApp session ${args.sessionId}: ${decision.alert}`);
        report(ctx, { type: 'halted', status: decision.status, code, alert: decision.alert });
        return;
    }
  };

  const onUpsert = async (messages: readonly WAMessage[], kind: 'notify' | 'append', ctx: ActorContext<Message>): Promise<void> => {
    const texts: InboundText[] = [];
    const ignored: Partial<Record<IgnoredReason, number>> = {};
    for (const message of messages) {
      let mapped = mapInbound(message, kind);
      if (mapped.kind === 'needs_phone') {
        const phoneJid = await socket?.phoneForLid(mapped.lid).catch(() => undefined);
        mapped = mapInbound(message, kind, phoneJid ?? '');
      }
      if (mapped.kind === 'text') texts.push({ id: mapped.id, phone: mapped.phone, text: mapped.text, at: mapped.at });
      else if (mapped.kind === 'ignored') ignored[mapped.reason] = (ignored[mapped.reason] ?? 0) + 1;
    }
    if (Object.keys(ignored).length > 0) report(ctx, { type: 'ignored', reasons: ignored });
    if (texts.length === 0) return;
    const gateway = ctx.lookup<SocketReport, unknown>(args.gatewayPath);
    try {
      if (!gateway) throw new Error('the session gateway is not there');
      await gateway.ask({ type: 'inbound', messages: texts }, { timeoutMs: args.gatewayAskTimeoutMs });
    } catch (error) {
      ctx.log.error({ err: error, ids: texts.map((text) => text.id) }, 'inbound messages could not be handed to the gateway');
    }
  };

  const pair = async (phone: string | undefined, ctx: ActorContext<Message>): Promise<Outcome<PairReply>> => {
    if (status === 'open') return refused('ERR_WA_ALREADY_PAIRED', `session ${args.sessionId} is connected; log it out before pairing again`);
    if (!socket) {
      spent401Retry = false;
      connect(ctx);
    }
    if (phone === undefined) return { ok: true, value: { status } };
    const current = socket;
    try {
      if (!qrShown) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('WhatsApp did not offer pairing in time')), args.socket.connectTimeoutMs);
        });
        await Promise.race([qr.promise, timeout]).finally(() => clearTimeout(timer));
      }
      if (!current || current !== socket) return refused('ERR_WA_PAIRING_FAILED', 'the connection closed before pairing could start');
      const code = await current.requestPairingCode(phone);
      return { ok: true, value: { status: 'pairing', code } };
    } catch (error) {
      return refused('ERR_WA_PAIRING_FAILED', error instanceof Error ? error.message : String(error));
    }
  };

  return {
    async start(ctx) {
      decryptErrors = new DecryptErrorLog(ctx.log.child({ component: 'decrypt' }), () => ctx.clock.now(), args.decryptLog);
      if (args.routeConsole) restoreConsole = routeConsole(globalThis, ctx.log.child({ component: 'console' }), decryptErrors);
      factory = overrides.factory ?? (args.factory ? await loadFactory(args.factory) : (await import('./baileys-socket.js')).createBaileysSocket);
      store = overrides.authStore ?? openAuthStore(args.auth);
      auth = await loadSessionAuth(store);
      const gateway = ctx.lookup<SocketReport, SocketHints>(args.gatewayPath);
      hints = (await gateway?.ask({ type: 'socket_started' }, { timeoutMs: args.gatewayAskTimeoutMs })) ?? hints;
      ctx.timers.every('report_errors', args.reportIntervalMs, { type: 'report_errors' });
      if (hints.down) {
        // Never reconnect blindly out of a halt: only a pairing request brings the socket back.
        setStatus(ctx, hints.down);
        ctx.log.warn({ status: hints.down }, 'session restarted while down; waiting for a pairing request');
        return;
      }
      connect(ctx);
    },
    async receive(message, ctx) {
      switch (message.type) {
        case 'connection':
          if (message.generation === generation) await onConnection(message.update, ctx);
          return undefined;
        case 'upsert':
          await onUpsert(message.messages, message.kind, ctx);
          return undefined;
        case 'report_errors': {
          const counts = decryptErrors?.counts;
          const serialised = JSON.stringify(counts);
          if (counts && serialised !== reportedErrors) {
            reportedErrors = serialised;
            report(ctx, { type: 'decrypt_errors', counts: { ...counts } });
          }
          return undefined;
        }
        case 'send': {
          if (status !== 'open' || !socket) return refused('ERR_WA_NOT_OPEN', `session ${args.sessionId} is ${status}`);
          // A send that throws (a timeout, a socket dying under it) is the caller's to retry, not this actor's failure.
          try {
            const messageId = await socket.sendText(`${message.phone}@s.whatsapp.net`, message.text, message.messageId);
            return { ok: true, value: { messageId } };
          } catch (error) {
            return refused('ERR_WA_SEND_FAILED', error instanceof Error ? error.message : String(error));
          }
        }
        case 'pair':
          return pair(message.phone, ctx);
      }
    },
    async stop() {
      qr.settle(new Error('the session stopped'));
      await closeSocket();
      restoreConsole?.();
      if (!overrides.authStore) await store?.close();
    },
  };
}

async function loadFactory(spec: { module: string; exportName: string }): Promise<SocketFactory> {
  const loaded = (await import(spec.module)) as Record<string, unknown>;
  const factory = loaded[spec.exportName];
  if (typeof factory !== 'function') throw new TypeError(`${spec.module} has no function export ${spec.exportName}`);
  return factory as SocketFactory;
}

/** The export the session's worker thread creates the actor from. */
export const createSessionSocket: ThreadBehaviourFactory<SessionSocketArgs, Message, SocketReply> = (args) => sessionSocket(args);
