import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AvailabilityListener, FlushRequest } from '../../actors/batcher/batch-store.js';
import type { Conversation } from '../../actors/batcher/conversation.js';
import type { FlushRules } from '../../actors/batcher/flush-rule.js';
import { SqliteStore, STATEMENTS, StoreLockedError } from '../../actors/batcher/sqlite-store.js';
import { waitFor } from '../support/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const RULES: FlushRules = { windowMs: 9_000, maxMessages: 10, maxAgeMs: 60_000 };
const ALL: FlushRules = { windowMs: 1, maxMessages: 1_000_000, maxAgeMs: 1 };
const T0 = 1_700_000_000_000;
const alice: Conversation = { sessionId: 's1', phone: '79161234567' };
const bob: Conversation = { sessionId: 's1', phone: '79169876543' };
const carol: Conversation = { sessionId: 's2', phone: '79160000000' };
const flushAt = (now: number, batchId: string, extra: Partial<FlushRequest> = {}): FlushRequest => ({
  now,
  rules: RULES,
  batchId,
  owner: 'a',
  leaseUntil: now + 30_000,
  ...extra,
});

let dir: string;
let file: string;
const opened: SqliteStore[] = [];
const children: ChildProcess[] = [];

const open = async (): Promise<SqliteStore> => {
  const store = new SqliteStore({ file, seenTtlMs: 86_400_000 });
  opened.push(store);
  await store.connect();
  return store;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqlite-store-'));
  file = join(dir, 'data', 'batches.sqlite');
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sqlite store', () => {
  it('creates its directory, names its file as target, and a second connect while open is a no-op', async () => {
    const store = await open();
    expect(existsSync(file)).toBe(true);
    expect(store.kind).toBe('sqlite');
    expect(store.target).toBe(`sqlite ${file}`);
    await store.append(alice, { id: 'm1', text: 'hi', at: T0 });
    await store.connect();
    expect(await store.pending(alice)).toMatchObject({ count: 1 });
    await store.ping();
  });

  it('keeps pending messages, batches in flight (claimable at once, in order), dead letters and remembered ids across close and reopen', async () => {
    const first = await open();
    await first.append(alice, { id: 'a1', text: 'one', at: T0 });
    await first.flush(alice, flushAt(T0 + 9_000, 'alice-1', { leaseUntil: T0 + 10_000_000 }));
    await first.append(alice, { id: 'a2', text: 'two', at: T0 + 10_000 });
    expect(await first.flush(alice, flushAt(T0 + 19_000, 'alice-2'))).toMatchObject({ status: 'flushed', deliverable: false });
    await first.append(alice, { id: 'a3', text: 'three', at: T0 + 20_000, sentAt: T0 + 19_500 });
    await first.append(bob, { id: 'b1', text: 'bob', at: T0 });
    await first.flush(bob, flushAt(T0 + 9_000, 'bob-1'));
    await first.deadLetter({ batchId: 'bob-1', ...bob }, 'webhook answered 500', T0 + 9_500, { owner: 'a', leaseUntil: T0 + 40_000 });
    await first.append(carol, { id: 'c1', text: 'carol', at: T0 + 5 });
    await first.close();

    const second = await open();
    expect(await second.pending(alice)).toEqual({ ...alice, count: 1, firstAt: T0 + 20_000, lastAt: T0 + 20_000 });
    expect(await second.pending(carol)).toEqual({ ...carol, count: 1, firstAt: T0 + 5, lastAt: T0 + 5 });
    expect(await second.stats(10)).toMatchObject({ pendingBatches: 2, pendingMessages: 2, inFlight: 2, waitingForEarlier: 1, deadLetters: 1 });
    // Ids stay remembered: pending (a3), delivered (a1), dead-lettered (b1).
    for (const [conversation, id] of [[alice, 'a3'], [alice, 'a1'], [bob, 'b1']] as const) {
      expect((await second.append(conversation, { id, text: 'again', at: T0 + 30_000 })).status).toBe('duplicate');
    }
    // The first runtime's lease (until far in the future) died with it: the head is claimable now, the batch behind it is not.
    const claimed = await second.claim({ owner: 'b', now: T0 + 30_000, leaseUntil: T0 + 60_000, includeOwn: false, limit: 10 });
    expect(claimed.map((batch) => batch.batchId)).toEqual(['alice-1']);
    expect(claimed[0]?.messages).toEqual([{ id: 'a1', text: 'one', at: T0 }]);
    const settled = await second.ack({ batchId: 'alice-1', ...alice }, { owner: 'b', leaseUntil: T0 + 60_000 });
    expect(settled).toMatchObject({ settled: true, next: { batchId: 'alice-2', messages: [{ id: 'a2', text: 'two', at: T0 + 10_000 }] } });
    expect(await second.deadLetters(10)).toEqual([
      { batch: expect.objectContaining({ batchId: 'bob-1', ...bob, messages: [{ id: 'b1', text: 'bob', at: T0 }] }), error: 'webhook answered 500', at: T0 + 9_500 },
    ]);
    const rest = await second.flush(alice, flushAt(T0 + 40_000, 'alice-3', { force: 'recovered' }));
    expect(rest.status === 'flushed' && rest.batch.messages).toEqual([{ id: 'a3', text: 'three', at: T0 + 20_000, sentAt: T0 + 19_500 }]);
  });

  it('a second opener gets WAR_ERR_STORE_LOCKED naming the file; once the holder closes, it opens', async () => {
    const holder = await open();
    const second = new SqliteStore({ file, seenTtlMs: 86_400_000 });
    opened.push(second);
    const error: unknown = await second.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ code: 'WAR_ERR_STORE_LOCKED', statusCode: 503 });
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain('another runtime holds it');
    await holder.close();
    await second.connect();
    await second.ping();
  });

  it('a runtime killed with SIGKILL mid-burst loses no accepted message, and its lock dies with it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/sqlite-append-child.ts', file, '20'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await waitFor(() => (stdout.split('\n').length > 3_000 ? true : undefined), 30_000, `the child to accept 3000 messages (stderr: ${stderr.slice(0, 500)})`);

    // Another process holds the file: this one must not open it.
    const blocked = new SqliteStore({ file, seenTtlMs: 86_400_000 });
    opened.push(blocked);
    await expect(blocked.connect()).rejects.toMatchObject({ code: 'WAR_ERR_STORE_LOCKED' });

    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // Only whole lines: a line cut by the kill was not printed.
    const printed = stdout.slice(stdout.indexOf('ready\n') + 'ready\n'.length, stdout.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
    expect(printed.length).toBeGreaterThan(3_000);

    const store = await open();
    const found = new Set<string>();
    for await (const conversation of store.pendingConversations()) {
      const result = await store.flush(conversation, { now: Date.now() + 1_000, rules: ALL, batchId: `all-${conversation.phone}`, owner: 'x', leaseUntil: 0, force: 'recovered' });
      if (result.status !== 'flushed') continue;
      const numbers = result.batch.messages.map((message) => Number(message.id.slice(1)));
      // Arrival order kept.
      expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
      for (const message of result.batch.messages) found.add(message.id);
    }
    expect(printed.filter((id) => !found.has(id))).toEqual([]);
  });

  it('a write in a turn that fails on its own (a batch id used twice) fails alone; the others of its turn commit', async () => {
    const store = await open();
    await store.append(alice, { id: 'a1', text: 'one', at: T0 });
    await store.flush(alice, flushAt(T0 + 9_000, 'same'));
    await store.append(bob, { id: 'b1', text: 'bob', at: T0 });
    const [before, twice, after] = await Promise.allSettled([
      store.append(carol, { id: 'c1', text: 'carol', at: T0 }),
      store.flush(bob, flushAt(T0 + 9_000, 'same')),
      store.append(carol, { id: 'c2', text: 'carol', at: T0 + 1 }),
    ]);
    expect(before).toMatchObject({ status: 'fulfilled', value: { status: 'accepted' } });
    expect(twice).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_CONSTRAINT_UNIQUE' } });
    expect(after).toMatchObject({ status: 'fulfilled', value: { status: 'accepted', pending: { count: 2 } } });
    // The failed flush took nothing: bob's message is still pending.
    expect(await store.pending(bob)).toMatchObject({ count: 1 });
  });

  it('a full disk (SQLITE_FULL) is a 503 for the turn, told to listeners, and the next write that succeeds says it is back', async () => {
    const store = await open();
    const changes: Parameters<AvailabilityListener>[0][] = [];
    store.onAvailability((change) => changes.push(change));
    // Fault injection at the driver: the statements' shared prototype throws what SQLite throws on a full disk.
    const probe = new Database(':memory:');
    const prototype = Object.getPrototypeOf(probe.prepare('SELECT 1')) as { get: (...args: unknown[]) => unknown };
    probe.close();
    const get = prototype.get;
    let failing = true;
    prototype.get = function (this: unknown, ...args: unknown[]) {
      if (failing) throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
      return get.apply(this, args);
    };
    try {
      const results = await Promise.allSettled([store.append(alice, { id: 'm1', text: 'x', at: T0 }), store.append(bob, { id: 'm2', text: 'x', at: T0 })]);
      for (const result of results) expect(result).toMatchObject({ status: 'rejected', reason: { code: 'WAR_ERR_STORE_UNAVAILABLE', statusCode: 503 } });
      expect((results[0] as PromiseRejectedResult).reason.message).toBe(`sqlite ${file} is unavailable: database or disk is full`);
      expect(changes).toEqual([{ available: false, cause: 'database or disk is full' }]);
    } finally {
      failing = false;
      prototype.get = get;
    }
    expect(await store.append(alice, { id: 'm1', text: 'x', at: T0 })).toMatchObject({ status: 'accepted', pending: { count: 1 } });
    expect(changes).toEqual([
      { available: false, cause: 'database or disk is full' },
      { available: true, cause: null },
    ]);
  });

  it('claims, settles, appends and flushes are indexed: no statement scans batches, messages or seen, or sorts', async () => {
    const store = await open();
    await store.close();
    const db = new Database(file);
    try {
      for (const [name, sql] of Object.entries(STATEMENTS)) {
        // Whole-table reads are the ones meant to be: stats, listing dead letters, the one-off release at open.
        if (['pendingTotals', 'oldestPending', 'inFlightCount', 'headCount', 'deadLetters', 'deadCount', 'releaseAll', 'ping'].includes(name)) continue;
        const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => 1);
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail).join(' | ');
        expect(plan, name).not.toMatch(/\bSCAN\b|TEMP B-TREE/);
      }
      const claim = (db.prepare(`EXPLAIN QUERY PLAN ${STATEMENTS.claimable}`).all(1, 1) as { detail: string }[]).map((row) => row.detail).join(' | ');
      expect(claim).toContain('batches_claimable');
    } finally {
      db.close();
    }
  });
});
