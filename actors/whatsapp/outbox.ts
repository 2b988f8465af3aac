import { RuntimeError } from '../../src/errors.js';
import { normalizePhone } from '../batcher/conversation.js';
import { hasVisibleText } from '../batcher/message-input.js';

/** One message a session has accepted to send: what `POST /sessions/:id/send` or a handler's reply asked for. */
export interface OutboxEntry {
  /** The WhatsApp message id, fixed at acceptance: every retry, in any process, sends under it. */
  readonly id: string;
  readonly phone: string;
  readonly text: string;
  /** `api`, or the batch the reply answers. */
  readonly source: string;
  readonly acceptedAt: number;
}

export type OutboxPush = { readonly accepted: true; readonly depth: number } | { readonly accepted: false; readonly depth: number };

/**
 * A session's send queue as the store keeps it. The gateway holds the same queue in memory
 * and is the only writer for its session in this process; the store is what survives the
 * gateway, its thread and the process. Order is acceptance order per session (so per
 * recipient too). An entry leaves only after WhatsApp acknowledged it, so a crash between
 * the acknowledgement and the removal sends it once more, under the same message id.
 *
 * `fence` is the session's ownership token when several runtimes share the sessions
 * (cluster/session-lease.ts): a store that knows leases refuses a write whose fence is not the
 * current one with `StaleFenceError`, so a node that lost the session cannot touch its queue.
 */
export interface Outbox {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  /** Whether what it holds outlives the process. */
  readonly durable: boolean;
  /** Appends, unless the session already holds `max`; resolves once the entry is durable. */
  push(sessionId: string, entry: OutboxEntry, max: number, fence?: number): Promise<OutboxPush>;
  /** The session's queue, oldest first, at most `limit`. */
  load(sessionId: string, limit: number): Promise<OutboxEntry[]>;
  /** Removes an entry WhatsApp acknowledged (or that was given up); removing one already gone is not an error. */
  remove(sessionId: string, id: string, fence?: number): Promise<void>;
  close(): Promise<void>;
}

/** The session's fence moved on: another node owns it now. */
export class StaleFenceError extends RuntimeError {
  constructor(sessionId: string, fence: number) {
    super('WAR_ERR_WA_NOT_OWNER', `session ${sessionId}: fence ${fence} is stale; another node owns the session now`);
  }
}

/** BATCH_STORE=memory: the queue lives as long as the process, as the batches do. */
export class MemoryOutbox implements Outbox {
  readonly kind = 'memory';
  readonly durable = false;
  readonly #queues = new Map<string, OutboxEntry[]>();

  async push(sessionId: string, entry: OutboxEntry, max: number): Promise<OutboxPush> {
    const queue = this.#queues.get(sessionId) ?? [];
    this.#queues.set(sessionId, queue);
    if (queue.length >= max) return { accepted: false, depth: queue.length };
    queue.push(entry);
    return { accepted: true, depth: queue.length };
  }

  async load(sessionId: string, limit: number): Promise<OutboxEntry[]> {
    return (this.#queues.get(sessionId) ?? []).slice(0, limit);
  }

  async remove(sessionId: string, id: string): Promise<void> {
    const queue = this.#queues.get(sessionId);
    const index = queue?.findIndex((entry) => entry.id === id) ?? -1;
    if (queue && index >= 0) queue.splice(index, 1);
  }

  async close(): Promise<void> {
    this.#queues.clear();
  }
}

/** A send request made into an entry, or what is wrong with it: the gateway and a remote reply check alike. */
export function outboxEntry(request: { readonly to: string; readonly text: string; readonly source: string }, id: string, acceptedAt: number): { ok: true; entry: OutboxEntry } | { ok: false; problem: string } {
  const phone = normalizePhone(request.to);
  if (!phone.ok) return { ok: false, problem: `to: ${phone.problem}` };
  if (typeof request.text !== 'string' || !hasVisibleText(request.text)) return { ok: false, problem: 'text must have a visible character' };
  return { ok: true, entry: { id, phone: phone.phone, text: request.text, source: request.source, acceptedAt } };
}
