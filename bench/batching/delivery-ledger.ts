/**
 * What a contender's handler saw, checked against what was accepted: every accepted
 * message delivered exactly once (no loss, no repeat, nothing unknown), and, for each
 * quiet flush, its lag = delivery time - due time, where due = the batch's last accept
 * time + the window. Both times are Date.now() (the runtime's clock), so they compare
 * exactly, to the millisecond.
 */

export interface Delivery {
  /** Date.now() when the batch reached the handler (for the baselines: once it was taken from Redis). */
  readonly deliveredAt: number;
  readonly conversation: string;
  readonly ids: readonly string[];
  /** Epoch ms when the batch's last message was accepted. */
  readonly lastAt: number;
  readonly reason: string;
}

export interface LedgerCounts {
  accepted: number;
  deliveredOnce: number;
  batches: number;
  /** Conversations that got more than one batch (a gap longer than the window split them). */
  splitConversations: number;
  /** The most conversations that had accepted, undelivered messages at one moment. */
  peakPending: number;
  byReason: Record<string, number>;
}

export class DeliveryLedger {
  readonly windowMs: number;
  readonly #expected = new Set<string>();
  readonly #delivered = new Map<string, number>();
  readonly #lags: number[] = [];
  readonly #byReason: Record<string, number> = {};
  /** Per conversation: accepted and not yet delivered. */
  readonly #undelivered = new Map<string, number>();
  readonly #batchesOf = new Map<string, number>();
  #pendingConversations = 0;
  #peakPending = 0;
  #batches = 0;
  #deliveredOnce = 0;
  #duplicates = 0;
  #waiter: (() => void) | undefined;
  /** Messages accepted and only counted (HTTP load from another process; a timed loop without per-message bookkeeping). */
  #anonymousExpected = 0;
  #anonymousPrefix: string | undefined;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /**
   * `count` more messages were accepted whose ids are all distinct and start with
   * `idPrefix`: verify() then requires exactly `count` distinct such ids delivered, none twice.
   */
  expectAnonymous(count: number, idPrefix: string): void {
    if (this.#anonymousPrefix !== undefined && this.#anonymousPrefix !== idPrefix) throw new Error('bench bug: one anonymous id prefix per ledger');
    this.#anonymousPrefix = idPrefix;
    this.#anonymousExpected += count;
    if (this.#waiter && this.isComplete) this.#waiter();
  }

  /** A message of `conversation` was sent (for the count of conversations pending at once). */
  sent(conversation: string): void {
    this.#adjust(conversation, 1);
  }

  /** The contender accepted (stored) this message; it may already have been delivered. */
  expect(id: string): void {
    if (this.#expected.has(id)) throw new Error(`bench bug: message id ${id} sent twice`);
    this.#expected.add(id);
  }

  /** Called by the contender's handler, first thing. */
  record(delivery: Delivery): void {
    this.#batches++;
    this.#byReason[delivery.reason] = (this.#byReason[delivery.reason] ?? 0) + 1;
    this.#batchesOf.set(delivery.conversation, (this.#batchesOf.get(delivery.conversation) ?? 0) + 1);
    if (delivery.reason === 'quiet') this.#lags.push(delivery.deliveredAt - (delivery.lastAt + this.windowMs));
    for (const id of delivery.ids) {
      const seen = (this.#delivered.get(id) ?? 0) + 1;
      this.#delivered.set(id, seen);
      if (seen === 1) this.#deliveredOnce++;
      else this.#duplicates++;
    }
    this.#adjust(delivery.conversation, -delivery.ids.length);
    if (this.#waiter && this.isComplete) this.#waiter();
  }

  get accepted(): number {
    return this.#expected.size + this.#anonymousExpected;
  }

  get deliveredOnce(): number {
    return this.#deliveredOnce;
  }

  get batches(): number {
    return this.#batches;
  }

  get isComplete(): boolean {
    return this.#deliveredOnce >= this.accepted;
  }

  /** Lags of quiet flushes, ms, in delivery order. */
  get lags(): readonly number[] {
    return this.#lags;
  }

  counts(): LedgerCounts {
    let split = 0;
    for (const batches of this.#batchesOf.values()) if (batches > 1) split++;
    return {
      accepted: this.accepted,
      deliveredOnce: this.#deliveredOnce,
      batches: this.#batches,
      splitConversations: split,
      peakPending: this.#peakPending,
      byReason: { ...this.#byReason },
    };
  }

  /** Resolves once every accepted message has been delivered; rejects after `timeoutMs`. */
  waitForAll(timeoutMs: number): Promise<void> {
    if (this.isComplete) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`only ${this.#deliveredOnce} of ${this.accepted} accepted messages were delivered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = () => {
        this.#waiter = undefined;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Throws unless every accepted message was delivered exactly once and nothing else was. */
  verify(): void {
    let missing = 0;
    for (const id of this.#expected) if (!this.#delivered.has(id)) missing++;
    // Anonymous ones are only counted: as many distinct ids under their prefix as were accepted.
    const prefix = this.#anonymousPrefix;
    let anonymousDelivered = 0;
    const unknown: string[] = [];
    for (const id of this.#delivered.keys()) {
      if (this.#expected.has(id)) continue;
      if (prefix !== undefined && id.startsWith(prefix)) anonymousDelivered++;
      else unknown.push(id);
    }
    const anonymousGap = this.#anonymousExpected - anonymousDelivered;
    if (missing === 0 && anonymousGap === 0 && this.#duplicates === 0 && unknown.length === 0) return;
    throw new Error(
      `invalid: ${this.accepted} accepted, ${missing + Math.max(0, anonymousGap)} never delivered, ` +
        `${unknown.length + Math.max(0, -anonymousGap)} delivered but never accepted, ${this.#duplicates} delivered again` +
        (unknown.length > 0 ? ` (e.g. ${unknown.slice(0, 3).join(', ')})` : ''),
    );
  }

  #adjust(conversation: string, by: number): void {
    const before = this.#undelivered.get(conversation) ?? 0;
    const after = before + by;
    if (after === 0) this.#undelivered.delete(conversation);
    else this.#undelivered.set(conversation, after);
    if (before <= 0 && after > 0) {
      this.#pendingConversations++;
      if (this.#pendingConversations > this.#peakPending) this.#peakPending = this.#pendingConversations;
    } else if (before > 0 && after <= 0) {
      this.#pendingConversations--;
    }
  }
}
