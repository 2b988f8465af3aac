import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from '../batcher/batch-ingest.js';
import type { AppendResult } from '../batcher/batch-store.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import type { SessionEvent } from '../../src/events/runtime-events.js';
import type { ConditionLog } from '../../src/logging/condition-log.js';
import type { LifecycleEvent } from '../../supervisor/lifecycle-events.js';
import { ActivityCounters } from './activity-counters.js';
import { closeCodeName } from './close-codes.js';
import type { DecryptErrorCounts } from './decrypt-error-log.js';
import type { IgnoredReason } from './inbound.js';
import { outboxEntry, type Outbox, type OutboxEntry } from './outbox.js';
import { refused, type GatewayMessage, type InboundText, type Outcome, type QrInfo, type SendAccepted, type SessionInfo, type SocketHints, type SocketMessage, type SocketReply } from './session-protocol.js';
import { isHalted, isSelfHealing, type SessionStatus } from './session-status.js';

export interface SessionGatewayDeps {
  readonly sessionId: string;
  /** The session's socket, linked at spawn; its path tells its lifecycle events apart. */
  readonly socket: ActorRef<SocketMessage, SocketReply>;
  readonly ingest: { accept(incoming: IncomingMessage): Promise<AppendResult> };
  /** The socket's lifecycle events (bounded: a gateway that cannot keep up is cut off, never waited for). Returns the unsubscribe. */
  readonly subscribe: (
    socketPath: string,
    listener: ActorRef<{ readonly type: 'lifecycle'; readonly event: LifecycleEvent }, unknown>,
    onCutOff: () => void,
  ) => () => void;
  /** Where status changes go (the runtime's event stream). */
  readonly events: { publish(event: SessionEvent): void };
  /** Outlives the gateway's incarnations: a store outage is one line, then summaries. */
  readonly conditions: ConditionLog;
  /** Shows a fresh QR to whoever watches the terminal. */
  readonly showQr: (sessionId: string, qr: string) => void;
  readonly newMessageId: () => string;
  /** Where the send queue is kept: the store's (SQLite, Redis), or memory with BATCH_STORE=memory. */
  readonly outbox: Outbox;
  /** The session's ownership fence when runtimes share sessions, read once at the gateway's start; undefined on a single node. */
  readonly fence?: () => number | undefined;
  /** Other nodes may push replies into the stored queue: it is read again when they say so, and every few seconds in case a word was missed. */
  readonly sharedOutbox?: boolean;
  readonly queueMax: number;
  readonly sendAttempts: number;
  readonly sendRetryMs: number;
  readonly sendTimeoutMs: number;
  /** How long inbound messages wait before the store is asked again after it was unavailable. */
  readonly inboundRetryMs: number;
  readonly inboundBufferMax: number;
}

interface Outgoing extends OutboxEntry {
  attempts: number;
  /** WhatsApp acknowledged it (or it was given up); it leaves the queue once the store has removed it too. */
  done: boolean;
}

/** How many queued messages are read back from the store at a start; the queue's bound applies to the store as well. */
const LOAD_LIMIT = 1_000_000;
/** How often a shared stored queue is read again without being told (an announcement lost in a reconnect). */
const SHARED_RESYNC_MS = 5_000;

/**
 * A session's side on the main thread, which outlives its socket's restarts: the send queue
 * (in order, waiting while the socket is down, bounded, kept in the store: an accepted message
 * is in the store before the sender hears so, and leaves it only after WhatsApp acknowledged
 * it, so a crash of the gateway, its thread or the process sends it after the restart, under
 * the same message id), inbound texts on their way into the
 * batchers, the session's status and counters as operators see them, and the history the
 * close-code rule needs across restarts (consecutive 500s).
 */
