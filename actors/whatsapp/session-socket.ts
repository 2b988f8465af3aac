import type { WAMessage } from '@whiskeysockets/baileys';
import type { ActorPath } from '../../src/actor/actor-path.js';
import type { ActorContext, Behaviour, ThreadBehaviourFactory } from '../../src/actor/behaviour.js';
import { RuntimeError } from '../../src/errors.js';
import type { AuthStore, AuthStoreSpec } from './auth-store.js';
import { loadSessionAuth, type SessionAuth } from './auth-state.js';
import { closeCodeName, closeCodeOf, decideClose, type HaltedStatus } from './close-codes.js';
import { baileysLogger, DecryptErrorLog, routeConsole } from './decrypt-error-log.js';
import { mapInbound, type IgnoredReason } from './inbound.js';
import { openAuthStore } from './open-auth-store.js';
import { refused, type GatewayMessage, type InboundText, type Outcome, type PairReply, type RepairReply, type SocketHints, type SocketMessage, type SocketReply, type SocketReport } from './session-protocol.js';
import type { SessionStatus } from './session-status.js';
import type { ConnectionUpdate, SessionSocket, SocketFactory, SocketOptions } from './wa-socket.js';

/** Cloneable: the socket actor is created from these inside the session's worker thread. */
export interface SessionSocketArgs {
  readonly sessionId: string;
  /** A typed path, not a live ref: args cross into the session's worker thread. */
  readonly gatewayPath: ActorPath<GatewayMessage, unknown>;
  readonly auth: AuthStoreSpec;
  readonly socket: SocketOptions;
  /** The module and export of the SocketFactory; unset: real Baileys. */
  readonly factory?: { readonly module: string; readonly exportName: string };
  /** Route the thread's console (libsignal's output) through the decrypt-error limiter; only in a session thread. */
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

/** One Baileys socket's identity: events carry it, so an old socket's late events are ignored even across incarnations. */
interface Connection {
  socket: SessionSocket | undefined;
}

type Internal =
  | { readonly type: 'connection'; readonly connection: Connection; readonly update: ConnectionUpdate }
  /** The socket factory threw: a bug or a bad WA_SOCKET_MODULE, not an outage; the actor fails with it. */
  | { readonly type: 'factory_failed'; readonly connection: Connection; readonly error: Error }
  | { readonly type: 'report_errors' };

type Message = SocketMessage | Internal;

/** Ids of messages already handed to WhatsApp: a retry of one (after an ask timeout) is answered, not sent again. */
const SENT_MEMORY = 1_000;
/** How long a stopping socket waits for inbound texts already on their way to the gateway. */
const INBOUND_DRAIN_MS = 5_000;

export class SessionClosedError extends RuntimeError {
  constructor(readonly closeCode: number | undefined, cause: unknown) {
    super('WAR_ERR_WA_CLOSED', `WhatsApp connection closed: ${closeCode ?? 'no code'} ${closeCodeName(closeCode)}`, { cause });
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
 * opens only after its predecessor's WebSocket has closed. A halt is written to the auth
 * store, so no restart of anything reconnects out of it; only a pairing request does.
 */
export function sessionSocket(args: SessionSocketArgs, overrides: SessionSocketOverrides = {}): Behaviour<Message, SocketReply> {
  let store: AuthStore | undefined;
  let auth: SessionAuth | undefined;
  let factory: SocketFactory | undefined;
  let current: Connection | undefined;
  let stopped = false;
  let status: SessionStatus = 'connecting';
  let halt: { status: HaltedStatus; code: number | undefined; alert: string } | undefined;
  let lastQr: string | undefined;
  let qrShown = false;
  let qr = qrWaiter();
  let after515 = false;
  let pairingBefore515 = false;
  let spent401Retry = false;
  let hints: SocketHints = { previous500s: 0, down: undefined };
  let decryptErrors: DecryptErrorLog | undefined;
  let reportedErrors = '';
  let restoreConsole: (() => void) | undefined;
  const sent = new Set<string>();
  // Inbound texts go to the gateway straight from Baileys' callback, in order, not through
  // this mailbox: a stop then never strands a message Baileys has already acknowledged.
  let inbound: Promise<void> = Promise.resolve();

  const report = (ctx: ActorContext<Message>, message: SocketReport): void => {
    if (!ctx.lookup(args.gatewayPath)?.tell(message)) ctx.log.warn({ report: message.type }, 'the session gateway is not there');
  };

  const setStatus = (ctx: ActorContext<Message>, next: SessionStatus): void => {
    status = next;
    ctx.setDetail({ status });
  };

  const reportStatus = (ctx: ActorContext<Message>): void => {
    if (halt) report(ctx, { type: 'halted', status: halt.status, code: halt.code, alert: halt.alert });
    else if (status === 'pairing' && lastQr) report(ctx, { type: 'qr', qr: lastQr });
    else if (status === 'connecting' || status === 'open' || status === 'awaiting_pairing') report(ctx, { type: 'status', status });
  };

  const deliverInbound = async (messages: readonly WAMessage[], connection: Connection, ctx: ActorContext<Message>): Promise<void> => {
    const texts: InboundText[] = [];
    const ignored: Partial<Record<IgnoredReason, number>> = {};
    for (const message of messages) {
      let mapped = mapInbound(message);
      if (mapped.kind === 'needs_phone') {
        const phoneJid = await connection.socket?.phoneForLid(mapped.lid).catch(() => undefined);
        mapped = mapInbound(message, phoneJid ?? '');
      }
      if (mapped.kind === 'text') texts.push({ id: mapped.id, phone: mapped.phone, text: mapped.text, at: mapped.at });
      else if (mapped.kind === 'ignored') ignored[mapped.reason] = (ignored[mapped.reason] ?? 0) + 1;
    }
    if (Object.keys(ignored).length > 0) report(ctx, { type: 'ignored', reasons: ignored });
    if (texts.length === 0) return;
    try {
      const gateway = ctx.lookup(args.gatewayPath);
      if (!gateway) throw new Error('the session gateway is not there');
      await gateway.ask({ type: 'inbound', messages: texts }, { timeoutMs: args.gatewayAskTimeoutMs });
    } catch (error) {
      ctx.log.error({ err: error, ids: texts.map((text) => text.id) }, 'inbound messages could not be handed to the gateway');
    }
  };

  const connect = (ctx: ActorContext<Message>): void => {
    if (current || stopped || !auth || !factory) return;
    const connection: Connection = { socket: undefined };
    current = connection;
    const baileysLog = ctx.log.child({ component: 'baileys' });
    // Baileys narrates every connection at info; an operator at info wants our lines, not its.
    if (baileysLog.level === 'info') baileysLog.level = 'warn';
    qrShown = false;
    lastQr = undefined;
    qr = qrWaiter();
    const waiter = qr;
    setStatus(ctx, 'connecting');
    report(ctx, { type: 'status', status: 'connecting' });
    const create = factory;
    const sessionAuth = auth;
    const open = (): void => {
      if (connection !== current || stopped) return;
      connection.socket = create({
        sessionId: args.sessionId,
        options: args.socket,
        auth: sessionAuth.state,
        saveCreds: sessionAuth.saveCreds,
        logger: baileysLogger(baileysLog, decryptErrors as DecryptErrorLog),
        handlers: {
          connection(update) {
            if (connection !== current) return;
            if (update.qr) waiter.settle();
            if (update.connection === 'close') waiter.settle(new Error(`the connection closed before pairing could start (${closeCodeOf(update.closeError) ?? 'no code'})`));
            if (!ctx.self.tell({ type: 'connection', connection, update })) ctx.log.error({ update: update.connection }, 'a connection update was refused by the mailbox');
          },
          messages(messages) {
            if (connection !== current) return;
            inbound = inbound.then(() => deliverInbound(messages, connection, ctx));
          },
        },
      });
    };
    const fenced = store;
    if (!fenced?.assertOwner) {
      open();
      return;
    }
    // Runtimes sharing the sessions: a node connects only while its fence is current. One that
    // woke from a pause past its lease must not open a socket that would replace the new owner's
    // (a 440 there); it closes as if the connection failed, and /cluster stops the session here.
    const refuse = (error: unknown, why: string): void => {
      if (connection !== current) return;
      ctx.log.warn({ err: error }, why);
      waiter.settle(new Error(why));
      ctx.self.tell({ type: 'connection', connection, update: { connection: 'close', closeError: error } });
    };
    fenced.assertOwner().then(
      () => {
        try {
          open();
        } catch (error) {
          if (connection !== current) return;
          waiter.settle(new Error('the socket could not be created'));
          ctx.self.tell({ type: 'factory_failed', connection, error: error instanceof Error ? error : new Error(String(error)) });
        }
      },
      (error: unknown) => refuse(error, 'not connecting: the ownership of this session cannot be confirmed'),
    );
  };

  const closeSocket = async (): Promise<void> => {
    const closing = current;
    current = undefined;
    await closing?.socket?.close();
  };

  const onHalt = async (decision: { status: HaltedStatus; dropCredentials: boolean; alert: string }, code: number | undefined, ctx: ActorContext<Message>): Promise<void> => {
    // The halt is told and recorded before anything that can fail: whatever breaks after it,
    // no restart reconnects out of it.
    halt = { status: decision.status, code, alert: decision.alert };
    setStatus(ctx, decision.status);
    report(ctx, { type: 'closed', code, action: 'halt', clearedSignalSessions: false });
    report(ctx, { type: 'halted', status: decision.status, code, alert: decision.alert });
    ctx.log.error({ code, status: decision.status, alert: true }, `WhatsApp session ${args.sessionId}: ${decision.alert}`);
    try {
      await auth?.writeHalt({ ...halt, at: ctx.clock.now() });
    } catch (error) {
      ctx.log.error({ err: error }, 'could not record the halt in the auth store; it holds until this process restarts');
    }
    if (!decision.dropCredentials || !store) return;
    try {
      await auth?.dropCredentials();
      auth = await loadSessionAuth(store);
    } catch (error) {
      ctx.log.error({ err: error }, 'could not drop the credentials; pairing again will replace them');
    }
  };

  const onConnection = async (update: ConnectionUpdate, ctx: ActorContext<Message>): Promise<void> => {
    if (update.qr) {
      qrShown = true;
      lastQr = update.qr;
      setStatus(ctx, 'pairing');
      report(ctx, { type: 'qr', qr: update.qr });
    }
    if (update.connection === 'open') {
      after515 = false;
      pairingBefore515 = false;
      spent401Retry = false;
      setStatus(ctx, 'open');
      report(ctx, { type: 'status', status: 'open' });
    }
    if (update.connection !== 'close') return;
    const code = closeCodeOf(update.closeError);
    const pairing = qrShown && update.registered !== true;
    const decision = decideClose(code, { pairing, after515, pairingBefore515, spent401Retry, previous500s: hints.previous500s });
    ctx.log.info({ code, reason: closeCodeName(code), action: decision.action }, 'WhatsApp connection closed');
    await closeSocket();
    switch (decision.action) {
      case 'backoff': {
        if (decision.clearSignalSessions) {
          const cleared = await auth?.clearSignalSessions().catch((error: unknown) => ctx.log.error({ err: error }, 'could not clear the Signal sessions'));
          ctx.log.warn({ cleared }, 'repeated bad sessions: Signal sessions cleared, credentials kept');
        }
        report(ctx, { type: 'closed', code, action: 'backoff', clearedSignalSessions: decision.clearSignalSessions });
        ctx.fail(new SessionClosedError(code, update.closeError));
        return;
      }
      case 'reconnect_now':
        report(ctx, { type: 'closed', code, action: 'reconnect_now', clearedSignalSessions: false });
        if (decision.spends401Retry) spent401Retry = true;
        else {
          after515 = code === 515;
          pairingBefore515 = qrShown;
        }
        connect(ctx);
        return;
      case 'await_pairing':
        report(ctx, { type: 'closed', code, action: 'await_pairing', clearedSignalSessions: false });
        setStatus(ctx, 'awaiting_pairing');
        report(ctx, { type: 'status', status: 'awaiting_pairing' });
        return;
      case 'halt':
        await onHalt(decision, code, ctx);
        return;
    }
  };

  const pair = async (phone: string | undefined, ctx: ActorContext<Message>): Promise<Outcome<PairReply>> => {
    if (status === 'open') return refused('WAR_ERR_WA_ALREADY_PAIRED', `session ${args.sessionId} is connected; log it out before pairing again`);
    if (!current) {
      if (halt) {
        ctx.log.warn({ status: halt.status }, 'pairing requested: leaving the halt');
        halt = undefined;
        await auth?.clearHalt();
      }
      spent401Retry = false;
      connect(ctx);
    }
    if (phone === undefined) return { ok: true, value: { status } };
    const connection = current;
    try {
      if (!qrShown) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('WhatsApp did not offer pairing in time')), args.socket.connectTimeoutMs);
        });
        await Promise.race([qr.promise, timeout]).finally(() => clearTimeout(timer));
      }
      if (!connection?.socket || connection !== current) return refused('WAR_ERR_WA_PAIRING_FAILED', 'the connection closed before pairing could start');
      const code = await connection.socket.requestPairingCode(phone);
      return { ok: true, value: { status: 'pairing', code } };
    } catch (error) {
      return refused('WAR_ERR_WA_PAIRING_FAILED', error instanceof Error ? error.message : String(error));
    }
  };

  /** What 500s in a row do on their own (close-codes.ts), when an operator asks: the credentials stay, so no pairing. */
  const repair = async (ctx: ActorContext<Message>): Promise<Outcome<RepairReply>> => {
    if (!auth) return refused('WAR_ERR_WA_NOT_OPEN', `the auth store of session ${args.sessionId} is not open`);
    await closeSocket();
    let cleared: number;
    try {
      cleared = await auth.clearSignalSessions();
    } catch (error) {
      if (!halt && status !== 'awaiting_pairing') connect(ctx);
      return refused('WAR_ERR_WA_NOT_OPEN', `could not clear the Signal sessions: ${error instanceof Error ? error.message : String(error)}`);
    }
    ctx.log.warn({ cleared }, 'repair: Signal sessions cleared, credentials kept; connecting again');
    if (!halt && status !== 'awaiting_pairing') connect(ctx);
    return { ok: true, value: { cleared, status } };
  };

  const send = async (message: Extract<SocketMessage, { type: 'send' }>): Promise<Outcome<{ messageId: string }>> => {
    if (sent.has(message.messageId)) return { ok: true, value: { messageId: message.messageId } };
    const socket = current?.socket;
    if (status !== 'open' || !socket) return refused('WAR_ERR_WA_NOT_OPEN', `session ${args.sessionId} is ${status}`);
    try {
      // The send carries the fence: a node whose lease moved on (it was paused) sends nothing.
      await store?.assertOwner?.();
    } catch (error) {
      const code = (error as { code?: unknown }).code === 'WAR_ERR_WA_NOT_OWNER' ? 'WAR_ERR_WA_NOT_OWNER' : 'WAR_ERR_WA_NOT_OPEN';
      return refused(code, error instanceof Error ? error.message : String(error));
    }
    try {
      const messageId = await socket.sendText(`${message.phone}@s.whatsapp.net`, message.text, message.messageId);
      sent.add(message.messageId);
      if (sent.size > SENT_MEMORY) sent.delete(sent.values().next().value as string);
      return { ok: true, value: { messageId } };
    } catch (error) {
      // Baileys throws its close Boom (428 "Connection Closed") when the socket died under the
      // send: that is the socket's state, not the message's fault.
      if (closeCodeOf(error) !== undefined || socket !== current?.socket) return refused('WAR_ERR_WA_NOT_OPEN', `the connection closed during the send`);
      return refused('WAR_ERR_WA_SEND_FAILED', error instanceof Error ? error.message : String(error));
    }
  };

  const cleanUp = async (): Promise<void> => {
    restoreConsole?.();
    restoreConsole = undefined;
    if (!overrides.authStore) await store?.close();
  };

  return {
    async start(ctx) {
      decryptErrors = new DecryptErrorLog(ctx.log.child({ component: 'decrypt' }), () => ctx.clock.now(), args.decryptLog);
      if (args.routeConsole) restoreConsole = routeConsole(globalThis, { logger: ctx.log.child({ component: 'console' }), decryptErrors });
      try {
        factory = overrides.factory ?? (args.factory ? await loadFactory(args.factory) : (await import('./baileys-socket.js')).createBaileysSocket);
        store = overrides.authStore ?? openAuthStore(args.auth, (error) => ctx.log.error({ err: error }, 'the auth-state store cannot reach Redis; auth writes wait'));
        auth = await loadSessionAuth(store);
        const gateway = ctx.lookup(args.gatewayPath);
        // The gateway answers `socket_started` with the hints (session-protocol.ts).
        hints = ((await gateway?.ask({ type: 'socket_started' }, { timeoutMs: args.gatewayAskTimeoutMs })) as SocketHints | undefined) ?? hints;
        const recorded = await auth.readHalt();
        if (recorded) halt = { status: recorded.status, code: recorded.code, alert: recorded.alert };
      } catch (error) {
        // start failing runs no stop: undo here what stop would have.
        await cleanUp();
        throw error;
      }
      ctx.timers.every('report_errors', args.reportIntervalMs, { type: 'report_errors' });
      const down = halt?.status ?? hints.down;
      if (down) {
        // Never reconnect blindly out of a halt: only a pairing request brings the socket back.
        setStatus(ctx, down);
        reportStatus(ctx);
        ctx.log.warn({ status: down }, 'session started while halted; waiting for a pairing request');
        return;
      }
      connect(ctx);
    },
    async receive(message, ctx) {
      switch (message.type) {
        case 'connection':
          if (message.connection === current) await onConnection(message.update, ctx);
          return undefined;
        case 'factory_failed':
          if (message.connection !== current) return undefined;
          current = undefined;
          throw message.error;
        case 'report_errors': {
          decryptErrors?.flushSummary();
          const counts = decryptErrors?.counts;
          const serialised = JSON.stringify(counts);
          if (counts && serialised !== reportedErrors) {
            reportedErrors = serialised;
            report(ctx, { type: 'decrypt_errors', counts: { ...counts } });
          }
          return undefined;
        }
        case 'report':
          reportStatus(ctx);
          return undefined;
        case 'send':
          return send(message);
        case 'pair':
          return pair(message.phone, ctx);
        case 'repair':
          return repair(ctx);
      }
    },
    async stop(ctx) {
      stopped = true;
      qr.settle(new Error('the session stopped'));
      await closeSocket();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        inbound.then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), INBOUND_DRAIN_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      if (!drained) ctx.log.error('inbound messages were still on their way to the gateway when the socket stopped');
      await cleanUp();
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
