import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { Clock } from '../../src/clock.js';
import type { SupervisorHandle } from '../../supervisor/supervisor.js';
import type { PendingSummary } from './batch.js';
import type { AppendResult, BatchStore } from './batch-store.js';
import type { BatcherMessage, BatcherStart } from './batcher.js';
import { conversationKey, type Conversation } from './conversation.js';

export interface IncomingMessage extends Conversation {
  readonly text: string;
  /** The sender's message id (WhatsApp's, or the webhook caller's): redeliveries with it are dropped as duplicates. */
  readonly id?: string;
  /** When the sender says it was written, epoch ms (the webhook's `timestamp`). */
  readonly sentAt?: number;
}

export interface BatchIngestDeps {
  readonly store: BatchStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The dynamic supervisor of the batchers (`/batchers`). */
  readonly batchers: () => SupervisorHandle;
}

/** A batcher that is ending can refuse a tell; the next try finds or starts a fresh one. */
const WAKE_ATTEMPTS = 5;

/**
 * Where a message becomes accepted: it is stored first (the store is the truth), then the
 * conversation's batcher is told, and started if it is not running. Used by the webhook
 * route and by the WhatsApp sessions.
 */
export interface IngestCounts {
  accepted: number;
  /** Redeliveries of a message id already accepted: ignored, and counted here. */
  duplicates: number;
}

export class BatchIngest {
  readonly counts: IngestCounts = { accepted: 0, duplicates: 0 };
  readonly #deps: BatchIngestDeps;
  /** Batcher starts under way, by conversation key: concurrent wakes of one conversation share one start. */
  readonly #starting = new Map<string, Promise<ActorRef<BatcherMessage, unknown>>>();
  #batchersHandle: SupervisorHandle | undefined;

  constructor(deps: BatchIngestDeps) {
    this.#deps = deps;
  }

  /** Resolves once the message is stored (or known as a duplicate); rejects with WAR_ERR_STORE_UNAVAILABLE while the store is away. */
  async accept(incoming: IncomingMessage): Promise<AppendResult & { readonly id: string }> {
    const id = incoming.id ?? randomUUID();
    // The incoming message is its own conversation: the store reads only sessionId and phone.
    const at = this.#deps.clock.now();
    const stored = incoming.sentAt === undefined ? { id, text: incoming.text, at } : { id, text: incoming.text, at, sentAt: incoming.sentAt };
    const result = await this.#deps.store.append(incoming, stored);
    if (result.status === 'duplicate') {
      this.counts.duplicates++;
      return { status: 'duplicate', pending: result.pending, id };
    }
    this.counts.accepted++;
    const { pending } = result;
    const message: BatcherMessage = { type: 'appended', pending };
    // Every message of a conversation but its first finds the batcher running: tell it here.
    // A first one starts it, at once when the supervisor is idle (no async wake).
    const key = conversationKey(incoming);
    if (!this.#batchers().child<BatcherMessage, unknown>(key)?.tell(message)) {
      const started = this.#starting.has(key) ? undefined : this.#startNow(key, incoming, pending);
      if (!started?.tell(message)) await this.#wake(key, incoming, message, pending);
    }
    return { status: 'accepted', pending, id };
  }

  /**
   * Makes sure the conversation's batcher runs and has `message`. `known`: what the store
   * just said is pending (ingress, right after an append), so a batcher started now needs
   * no store read to arm its timer.
   */
  wake(conversation: Conversation, message: BatcherMessage, known?: PendingSummary): Promise<boolean> {
    return this.#wake(conversationKey(conversation), conversation, message, known);
  }

  /** True while the conversation's batcher is in the tree (running or backing off). */
  hasBatcher(conversation: Conversation): boolean {
    return this.#batchers().child(conversationKey(conversation)) !== undefined;
  }

  /** `/batchers`: the same handle for the runtime's life (a restart of it keeps its handle). */
  #batchers(): SupervisorHandle {
    this.#batchersHandle ??= this.#deps.batchers();
    return this.#batchersHandle;
  }

  async #wake(key: string, conversation: Conversation, message: BatcherMessage, known: PendingSummary | undefined): Promise<boolean> {
    for (let attempt = 0; attempt < WAKE_ATTEMPTS; attempt++) {
      let ref = this.#batchers().child<BatcherMessage, unknown>(key);
      if (!ref) {
        try {
          ref = await this.#start(key, conversation, known);
        } catch (error) {
          this.#deps.logger.warn({ err: error, conversation: key }, 'could not start the batcher');
          continue;
        }
      }
      if (ref.tell(message)) return true;
    }
    // The message is stored; the recovery sweep will start its batcher.
    this.#deps.logger.warn({ conversation: key }, 'could not reach the batcher; the recovery sweep will pick the conversation up');
    return false;
  }

  /** A start at once, or undefined when it has to wait (the start then goes on, shared, under #starting). */
  #startNow(key: string, conversation: Conversation, known: PendingSummary): ActorRef<BatcherMessage, unknown> | undefined {
    let started: ActorRef<BatcherMessage, unknown> | Promise<ActorRef<BatcherMessage, unknown>>;
    try {
      started = this.#batchers().startFromTemplateNow<BatcherMessage, unknown>(key, this.#args(conversation, known));
    } catch {
      // The wake that follows tries again, and logs what goes wrong.
      return undefined;
    }
    if (!(started instanceof Promise)) return started;
    this.#share(key, started);
    return undefined;
  }

  #start(key: string, conversation: Conversation, known: PendingSummary | undefined): Promise<ActorRef<BatcherMessage, unknown>> {
    return this.#starting.get(key) ?? this.#share(key, this.#batchers().startFromTemplate<BatcherMessage, unknown>(key, this.#args(conversation, known)));
  }

  #share(key: string, starting: Promise<ActorRef<BatcherMessage, unknown>>): Promise<ActorRef<BatcherMessage, unknown>> {
    const shared = starting.finally(() => this.#starting.delete(key));
    // Whoever waits on it sees the error; this copy only keeps the map tidy.
    shared.catch(() => undefined);
    this.#starting.set(key, shared);
    return shared;
  }

  #args(conversation: Conversation, known: PendingSummary | undefined): BatcherStart {
    return { sessionId: conversation.sessionId, phone: conversation.phone, known };
  }
}
