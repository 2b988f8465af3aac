import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { RuntimeError } from '../../src/errors.js';
import type { Batch, FlushReason, PendingSummary, StoredMessage } from './batch.js';
import {
  StoreUnavailableError,
  type AppendResult,
  type BatchRef,
  type AvailabilityListener,
  type BatchStore,
  type ClaimRequest,
  type DeadLetter,
  type FlushRequest,
  type FlushResult,
  type Lease,
  type Retried,
  type Settled,
  type StoreStats,
  type StoreCounts,
} from './batch-store.js';
import type { Conversation } from './conversation.js';
import { decideFlush } from './flush-rule.js';

export interface SqliteStoreOptions {
  /** DATA_DIR/batches.sqlite; its directory is created if missing. */
  file: string;
  /** How long a message id is remembered for deduplication (BATCH_TTL_S). */
  seenTtlMs: number;
  /**
   * `normal` (the default): in WAL mode a commit survives a crash or kill -9 of the process,
   * not necessarily a power loss. `full`: every commit is fsynced, and survives that too.
   */
  synchronous?: 'normal' | 'full';
}

/** A second runtime on the same file: it must not start, since leases and order assume one process. */
export class StoreLockedError extends RuntimeError {
  constructor(readonly file: string, cause: unknown) {
    super(
      'WAR_ERR_STORE_LOCKED',
      `${file} is locked: another runtime holds it (one runtime per data directory: stop the other one, or give this one its own DATA_DIR)`,
      { cause },
    );
  }
}

const SCHEMA_VERSION = 1;

/**
 * Pending messages hang off a conversation row that carries their summary, so an append is
 * an upsert and an insert, never a count. Messages are clustered by (conversation, seq): a
 * flush reads and deletes one contiguous range. In-flight batches carry the ordering rule of
 * ordering.ts: `seq` is the cut order, `head` marks each conversation's oldest, and only heads
 * are in the claim index, by `lease_until` (a released head's is its `flushed_at`, so
 * claimable heads sort oldest cut first). Times are epoch ms.
 */
const SCHEMA = `
CREATE TABLE conversations (
  conv INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL,
  phone TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  next_seq INTEGER NOT NULL,
  UNIQUE (session_id, phone)
);
CREATE INDEX conversations_by_first_at ON conversations (first_at);
CREATE TABLE messages (
  conv INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  id TEXT NOT NULL,
  text TEXT NOT NULL,
  at INTEGER NOT NULL,
  sent_at INTEGER,
  PRIMARY KEY (conv, seq)
) WITHOUT ROWID;
CREATE TABLE seen (
  session_id TEXT NOT NULL,
  phone TEXT NOT NULL,
  id TEXT NOT NULL,
  forget_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, phone, id)
) WITHOUT ROWID;
CREATE INDEX seen_by_forget_at ON seen (forget_at);
CREATE TABLE batches (
  seq INTEGER PRIMARY KEY,
  batch_id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL,
  phone TEXT NOT NULL,
  messages TEXT NOT NULL,
  reason TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  flushed_at INTEGER NOT NULL,
  head INTEGER NOT NULL,
  owner TEXT NOT NULL,
  lease_until INTEGER NOT NULL
);
CREATE INDEX batches_by_conversation ON batches (session_id, phone, seq);
CREATE INDEX batches_claimable ON batches (lease_until) WHERE head = 1;
CREATE TABLE dead_letters (
  seq INTEGER PRIMARY KEY,
  batch_id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL,
  phone TEXT NOT NULL,
  messages TEXT NOT NULL,
  reason TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  flushed_at INTEGER NOT NULL,
  error TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX dead_letters_by_at ON dead_letters (at);
`;

const BATCH = 'seq, batch_id, session_id, phone, messages, reason, first_at, last_at, flushed_at, head';

