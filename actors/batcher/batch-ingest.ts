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
}

export interface BatchIngestDeps {
  readonly store: BatchStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The dynamic supervisor of the batchers (`/batchers`). */
  readonly batchers: () => SupervisorHandle;
  readonly lookup: (path: string) => ActorRef<BatcherMessage, unknown> | undefined;
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
  #batchersPath: string | undefined;

  constructor(deps: BatchIngestDeps) {
    this.#deps = deps;
  }

  /** Resolves once the message is stored (or known as a duplicate); rejects with ERR_STORE_UNAVAILABLE while the store is away. */
  async accept(incoming: IncomingMessage): Promise<AppendResult & { readonly id: string }> {
    const conversation: Conversation = { sessionId: incoming.sessionId, phone: incoming.phone };
    const id = incoming.id ?? randomUUID();
    const result = await this.#deps.store.append(conversation, { id, text: incoming.text, at: this.#deps.clock.now() });
    if (result.status === 'duplicate') {
      this.counts.duplicates++;
      return { status: 'duplicate', pending: result.pending, id };
    }
    this.counts.accepted++;
    const { pending } = result;
    const message: BatcherMessage = { type: 'appended', pending };
    // Every message of a conversation but its first finds the batcher running: tell it
    // here, without the wake's async start path.
    const key = conversationKey(conversation);
    if (!this.#deps.lookup(this.#pathOf(key))?.tell(message)) await this.#wake(key, conversation, message, pending);
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

  /** `/batchers/<key>`, as one flat string (it is looked up per message). */
  #pathOf(key: string): string {
    this.#batchersPath ??= this.#deps.batchers().path;
    return [this.#batchersPath, key].join('/');
  }

  async #wake(key: string, conversation: Conversation, message: BatcherMessage, known: PendingSummary | undefined): Promise<boolean> {
    const path = this.#pathOf(key);
    for (let attempt = 0; attempt < WAKE_ATTEMPTS; attempt++) {
      let ref = this.#deps.lookup(path);
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

  #start(key: string, conversation: Conversation, known: PendingSummary | undefined): Promise<ActorRef<BatcherMessage, unknown>> {
    let starting = this.#starting.get(key);
    if (!starting) {
      const args: BatcherStart = { sessionId: conversation.sessionId, phone: conversation.phone, known };
      starting = this.#deps
        .batchers()
        .startFromTemplate<BatcherMessage, unknown>(key, args)
        .finally(() => this.#starting.delete(key));
      this.#starting.set(key, starting);
    }
    return starting;
  }
}