export function sessionGateway(deps: SessionGatewayDeps): Behaviour<GatewayMessage, unknown> {
  const counters = new ActivityCounters();
  const queue: Outgoing[] = [];
  const inbound: InboundText[] = [];
  const ignored: Partial<Record<IgnoredReason, number>> = {};
  let decryptErrors: DecryptErrorCounts = { badMac: 0, decrypt: 0, suppressed: 0 };
  let status: SessionStatus = 'connecting';
  let inFlight: string | undefined;
  let failed = 0;
  let accepted = 0;
  let duplicates = 0;
  let previous500s = 0;
  let lastClose: { code: number | undefined; at: number } | undefined;
  let nextRetryAt: number | undefined;
  let alert: string | undefined;
  let qr: { value: string; at: number } | undefined;
  let unsubscribe: (() => void) | undefined;
  let inboundRetryArmed = false;
  let loaded = false;
  /** The fence this incarnation runs under (runtimes sharing sessions): fixed at start, as its socket's is. */
  let fence: number | undefined;

  const iso = (at: number | undefined): string | null => (at === undefined ? null : new Date(at).toISOString());

  const info = (ctx: ActorContext<GatewayMessage>): SessionInfo => {
    const now = ctx.clock.now();
    return {
      id: deps.sessionId,
      status,
      lastCloseCode: lastClose?.code ?? null,
      lastCloseReason: lastClose ? closeCodeName(lastClose.code) : null,
      lastCloseAt: iso(lastClose?.at),
      nextRetryAt: iso(nextRetryAt),
      alert: alert ?? null,
      qrAvailable: qr !== undefined,
      queue: { depth: queue.length, max: deps.queueMax, inFlight: inFlight !== undefined, failed, durable: deps.outbox.durable, loaded },
      inbound: { accepted, duplicates, waiting: inbound.length, ignored: { ...ignored } },
      decryptErrors,
      messages_sent_24h: counters.last24h('sent', now),
      messages_received_24h: counters.last24h('received', now),
      errors_24h: counters.last24h('errors', now),
      last_activity: iso(counters.lastActivity),
      last_received_at: iso(counters.lastReceived),
      last_sent_at: iso(counters.lastSent),
    };
  };

  const publish = (ctx: ActorContext<GatewayMessage>): void => {
    ctx.setDetail({
      status,
      lastCloseCode: lastClose?.code ?? null,
      nextRetryAt: iso(nextRetryAt),
      sendQueue: queue.length,
      inboundWaiting: inbound.length,
      ...(alert ? { alert } : {}),
    });
    // The `whatsapp:<id>` check is the WhatsApp monitor's (actors/monitors/whatsapp): one writer, told by the session events.
  };

  const setStatus = (next: SessionStatus, ctx: ActorContext<GatewayMessage>): void => {
    const previous = status;
    status = next;
    if (previous !== next) announce(previous, ctx);
    if (next === 'open') {
      previous500s = 0;
      qr = undefined;
      alert = undefined;
      nextRetryAt = undefined;
    }
    if (next !== 'pairing') qr = undefined;
    publish(ctx);
    pump(ctx);
  };

  const announce = (previous: SessionStatus, ctx: ActorContext<GatewayMessage>): void => {
    deps.events.publish({
      type: 'session',
      sessionId: deps.sessionId,
      at: ctx.clock.now(),
      previous,
      status,
      closeCode: lastClose?.code ?? null,
      alert: status === 'open' ? null : (alert ?? null),
    });
  };

  /** One send at a time, head of the queue first: order is kept across retries and reconnects. */
  const pump = (ctx: ActorContext<GatewayMessage>): void => {
    if (inFlight !== undefined || status !== 'open') return;
    const head = queue[0];
    if (!head || head.done) return;
    const socket = deps.socket;
    inFlight = head.id;
    head.attempts++;
    socket.ask({ type: 'send', phone: head.phone, text: head.text, messageId: head.id }, { timeoutMs: deps.sendTimeoutMs }).then(
      (reply) => {
        const outcome = reply as Outcome<unknown> | undefined;
        ctx.self.tell({ type: 'send_result', id: head.id, error: outcome && !outcome.ok ? { code: outcome.code, message: outcome.message } : undefined });
      },
      (error: unknown) => {
        const code = (error as { code?: unknown }).code;
        ctx.self.tell({ type: 'send_result', id: head.id, error: { code: typeof code === 'string' ? code : undefined, message: error instanceof Error ? error.message : String(error) } });
      },
    );
  };

  const sendResult = async (message: Extract<GatewayMessage, { type: 'send_result' }>, ctx: ActorContext<GatewayMessage>): Promise<void> => {
    if (inFlight !== message.id) return;
    inFlight = undefined;
    const head = queue[0];
    if (!head || head.id !== message.id) return;
    const now = ctx.clock.now();
    if (!message.error) {
      head.done = true;
      counters.record('sent', now);
      ctx.log.debug({ id: head.id, source: head.source }, 'message sent');
    } else if (isSocketDown(message.error.code) || (message.error.code === 'WAR_ERR_ASK_TIMEOUT' && status !== 'open')) {
      // Not the message's fault: it waits at the head for the socket to be open again (a
      // status change pumps; the timer covers a close the gateway has not heard of yet).
      head.attempts--;
      ctx.timers.once('send_retry', deps.sendRetryMs, { type: 'pump' });
      publish(ctx);
      return;
    } else if (head.attempts >= deps.sendAttempts) {
      head.done = true;
      failed++;
      counters.record('errors', now);
      ctx.log.error({ id: head.id, source: head.source, attempts: head.attempts, error: message.error }, 'message could not be sent; given up');
    } else {
      counters.record('errors', now);
      const delayMs = deps.sendRetryMs * 2 ** (head.attempts - 1);
      ctx.log.warn({ id: head.id, attempts: head.attempts, delayMs, error: message.error }, 'send failed; retrying');
      ctx.timers.once('send_retry', delayMs, { type: 'pump' });
      publish(ctx);
      return;
    }
    await settleHead(ctx);
  };

  /**
   * The head is done: out of the store, then out of memory, then the next one goes. Until the
   * store has removed it nothing behind it is sent (order), and a removal that fails is tried
   * again; a crash meanwhile sends it once more, under its id.
   */
  const settleHead = async (ctx: ActorContext<GatewayMessage>): Promise<void> => {
    const head = queue[0];
    if (!head?.done) return;
    try {
      await deps.outbox.remove(deps.sessionId, head.id, fence);
    } catch (error) {
      deps.conditions.on(`outbox:${deps.sessionId}`, 'warn', { err: error, id: head.id }, 'could not remove a sent message from the stored send queue; retrying');
      ctx.timers.once('send_retry', deps.sendRetryMs, { type: 'pump' });
      publish(ctx);
      return;
    }
    deps.conditions.off(`outbox:${deps.sessionId}`, 'the stored send queue takes writes again');
    queue.shift();
    publish(ctx);
    pump(ctx);
  };

  /**
   * Reads the stored queue into memory at a start. Until it has, a send is only stored (the
   * read takes it in, in order); a read that fails is tried again.
   */
  const loadOutbox = async (ctx: ActorContext<GatewayMessage>): Promise<void> => {
    try {
      adopt(await deps.outbox.load(deps.sessionId, LOAD_LIMIT));
      loaded = true;
      deps.conditions.off(`outbox_load:${deps.sessionId}`, 'the stored send queue was read');
      if (queue.length > 0) ctx.log.info({ depth: queue.length }, 'send queue read back from the store; sending it in order');
    } catch (error) {
      deps.conditions.on(`outbox_load:${deps.sessionId}`, 'warn', { err: error }, 'could not read the stored send queue; reading it again shortly');
      ctx.timers.once('load_outbox', deps.inboundRetryMs, { type: 'load_outbox' });
    }
    publish(ctx);
    pump(ctx);
  };

  /**
   * Runtimes sharing sessions: a reply made on a node that does not run this session is pushed
   * straight into the stored queue (and announced). The stored queue is the order: read it again.
   */
  const resync = async (ctx: ActorContext<GatewayMessage>): Promise<void> => {
    if (!loaded) return;
    try {
      adopt(await deps.outbox.load(deps.sessionId, LOAD_LIMIT));
    } catch {
      return;
    }
    publish(ctx);
    pump(ctx);
  };

  /** The stored queue becomes the queue, keeping what is known of entries already here (attempts, the one in flight or settling). */
  const adopt = (stored: readonly OutboxEntry[]): void => {
    const known = new Map(queue.map((entry) => [entry.id, entry]));
    const head = queue[0];
    queue.length = 0;
    // The head being sent or settled stays first even if the read raced its removal.
    if (head && (head.done || inFlight === head.id) && !stored.some((entry) => entry.id === head.id)) queue.push(head);
    for (const entry of stored) queue.push(known.get(entry.id) ?? { ...entry, attempts: 0, done: false });
  };

  const enqueue = async (message: Extract<GatewayMessage, { type: 'send' }>, ctx: ActorContext<GatewayMessage>): Promise<Outcome<SendAccepted>> => {
    const made = outboxEntry(message, deps.newMessageId(), ctx.clock.now());
    if (!made.ok) return refused('WAR_ERR_WA_BAD_REQUEST', made.problem);
    const full = (): Outcome<SendAccepted> => {
      ctx.log.warn({ source: message.source, queueMax: deps.queueMax }, 'send queue full; message refused');
      return refused('WAR_ERR_WA_QUEUE_FULL', `the send queue of session ${deps.sessionId} is full (${deps.queueMax})`);
    };
    if (loaded && queue.length >= deps.queueMax) return full();
    const { entry } = made;
    let depth: number;
    try {
      const pushed = await deps.outbox.push(deps.sessionId, entry, deps.queueMax, fence);
      if (!pushed.accepted) return full();
      depth = pushed.depth;
    } catch (error) {
      const code = (error as { code?: unknown }).code === 'WAR_ERR_WA_NOT_OWNER' ? 'WAR_ERR_WA_NOT_OWNER' : 'WAR_ERR_STORE_UNAVAILABLE';
      return refused(code, error instanceof Error ? error.message : String(error));
    }
    // Not read back yet (a start, or the store was away then): stored is enough, the read takes it in, in order.
    if (!loaded) return { ok: true, value: { id: entry.id, queueDepth: depth } };
    queue.push({ ...entry, attempts: 0, done: false });
    // Another node's reply landed in the stored queue since we last read it: read it again, so the order is the store's.
    if (depth !== queue.length) await resync(ctx);
    publish(ctx);
    pump(ctx);
    return { ok: true, value: { id: entry.id, queueDepth: queue.length } };
  };

  /** Hands waiting inbound texts to the batchers, in order; stops at the first the store cannot take. */
  const drainInbound = async (ctx: ActorContext<GatewayMessage>): Promise<void> => {
    while (inbound.length > 0) {
      const next = inbound[0] as InboundText;
      try {
        const result = await deps.ingest.accept({ sessionId: deps.sessionId, phone: next.phone, text: next.text, id: next.id });
        if (result.status === 'accepted') {
          accepted++;
          counters.record('received', ctx.clock.now());
        } else duplicates++;
        inbound.shift();
        deps.conditions.off(`inbound_waits:${deps.sessionId}`, 'the store takes inbound messages again');
      } catch (error) {
        if (!inboundRetryArmed) {
          inboundRetryArmed = true;
          ctx.timers.once('inbound_retry', deps.inboundRetryMs, { type: 'retry_inbound' });
        }
        deps.conditions.on(`inbound_waits:${deps.sessionId}`, 'warn', { err: error, waiting: inbound.length }, 'the store did not take inbound messages; retrying');
        break;
      }
    }
    publish(ctx);
  };

  const onLifecycle = (event: LifecycleEvent, ctx: ActorContext<GatewayMessage>): void => {
    switch (event.type) {
      case 'failed':
        if (isSelfHealing(status) || status === 'pairing') setStatus('reconnecting', ctx);
        return;
      case 'restarting':
        nextRetryAt = event.at + event.delayMs;
        publish(ctx);
        return;
      case 'started':
        nextRetryAt = undefined;
        publish(ctx);
        return;
      case 'gave_up':
        alert = `the socket was given up after ${event.attempts} failed restarts (not a connection outage: see its lastError)`;
        nextRetryAt = undefined;
        ctx.log.error({ alert: true, attempts: event.attempts }, `WhatsApp session ${deps.sessionId}: ${alert}`);
        setStatus('gave_up', ctx);
        return;
      default:
        return;
    }
  };

  return {
    start(ctx) {
      // Cut off (the mailbox refused an event): subscribe again and have the socket say where it stands.
      const follow = (): void => {
        unsubscribe = deps.subscribe(deps.socket.path, ctx.self, () => {
          ctx.log.warn('fell behind on the socket\'s lifecycle events; following them again');
          follow();
          deps.socket.tell({ type: 'report' });
        });
      };
      follow();
      fence = deps.fence?.();
      ctx.self.tell({ type: 'load_outbox' });
      if (deps.sharedOutbox) ctx.timers.every('outbox_resync', SHARED_RESYNC_MS, { type: 'outbox_changed' });
      publish(ctx);
      // A gateway restarted on its own starts blank: the running socket tells it where it stands.
      deps.socket.tell({ type: 'report' });
    },
    async receive(message, ctx) {
      switch (message.type) {
        case 'socket_started': {
          const hints: SocketHints = { previous500s, down: isDown(status) ? status : undefined };
          return hints;
        }
        case 'status':
          setStatus(message.status, ctx);
          return undefined;
        case 'qr':
          qr = { value: message.qr, at: ctx.clock.now() };
          deps.showQr(deps.sessionId, message.qr);
          status = 'pairing';
          publish(ctx);
          return undefined;
        case 'closed':
          lastClose = { code: message.code, at: ctx.clock.now() };
          previous500s = message.clearedSignalSessions ? 0 : message.code === 500 ? previous500s + 1 : 0;
          if (message.action === 'backoff') setStatus('reconnecting', ctx);
          else publish(ctx);
          return undefined;
        case 'halted':
          alert = message.alert;
          counters.record('errors', ctx.clock.now());
          setStatus(message.status, ctx);
          return undefined;
        case 'inbound': {
          const room = deps.inboundBufferMax - inbound.length;
          if (room < message.messages.length) {
            counters.record('errors', ctx.clock.now());
            ctx.log.error({ dropped: message.messages.length - Math.max(0, room) }, 'inbound buffer full while the store is away');
          }
          inbound.push(...message.messages.slice(0, Math.max(0, room)));
          await drainInbound(ctx);
          return { waiting: inbound.length };
        }
        case 'retry_inbound':
          inboundRetryArmed = false;
          await drainInbound(ctx);
          return undefined;
        case 'ignored':
          for (const [reason, count] of Object.entries(message.reasons) as [IgnoredReason, number][]) ignored[reason] = (ignored[reason] ?? 0) + count;
          return undefined;
        case 'decrypt_errors':
          if (message.counts.badMac + message.counts.decrypt > decryptErrors.badMac + decryptErrors.decrypt) {
            counters.record('errors', ctx.clock.now(), message.counts.badMac + message.counts.decrypt - decryptErrors.badMac - decryptErrors.decrypt);
          }
          decryptErrors = message.counts;
          return undefined;
        case 'send': {
          const outcome = await enqueue(message, ctx);
          if (!outcome.ok) {
            counters.record('errors', ctx.clock.now());
            // A pipeline reply arrives by tell: nobody else hears of its refusal.
            if (message.source !== 'api') ctx.log.error({ source: message.source, code: outcome.code, reason: outcome.message }, 'a reply could not be queued');
          }
          return outcome;
        }
        case 'send_result':
          await sendResult(message, ctx);
          return undefined;
        case 'pump':
          if (queue[0]?.done) await settleHead(ctx);
          else pump(ctx);
          return undefined;
        case 'load_outbox':
          if (!loaded) await loadOutbox(ctx);
          return undefined;
        case 'outbox_changed':
          await resync(ctx);
          return undefined;
        case 'info':
          return info(ctx);
        case 'qr_code': {
          const answer: QrInfo = { status, qr: qr?.value ?? null, issuedAt: iso(qr?.at) };
          return answer;
        }
        case 'lifecycle':
          onLifecycle(message.event, ctx);
          return undefined;
      }
    },
    async stop(ctx) {
      unsubscribe?.();
      // The socket stopped first (rest_for_one order): take in what it handed over, while the store is still up.
      if (inbound.length > 0) await drainInbound(ctx);
      if (inbound.length > 0) {
        ctx.log.error({ ids: inbound.map((text) => text.id), phones: inbound.map((text) => text.phone) }, 'stopping with inbound messages the store did not take');
      }
      if (queue.length > 0 && deps.outbox.durable) {
        ctx.log.info({ depth: queue.length, store: deps.outbox.kind }, 'stopping with messages in the send queue; the store keeps them for the next start');
      } else if (queue.length > 0) {
        ctx.log.error(
          { unsent: queue.map((entry) => ({ id: entry.id, phone: entry.phone, source: entry.source })) },
          'stopping with messages still in the send queue (BATCH_STORE=memory keeps them only while the process runs)',
        );
      }
    },
  };
}

function isDown(status: SessionStatus): status is NonNullable<SocketHints['down']> {
  return isHalted(status) || status === 'awaiting_pairing';
}

function isSocketDown(code: string | undefined): boolean {
  // NOT_OWNER: the lease moved on; /cluster stops this session here and the new owner sends the message.
  return code === 'WAR_ERR_WA_NOT_OPEN' || code === 'WAR_ERR_WA_NOT_OWNER' || code === 'WAR_ERR_ACTOR_STOPPED' || code === 'WAR_ERR_ACTOR_FAILED' || code === 'WAR_ERR_WORKER_DIED';
}

/** A message id in WhatsApp web's own shape (3EB0 + hex), fixed when queued so a retry reuses it. */
export function whatsappMessageId(): string {
  return `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;
}