/** Every statement the store runs, prepared once per open. Exported for the test that checks their query plans. */
export const STATEMENTS = {
  seen: `INSERT INTO seen (session_id, phone, id, forget_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (session_id, phone, id) DO UPDATE SET forget_at = excluded.forget_at WHERE seen.forget_at <= ? RETURNING 1`,
  pruneSeen: 'DELETE FROM seen WHERE forget_at <= ? ORDER BY forget_at LIMIT ?',
  appendConversation: `INSERT INTO conversations (session_id, phone, count, first_at, last_at, next_seq) VALUES (?, ?, 1, ?, ?, 1)
    ON CONFLICT (session_id, phone) DO UPDATE SET count = count + 1, last_at = excluded.last_at, next_seq = next_seq + 1
    RETURNING conv, count, first_at, last_at, next_seq`,
  insertMessage: 'INSERT INTO messages (conv, seq, id, text, at, sent_at) VALUES (?, ?, ?, ?, ?, ?)',
  conversation: 'SELECT conv, count, first_at, last_at FROM conversations WHERE session_id = ? AND phone = ?',
  takeMessages: 'SELECT seq, id, text, at, sent_at FROM messages WHERE conv = ? ORDER BY seq LIMIT ?',
  deleteMessages: 'DELETE FROM messages WHERE conv = ? AND seq <= ?',
  deleteAllMessages: 'DELETE FROM messages WHERE conv = ?',
  shrinkConversation: 'UPDATE conversations SET count = ?, first_at = ? WHERE conv = ?',
  deleteConversation: 'DELETE FROM conversations WHERE conv = ?',
  dropConversation: 'DELETE FROM conversations WHERE session_id = ? AND phone = ? RETURNING conv, count',
  inFlightAhead: 'SELECT 1 FROM batches WHERE session_id = ? AND phone = ? LIMIT 1',
  insertBatch: `INSERT INTO batches (batch_id, session_id, phone, messages, reason, first_at, last_at, flushed_at, head, owner, lease_until)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  claimable: `SELECT ${BATCH} FROM batches WHERE head = 1 AND lease_until <= ? ORDER BY lease_until, seq LIMIT ?`,
  ownLive: `SELECT ${BATCH} FROM batches WHERE head = 1 AND lease_until > ? AND owner = ? ORDER BY lease_until, seq LIMIT ?`,
  lease: 'UPDATE batches SET owner = ?, lease_until = ? WHERE seq = ?',
  renew: "UPDATE batches SET lease_until = ? WHERE batch_id = ? AND head = 1 AND owner = ? AND owner <> ''",
  release: "UPDATE batches SET owner = '', lease_until = flushed_at WHERE batch_id = ? AND head = 1 AND owner = ? AND owner <> ''",
  releaseAll: "UPDATE batches SET owner = '', lease_until = flushed_at WHERE head = 1 AND owner <> ''",
  removeBatch: `DELETE FROM batches WHERE batch_id = ? RETURNING ${BATCH}`,
  removeHeld: `DELETE FROM batches WHERE batch_id = ? AND head = 1 AND owner = ? AND owner <> '' RETURNING ${BATCH}`,
  headHeldBy: `SELECT ${BATCH} FROM batches WHERE session_id = ? AND phone = ? AND head = 1 AND owner = ? AND owner <> '' LIMIT 1`,
  leaseNext: `UPDATE batches SET head = 1, owner = ?, lease_until = ?
    WHERE seq = (SELECT seq FROM batches WHERE session_id = ? AND phone = ? ORDER BY seq LIMIT 1) RETURNING ${BATCH}`,
  insertDead: `INSERT INTO dead_letters (batch_id, session_id, phone, messages, reason, first_at, last_at, flushed_at, error, at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  deadLetters: 'SELECT seq, batch_id, session_id, phone, messages, reason, first_at, last_at, flushed_at, 0 AS head, error, at FROM dead_letters ORDER BY at, seq LIMIT ?',
  deadCount: 'SELECT count(*) FROM dead_letters',
  removeDead: 'DELETE FROM dead_letters WHERE batch_id = ? RETURNING seq, batch_id, session_id, phone, messages, reason, first_at, last_at, flushed_at, 0 AS head',
  dropDead: 'DELETE FROM dead_letters WHERE batch_id = ?',
  conversationsPage: 'SELECT session_id, phone FROM conversations WHERE (session_id, phone) > (?, ?) ORDER BY session_id, phone LIMIT ?',
  pendingTotals: 'SELECT count(*) AS batches, coalesce(sum(count), 0) AS messages FROM conversations',
  oldestPending: 'SELECT session_id, phone, count, first_at, last_at FROM conversations ORDER BY first_at, conv LIMIT ?',
  inFlightCount: 'SELECT count(*) FROM batches',
  headCount: 'SELECT count(*) FROM batches WHERE head = 1',
  ping: 'SELECT 1',
} as const;

interface ConversationRow {
  readonly conv: number;
  readonly count: number;
  readonly first_at: number;
  readonly last_at: number;
}

interface AppendedRow extends ConversationRow {
  readonly next_seq: number;
}

interface MessageRow {
  readonly seq: number;
  readonly id: string;
  readonly text: string;
  readonly at: number;
  readonly sent_at: number | null;
}

interface BatchRow {
  readonly seq: number;
  readonly batch_id: string;
  readonly session_id: string;
  readonly phone: string;
  readonly messages: string;
  readonly reason: string;
  readonly first_at: number;
  readonly last_at: number;
  readonly flushed_at: number;
  readonly head: number;
}

interface DeadRow extends BatchRow {
  readonly error: string;
  readonly at: number;
}

interface PendingRow {
  readonly session_id: string;
  readonly phone: string;
  readonly count: number;
  readonly first_at: number;
  readonly last_at: number;
}

function prepare(db: Database.Database) {
  const p = STATEMENTS;
  return {
    seen: db.prepare<[string, string, string, number, number], number>(p.seen).pluck(),
    pruneSeen: db.prepare<[number, number]>(p.pruneSeen),
    appendConversation: db.prepare<[string, string, number, number], AppendedRow>(p.appendConversation),
    insertMessage: db.prepare<[number, number, string, string, number, number | null]>(p.insertMessage),
    conversation: db.prepare<[string, string], ConversationRow>(p.conversation),
    takeMessages: db.prepare<[number, number], MessageRow>(p.takeMessages),
    deleteMessages: db.prepare<[number, number]>(p.deleteMessages),
    deleteAllMessages: db.prepare<[number]>(p.deleteAllMessages),
    shrinkConversation: db.prepare<[number, number, number]>(p.shrinkConversation),
    deleteConversation: db.prepare<[number]>(p.deleteConversation),
    dropConversation: db.prepare<[string, string], { conv: number; count: number }>(p.dropConversation),
    inFlightAhead: db.prepare<[string, string], number>(p.inFlightAhead).pluck(),
    insertBatch: db.prepare<[string, string, string, string, string, number, number, number, number, string, number]>(p.insertBatch),
    claimable: db.prepare<[number, number], BatchRow>(p.claimable),
    ownLive: db.prepare<[number, string, number], BatchRow>(p.ownLive),
    lease: db.prepare<[string, number, number]>(p.lease),
    renew: db.prepare<[number, string, string]>(p.renew),
    release: db.prepare<[string, string]>(p.release),
    releaseAll: db.prepare<[]>(p.releaseAll),
    removeBatch: db.prepare<[string], BatchRow>(p.removeBatch),
    removeHeld: db.prepare<[string, string], BatchRow>(p.removeHeld),
    headHeldBy: db.prepare<[string, string, string], BatchRow>(p.headHeldBy),
    leaseNext: db.prepare<[string, number, string, string], BatchRow>(p.leaseNext),
    insertDead: db.prepare<[string, string, string, string, string, number, number, number, string, number]>(p.insertDead),
    deadLetters: db.prepare<[number], DeadRow>(p.deadLetters),
    deadCount: db.prepare<[], number>(p.deadCount).pluck(),
    removeDead: db.prepare<[string], BatchRow>(p.removeDead),
    dropDead: db.prepare<[string]>(p.dropDead),
    conversationsPage: db.prepare<[string, string, number], { session_id: string; phone: string }>(p.conversationsPage),
    pendingTotals: db.prepare<[], { batches: number; messages: number }>(p.pendingTotals),
    oldestPending: db.prepare<[number], PendingRow>(p.oldestPending),
    inFlightCount: db.prepare<[], number>(p.inFlightCount).pluck(),
    headCount: db.prepare<[], number>(p.headCount).pluck(),
    ping: db.prepare<[], number>(p.ping).pluck(),
  };
}

type Statements = ReturnType<typeof prepare>;

/** Any write but an append: run inside the turn's transaction, its return value the caller's answer. */
type Write = (sql: Statements) => unknown;
type Resolve = (value: unknown) => void;
type Reject = (error: unknown) => void;

/** Expired ids are pruned every this many accepted appends, at most twice as many at a time (so a backlog drains, a bit per prune). */
const PRUNE_EVERY = 10_000;
const PRUNE_LIMIT = 2 * PRUNE_EVERY;
const PAGE = 500;

/**
 * The embedded durable store (BATCH_STORE=sqlite, the default without REDIS_URL): one SQLite
 * file in WAL mode, held with an exclusive lock, so exactly one runtime uses it and what it
 * recovers at start (leases of the process before it) is its own to hand out.
 *
 * Every write of one event-loop turn (the appends of many requests, the acks of batches
 * delivered together, the flushes of timers due together) is applied, in call order, in one
 * transaction committed at the end of the turn; each caller is answered only after the
 * commit, with what its own write did as if the writes had run one after another. Reads run
 * at once on what is committed.
 */
export class SqliteStore implements BatchStore {
  readonly kind = 'sqlite';
  readonly target: string;
  readonly #file: string;
  readonly #seenTtlMs: number;
  readonly #synchronous: 'NORMAL' | 'FULL';
  #db: Database.Database | undefined;
  #sql: Statements | undefined;
  #group: (() => void) | undefined;
  /** Leases of the previous process are released at the first open only: later ones are this process's own. */
  #recovered = false;
  readonly #listeners = new Set<AvailabilityListener>();
  #available = true;
  #appendsSincePrune = 0;

  /**
   * The turn's writes in call order, as parallel arrays (no object per append): a Conversation
   * is an append of the message beside it, a function any other write.
   */
  readonly #ops: (Conversation | Write)[] = [];
  readonly #messages: (StoredMessage | undefined)[] = [];
  readonly #resolves: Resolve[] = [];
  readonly #rejects: Reject[] = [];
  readonly #results: unknown[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  constructor(options: SqliteStoreOptions) {
    this.#file = options.file;
    this.#seenTtlMs = options.seenTtlMs;
    this.#synchronous = options.synchronous === 'full' ? 'FULL' : 'NORMAL';
    this.target = `sqlite ${options.file}`;
  }

  onAvailability(listener: AvailabilityListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async connect(): Promise<void> {
    if (this.#db?.open) return;
    let db: Database.Database;
    try {
      // Clients' messages: readable by the runtime's user only (SQLite gives its -wal file the
      // database file's mode).
      mkdirSync(dirname(this.#file), { recursive: true, mode: 0o700 });
      closeSync(openSync(this.#file, 'a', 0o600));
      // No busy wait: the lock is held for the life of the holder, so waiting cannot help.
      db = new Database(this.#file, { timeout: 0 });
    } catch (error) {
      throw new StoreUnavailableError(this.target, error);
    }
    try {
      this.#lock(db);
      db.pragma(`synchronous = ${this.#synchronous}`);
      this.#migrate(db);
      const sql = prepare(db);
      if (!this.#recovered) sql.releaseAll.run();
      this.#recovered = true;
      this.#db = db;
      this.#sql = sql;
      this.#group = db.transaction(() => this.#applyAll(sql));
      this.#available = true;
    } catch (error) {
      db.close();
      // The file cannot be used now (full disk, I/O error): the store owner retries. A bad
      // statement or schema is a bug and fails as itself.
      if (isUnavailable(error)) throw new StoreUnavailableError(this.target, error);
      throw error;
    }
  }

  /**
   * The exclusive locking mode must be set before the file is first read, and the lock is
   * only taken by a write transaction; from then on it is held until close (or the process
   * dies: the kernel drops its locks). In this mode SQLite keeps the WAL index in memory, so
   * no -shm file is shared with anyone.
   */
  #lock(db: Database.Database): void {
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`${this.#file} cannot be put in WAL mode (journal mode is ${String(mode)})`);
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      if (hasCode(error) && error.code.startsWith('SQLITE_BUSY')) throw new StoreLockedError(this.#file, error);
      throw error;
    }
  }

  #migrate(db: Database.Database): void {
    const version = db.pragma('user_version', { simple: true });
    if (version === SCHEMA_VERSION) return;
    if (version !== 0) throw new Error(`${this.#file} has schema version ${String(version)}; this runtime reads version ${SCHEMA_VERSION} (a newer runtime wrote it)`);
    db.transaction(() => {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  async close(): Promise<void> {
    const db = this.#db;
    if (!db) return;
    // Writes already asked for are committed (and answered) before the file is let go.
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#commit();
    this.#db = undefined;
    this.#sql = undefined;
    this.#group = undefined;
    db.close();
  }

  async ping(): Promise<void> {
    this.#read((sql) => sql.ping.get());
  }

  append(conversation: Conversation, message: StoredMessage): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => this.#enqueue(conversation, message, resolve as Resolve, reject));
  }

  async pending(conversation: Conversation): Promise<PendingSummary | undefined> {
    const row = this.#read((sql) => sql.conversation.get(conversation.sessionId, conversation.phone));
    return row && summary(conversation, row.count, row.first_at, row.last_at);
  }

  flush(conversation: Conversation, request: FlushRequest): Promise<FlushResult> {
    return this.#write((sql) => flushNow(sql, conversation, request));
  }

  drop(conversation: Conversation): Promise<number> {
    return this.#write((sql) => {
      const row = sql.dropConversation.get(conversation.sessionId, conversation.phone);
      if (!row) return 0;
      sql.deleteAllMessages.run(row.conv);
      return row.count;
    });
  }

  /** Indexed: the partial index of heads by lease end, never a walk of every batch in flight. */
  claim(request: ClaimRequest): Promise<Batch[]> {
    return this.#write((sql) => {
      const { owner, now, leaseUntil, limit } = request;
      const rows = sql.claimable.all(now, limit);
      // Read before leasing: the heads just leased would otherwise read as the owner's own.
      const own = request.includeOwn && rows.length < limit ? sql.ownLive.all(now, owner, limit - rows.length) : [];
      const batches: Batch[] = [];
      for (const row of rows) {
        sql.lease.run(owner, leaseUntil, row.seq);
        batches.push(toBatch(row));
      }
      for (const row of own) {
        sql.lease.run(owner, leaseUntil, row.seq);
        batches.push(toBatch(row));
      }
      return batches;
    });
  }

  renew(batchId: string, owner: string, leaseUntil: number): Promise<boolean> {
    return this.#write((sql) => sql.renew.run(leaseUntil, batchId, owner).changes === 1);
  }

  release(batchId: string, owner: string): Promise<boolean> {
    return this.#write((sql) => sql.release.run(batchId, owner).changes === 1);
  }

  ack(batch: BatchRef, next: Lease): Promise<Settled> {
    return this.#write((sql) => {
      const removed = sql.removeBatch.get(batch.batchId);
      if (!removed) return { settled: false, next: heldHead(sql, batch, next) };
      return { settled: true, next: settleNext(sql, removed, next) };
    });
  }

  deadLetter(batch: BatchRef, error: string, at: number, next: Lease): Promise<Settled> {
    return this.#write((sql) => {
      const r = sql.removeHeld.get(batch.batchId, next.owner);
      if (!r) return { settled: false, next: heldHead(sql, batch, next) };
      sql.insertDead.run(r.batch_id, r.session_id, r.phone, r.messages, r.reason, r.first_at, r.last_at, r.flushed_at, error, at);
      return { settled: true, next: settleNext(sql, r, next) };
    });
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const rows = this.#read((sql) => sql.deadLetters.all(limit));
    return rows.map((row) => ({ batch: toBatch(row), error: row.error, at: row.at }));
  }

  async deadLetterCount(): Promise<number> {
    return this.#read((sql) => sql.deadCount.get() ?? 0);
  }

  retryDeadLetter(batchId: string, lease: Lease): Promise<Retried | undefined> {
    return this.#write((sql) => {
      const r = sql.removeDead.get(batchId);
      if (!r) return undefined;
      const deliverable = sql.inFlightAhead.get(r.session_id, r.phone) === undefined;
      // A new row: the highest seq, so the end of its conversation's queue.
      sql.insertBatch.run(
        r.batch_id, r.session_id, r.phone, r.messages, r.reason, r.first_at, r.last_at, r.flushed_at,
        deliverable ? 1 : 0, deliverable ? lease.owner : '', deliverable ? lease.leaseUntil : 0,
      );
      return { batch: toBatch(r), deliverable };
    });
  }

  dropDeadLetter(batchId: string): Promise<boolean> {
    return this.#write((sql) => sql.dropDead.run(batchId).changes === 1);
  }

  /** A page at a time (keyset), so no statement stays open across the caller's awaits. */
  async *pendingConversations(): AsyncIterable<Conversation> {
    let after = { session_id: '', phone: '' };
    for (;;) {
      const page = this.#read((sql) => sql.conversationsPage.all(after.session_id, after.phone, PAGE));
      for (const row of page) yield { sessionId: row.session_id, phone: row.phone };
      if (page.length < PAGE) return;
      after = page[page.length - 1] as { session_id: string; phone: string };
    }
  }

  async counts(): Promise<StoreCounts> {
    return this.#read((sql) => ({
      pendingConversations: (sql.pendingTotals.get() ?? { batches: 0 }).batches,
      inFlightConversations: sql.headCount.get() ?? 0,
      inFlightBatches: sql.inFlightCount.get() ?? 0,
      deadLetters: sql.deadCount.get() ?? 0,
      oldestPendingAt: sql.oldestPending.all(1)[0]?.first_at ?? null,
    }));
  }

  async stats(limit: number): Promise<StoreStats> {
    return this.#read((sql) => {
      const totals = sql.pendingTotals.get() ?? { batches: 0, messages: 0 };
      const inFlight = sql.inFlightCount.get() ?? 0;
      return {
        pendingBatches: totals.batches,
        pendingMessages: totals.messages,
        batches: sql.oldestPending.all(limit).map((row) => summary({ sessionId: row.session_id, phone: row.phone }, row.count, row.first_at, row.last_at)),
        inFlight,
        waitingForEarlier: inFlight - (sql.headCount.get() ?? 0),
        deadLetters: sql.deadCount.get() ?? 0,
      };
    });
  }

  // ---- the turn's transaction ------------------------------------------------------------

  #write<T>(op: (sql: Statements) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => this.#enqueue(op, undefined, resolve as Resolve, reject));
  }

  #enqueue(op: Conversation | Write, message: StoredMessage | undefined, resolve: Resolve, reject: Reject): void {
    if (!this.#sql) {
      reject(new StoreUnavailableError(this.target, 'the store is not open'));
      return;
    }
    this.#ops.push(op);
    this.#messages.push(message);
    this.#resolves.push(resolve);
    this.#rejects.push(reject);
    // setImmediate, not nextTick: the requests read in one poll phase of the loop arrive in
    // separate callbacks, and the check phase after it commits them all together.
    this.#scheduled ??= setImmediate(this.#commit);
  }

  /** Commits the turn's writes in one transaction, then answers each; nobody hears of a write before its commit. */
  readonly #commit = (): void => {
    this.#scheduled = undefined;
    const count = this.#ops.length;
    if (count === 0) return;
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    const results = this.#results;
    try {
      (this.#group as () => void)();
      this.#succeeded();
      for (let i = 0; i < count; i++) (resolves[i] as Resolve)(results[i]);
    } catch (error) {
      if (count === 1 || isUnavailable(error)) {
        const failure = this.#failure(error);
        for (let i = 0; i < count; i++) (rejects[i] as Reject)(failure);
      } else {
        // One write failed (a bug, a batch id used twice) and rolled the group back: each
        // runs alone, so only that one fails.
        this.#applyEach(this.#sql as Statements, count);
      }
    }
    this.#ops.length = 0;
    this.#messages.length = 0;
    resolves.length = 0;
    rejects.length = 0;
    results.length = 0;
  };

  #applyAll(sql: Statements): void {
    const count = this.#ops.length;
    for (let i = 0; i < count; i++) this.#results[i] = this.#apply(sql, i);
  }

  #applyEach(sql: Statements, count: number): void {
    const db = this.#db as Database.Database;
    for (let i = 0; i < count; i++) {
      try {
        const result = db.transaction(() => this.#apply(sql, i))();
        this.#succeeded();
        (this.#resolves[i] as Resolve)(result);
      } catch (error) {
        (this.#rejects[i] as Reject)(this.#failure(error));
      }
    }
  }

  #apply(sql: Statements, i: number): unknown {
    const op = this.#ops[i] as Conversation | Write;
    return typeof op === 'function' ? op(sql) : this.#appendNow(sql, op, this.#messages[i] as StoredMessage);
  }

  #appendNow(sql: Statements, conversation: Conversation, message: StoredMessage): AppendResult {
    const { sessionId, phone } = conversation;
    const at = message.at;
    if (sql.seen.get(sessionId, phone, message.id, at + this.#seenTtlMs, at) === undefined) {
      const row = sql.conversation.get(sessionId, phone);
      return { status: 'duplicate', pending: row && summary(conversation, row.count, row.first_at, row.last_at) };
    }
    const row = sql.appendConversation.get(sessionId, phone, at, at) as AppendedRow;
    sql.insertMessage.run(row.conv, row.next_seq, message.id, message.text, at, message.sentAt ?? null);
    if (++this.#appendsSincePrune >= PRUNE_EVERY) {
      this.#appendsSincePrune = 0;
      sql.pruneSeen.run(at, PRUNE_LIMIT);
    }
    return { status: 'accepted', pending: summary(conversation, row.count, row.first_at, row.last_at) };
  }

  #read<T>(op: (sql: Statements) => T): T {
    const sql = this.#sql;
    if (!sql) throw new StoreUnavailableError(this.target, 'the store is not open');
    try {
      const result = op(sql);
      this.#succeeded();
      return result;
    } catch (error) {
      throw this.#failure(error);
    }
  }

  // ---- availability ----------------------------------------------------------------------

  #succeeded(): void {
    if (!this.#available) this.#setAvailable(true, null);
  }

  /** An error the caller sees: a full disk, an I/O error, a busy or read-only file is the store being unavailable (503). */
  #failure(error: unknown): unknown {
    if (!isUnavailable(error)) return error;
    this.#setAvailable(false, error instanceof Error ? error.message : String(error));
    return new StoreUnavailableError(this.target, error);
  }

  #setAvailable(available: boolean, cause: string | null): void {
    if (available === this.#available) return;
    this.#available = available;
    const change = { available, cause };
    for (const listener of this.#listeners) listener(change);
  }
}

