import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../batcher/batch-store.js';
import type { Outbox, OutboxEntry, OutboxPush } from './outbox.js';

const SCHEMA_VERSION = 1;

/** Per session, `seq` is acceptance order; the id is unique, so a push retried after a lost answer cannot add it twice. */
const SCHEMA = `
CREATE TABLE outbox (
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
  phone TEXT NOT NULL,
  text TEXT NOT NULL,
  source TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
`;

interface Row {
  id: string;
  phone: string;
  text: string;
  source: string;
  accepted_at: number;
}

/**
 * The embedded store's send queues: DATA_DIR/outbox.sqlite, beside the batches' file, in WAL
 * mode with synchronous=NORMAL, so a push is kept across a kill -9 of the process once it has
 * returned. Calls are synchronous on the main thread and each is one short statement or
 * transaction (tens of microseconds); one runtime per DATA_DIR is enforced by the batch store.
 */
export class SqliteOutbox implements Outbox {
  readonly kind = 'sqlite';
  readonly durable = true;
  readonly #file: string;
  #db: Database.Database | undefined;
  #sql: ReturnType<typeof prepare> | undefined;

  constructor(file: string) {
    this.#file = file;
  }

  /** Opens (and creates) the file; called in the preflight, so a file that cannot be opened stops start-up with its reason. */
  open(): void {
    if (this.#db?.open) return;
    try {
      mkdirSync(dirname(this.#file), { recursive: true, mode: 0o700 });
      closeSync(openSync(this.#file, 'a', 0o600));
      const db = new Database(this.#file, { timeout: 1_000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      if (db.pragma('user_version', { simple: true }) !== SCHEMA_VERSION) {
        db.transaction(() => {
          db.exec(SCHEMA);
          db.pragma(`user_version = ${SCHEMA_VERSION}`);
        })();
      }
      this.#db = db;
      this.#sql = prepare(db);
    } catch (error) {
      throw new StoreUnavailableError(this.#file, error);
    }
  }

  async push(sessionId: string, entry: OutboxEntry, max: number): Promise<OutboxPush> {
    const sql = this.#statements();
    const depth = (sql.depth.get(sessionId) as { n: number }).n;
    if (depth >= max) return { accepted: false, depth };
    sql.push.run(sessionId, sessionId, entry.id, entry.phone, entry.text, entry.source, entry.acceptedAt);
    return { accepted: true, depth: depth + 1 };
  }

  async load(sessionId: string, limit: number): Promise<OutboxEntry[]> {
    return (this.#statements().load.all(sessionId, limit) as Row[]).map((row) => ({ id: row.id, phone: row.phone, text: row.text, source: row.source, acceptedAt: row.accepted_at }));
  }

  async remove(sessionId: string, id: string): Promise<void> {
    this.#statements().remove.run(sessionId, id);
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
    this.#sql = undefined;
  }

  #statements(): ReturnType<typeof prepare> {
    if (!this.#sql) this.open();
    return this.#sql as ReturnType<typeof prepare>;
  }
}

function prepare(db: Database.Database) {
  return {
    depth: db.prepare('SELECT count(*) AS n FROM outbox WHERE session_id = ?'),
    // INSERT OR IGNORE: the same id twice (a retried push) is kept once.
    push: db.prepare('INSERT OR IGNORE INTO outbox (session_id, seq, id, phone, text, source, accepted_at) VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM outbox WHERE session_id = ?), ?, ?, ?, ?, ?)'),
    load: db.prepare('SELECT id, phone, text, source, accepted_at FROM outbox WHERE session_id = ? ORDER BY seq LIMIT ?'),
    remove: db.prepare('DELETE FROM outbox WHERE session_id = ? AND id = ?'),
  };
}