function flushNow(sql: Statements, conversation: Conversation, request: FlushRequest): FlushResult {
  const { sessionId, phone } = conversation;
  const row = sql.conversation.get(sessionId, phone);
  if (!row) return { status: 'empty' };
  let reason: FlushReason | undefined = request.force;
  if (!reason) {
    const pending = summary(conversation, row.count, row.first_at, row.last_at);
    const decision = decideFlush(pending, request.now, request.rules);
    if (!decision.due) return { status: 'not_due', dueAt: decision.dueAt, pending };
    reason = decision.reason;
  }
  const take = Math.min(row.count, request.rules.maxMessages);
  // One more than taken: the first message left is the remaining summary's firstAt.
  const rows = sql.takeMessages.all(row.conv, take + 1);
  const messages: StoredMessage[] = [];
  for (let i = 0; i < take; i++) {
    const m = rows[i] as MessageRow;
    messages.push(m.sent_at === null ? { id: m.id, text: m.text, at: m.at } : { id: m.id, text: m.text, at: m.at, sentAt: m.sent_at });
  }
  const lastTaken = rows[take - 1] as MessageRow;
  sql.deleteMessages.run(row.conv, lastTaken.seq);
  const left = row.count - take;
  let remaining: PendingSummary | undefined;
  if (left > 0) {
    const firstLeft = (rows[take] as MessageRow).at;
    sql.shrinkConversation.run(left, firstLeft, row.conv);
    remaining = summary(conversation, left, firstLeft, row.last_at);
  } else {
    sql.deleteConversation.run(row.conv);
  }
  const deliverable = sql.inFlightAhead.get(sessionId, phone) === undefined;
  const firstAt = (messages[0] as StoredMessage).at;
  sql.insertBatch.run(
    request.batchId, sessionId, phone, JSON.stringify(messages), reason, firstAt, lastTaken.at, request.now,
    deliverable ? 1 : 0, deliverable ? request.owner : '', deliverable ? request.leaseUntil : 0,
  );
  const batch: Batch = { batchId: request.batchId, sessionId, phone, messages, reason, firstAt, lastAt: lastTaken.at, flushedAt: request.now };
  return { status: 'flushed', batch, remaining, deliverable };
}

/** The conversation's head if the caller holds it: the answer to a repeated ack (see Settled). */
function heldHead(sql: Statements, conversation: Conversation, next: Lease): Batch | undefined {
  const row = sql.headHeldBy.get(conversation.sessionId, conversation.phone, next.owner);
  return row && toBatch(row);
}

/** A settled batch left its conversation's queue: if it was the head, the next one is leased to `next`. */
function settleNext(sql: Statements, removed: BatchRow, next: Lease): Batch | undefined {
  if (removed.head !== 1) return undefined;
  const row = sql.leaseNext.get(next.owner, next.leaseUntil, removed.session_id, removed.phone);
  return row && toBatch(row);
}

function toBatch(row: BatchRow): Batch {
  return {
    batchId: row.batch_id,
    sessionId: row.session_id,
    phone: row.phone,
    messages: JSON.parse(row.messages) as StoredMessage[],
    reason: row.reason as FlushReason,
    firstAt: row.first_at,
    lastAt: row.last_at,
    flushedAt: row.flushed_at,
  };
}

function summary(conversation: Conversation, count: number, firstAt: number, lastAt: number): PendingSummary {
  return { sessionId: conversation.sessionId, phone: conversation.phone, count, firstAt, lastAt };
}

function hasCode(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

/** The file cannot take the call now (as opposed to a bad statement, which is a bug and fails loudly). */
function isUnavailable(error: unknown): boolean {
  return hasCode(error) && /^SQLITE_(FULL|IOERR|BUSY|READONLY)/.test(error.code);
}
