import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchText, type Batch, type StoredMessage } from '../../actors/batcher/batch.js';
import type { BatchStore, FlushRequest } from '../../actors/batcher/batch-store.js';
import type { Conversation } from '../../actors/batcher/conversation.js';
import { decideFlush, type FlushRules } from '../../actors/batcher/flush-rule.js';
import { MemoryStore } from '../../actors/batcher/memory-store.js';
import { RedisStore } from '../../actors/batcher/redis-store.js';
import { SqliteStore } from '../../actors/batcher/sqlite-store.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';

const RULES: FlushRules = { windowMs: 9_000, maxMessages: 10, maxAgeMs: 60_000 };
const T0 = 1_700_000_000_000;
const alice: Conversation = { sessionId: 's1', phone: '79161234567' };
const bob: Conversation = { sessionId: 's1', phone: '79169876543' };
const carol: Conversation = { sessionId: 's2', phone: '79160000001' };

const message = (id: string, at: number, text = `text ${id}`): StoredMessage => ({ id, text, at });
/** Who takes a conversation's next batch when an ack or dead letter settles the one before. */
const NEXT = { owner: 'me', leaseUntil: T0 + 1_000_000 };
const settledOnly = { settled: true, next: undefined };
/** A batch as ack and deadLetter name it: its id and its conversation. */
const ref = (batchId: string, conversation: Conversation = alice) => ({ batchId, ...conversation });
let batchSeq = 0;
const flushAt = (now: number, extra: Partial<FlushRequest> = {}): FlushRequest => ({
  now,
  rules: RULES,
  batchId: `b${++batchSeq}`,
  owner: 'me',
  leaseUntil: now + 30_000,
  ...extra,
});

interface Harness {
  store: BatchStore;
  /** A second store on the same data: a second runtime process. */
  other(): Promise<BatchStore>;
  cleanup(): Promise<void>;
}

const kinds: [string, () => Promise<Harness>][] = [
  [
    'memory',
    async () => {
      const store = new MemoryStore({ seenTtlMs: 86_400_000 });
      return { store, other: async () => store, cleanup: async () => undefined };
    },
  ],
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sqlite-store-'));
      const store = new SqliteStore({ file: join(dir, 'batches.sqlite'), seenTtlMs: 86_400_000 });
      await store.connect().catch((error: unknown) => {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      });
      // One process per file (the lock): a second runtime is the same store, as with memory.
      return {
        store,
        other: async () => store,
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    'redis',
    async () => {
      const keyPrefix = testPrefix('store');
      const make = async () => {
        const store = new RedisStore({ url: redisUrl(), keyPrefix, ttlSeconds: 86_400 });
        await store.connect();
        return store;
      };
      const opened: BatchStore[] = [await make()];
      return {
        store: opened[0] as BatchStore,
        other: async () => {
          const store = await make();
          opened.push(store);
          return store;
        },
        cleanup: async () => {
          for (const store of opened) await store.close();
          await deletePrefix(keyPrefix);
        },
      };
    },
  ],
];

for (const [kind, makeHarness] of kinds) {
  describe(`${kind} store`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('accepts a message once, ignores its duplicate, and summarises what is pending', async () => {
      expect(await h.store.append(alice, message('m1', T0))).toEqual({
        status: 'accepted',
        pending: { ...alice, count: 1, firstAt: T0, lastAt: T0 },
      });
      await h.store.append(alice, message('m2', T0 + 5));
      expect(await h.store.append(alice, message('m1', T0 + 9))).toEqual({
        status: 'duplicate',
        pending: { ...alice, count: 2, firstAt: T0, lastAt: T0 + 5 },
      });
      expect(await h.store.pending(alice)).toEqual({ ...alice, count: 2, firstAt: T0, lastAt: T0 + 5 });
      expect(await h.store.pending(bob)).toBeUndefined();
    });

    it('appends made together (one burst, as many clients at once) answer each as if made one after another', async () => {
      const results = await Promise.all([
        h.store.append(alice, message('a1', T0)),
        h.store.append(bob, message('b1', T0 + 1)),
        h.store.append(alice, message('a2', T0 + 2)),
        h.store.append(alice, message('a1', T0 + 3)),
        h.store.append(bob, message('b2', T0 + 4)),
        h.store.append({ sessionId: 's2', phone: alice.phone }, message('a1', T0 + 5)),
      ]);
      expect(results).toEqual([
        { status: 'accepted', pending: { ...alice, count: 1, firstAt: T0, lastAt: T0 } },
        { status: 'accepted', pending: { ...bob, count: 1, firstAt: T0 + 1, lastAt: T0 + 1 } },
        { status: 'accepted', pending: { ...alice, count: 2, firstAt: T0, lastAt: T0 + 2 } },
        { status: 'duplicate', pending: { ...alice, count: 2, firstAt: T0, lastAt: T0 + 2 } },
        { status: 'accepted', pending: { ...bob, count: 2, firstAt: T0 + 1, lastAt: T0 + 4 } },
        { status: 'accepted', pending: { sessionId: 's2', phone: alice.phone, count: 1, firstAt: T0 + 5, lastAt: T0 + 5 } },
      ]);
      const flushed = await h.store.flush(alice, flushAt(T0 + 20_000));
      expect(flushed.status === 'flushed' && flushed.batch.messages.map((m) => m.id)).toEqual(['a1', 'a2']);
    });

    it('is not due before the quiet window, and says when it will be', async () => {
      await h.store.append(alice, message('m1', T0));
      await h.store.append(alice, message('m2', T0 + 2_000));
      const result = await h.store.flush(alice, flushAt(T0 + 10_999));
      expect(result).toEqual({ status: 'not_due', dueAt: T0 + 11_000, pending: { ...alice, count: 2, firstAt: T0, lastAt: T0 + 2_000 } });
      expect(await h.store.flush(bob, flushAt(T0))).toEqual({ status: 'empty' });
    });

    it('flushes a quiet conversation as one batch in arrival order, with the merged text', async () => {
      const texts = ['Запишите на стрижку меня', 'На завтра', 'В 18:00', 'К Бари'];
      for (const [i, text] of texts.entries()) await h.store.append(alice, message(`m${i}`, T0 + i * 1_000, text));
      const result = await h.store.flush(alice, flushAt(T0 + 3_000 + 9_000, { batchId: 'quiet-1' }));
      if (result.status !== 'flushed') throw new Error(result.status);
      expect(result.batch).toMatchObject({ batchId: 'quiet-1', ...alice, reason: 'quiet', firstAt: T0, lastAt: T0 + 3_000, flushedAt: T0 + 12_000 });
      expect(batchText(result.batch.messages)).toBe('Запишите на стрижку меня На завтра В 18:00 К Бари');
      expect(result.remaining).toBeUndefined();
      expect(await h.store.pending(alice)).toBeUndefined();
    });

    it('cuts at maxMessages with reason size, leaving the rest pending', async () => {
      for (let i = 0; i < 12; i++) await h.store.append(alice, message(`m${i}`, T0 + i));
      const result = await h.store.flush(alice, flushAt(T0 + 12));
      if (result.status !== 'flushed') throw new Error(result.status);
      expect(result.batch.reason).toBe('size');
      expect(result.batch.messages.map((m) => m.id)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
      expect(result.remaining).toEqual({ ...alice, count: 2, firstAt: T0 + 10, lastAt: T0 + 11 });
    });

    it('flushes a chatty conversation at maxAge with reason age', async () => {
      for (let i = 0; i < 9; i++) await h.store.append(alice, message(`m${i}`, T0 + i * 8_000));
      const result = await h.store.flush(alice, flushAt(T0 + 60_000));
      expect(result.status === 'flushed' && result.batch.reason).toBe('age');
    });

    it('a forced flush (shutdown, recovered) ignores the rules', async () => {
      await h.store.append(alice, message('m1', T0));
      const result = await h.store.flush(alice, flushAt(T0 + 1, { force: 'shutdown' }));
      expect(result.status === 'flushed' && result.batch.reason).toBe('shutdown');
    });

    it('remembers delivered ids: a redelivered message after its flush is a duplicate', async () => {
      await h.store.append(alice, message('m1', T0));
      await h.store.flush(alice, flushAt(T0 + 9_000));
      expect((await h.store.append(alice, message('m1', T0 + 10_000))).status).toBe('duplicate');
    });

    it('two flushes racing on one conversation (two runtimes) never cut the same messages twice', async () => {
      const second = await h.other();
      for (let round = 0; round < 20; round++) {
        const conversation = { sessionId: 'race', phone: String(79_000_000_000 + round) };
        for (let i = 0; i < 5; i++) await h.store.append(conversation, message(`r${round}-${i}`, T0 + i));
        const results = await Promise.all([h.store.flush(conversation, flushAt(T0 + 20_000)), second.flush(conversation, flushAt(T0 + 20_000))]);
        const flushed = results.filter((r) => r.status === 'flushed');
        expect(flushed).toHaveLength(1);
        expect(results.filter((r) => r.status === 'empty')).toHaveLength(1);
      }
    });

    it('leases in-flight batches: expired leases are claimable, live ones only by their owner when asked', async () => {
      await h.store.append(alice, message('m1', T0));
      await h.store.flush(alice, flushAt(T0 + 9_000, { batchId: 'lease-1', owner: 'a', leaseUntil: T0 + 20_000 }));
      expect(await h.store.claim({ owner: 'b', now: T0 + 19_999, leaseUntil: T0 + 50_000, includeOwn: false, limit: 10 })).toEqual([]);
      const own = await h.store.claim({ owner: 'a', now: T0 + 10_000, leaseUntil: T0 + 40_000, includeOwn: true, limit: 10 });
      expect(own.map((b) => b.batchId)).toEqual(['lease-1']);
      expect(own[0]?.messages).toEqual([message('m1', T0)]);
      expect(await h.store.renew('lease-1', 'b', T0 + 99_000)).toBe(false);
      expect(await h.store.renew('lease-1', 'a', T0 + 45_000)).toBe(true);
      const taken = await h.store.claim({ owner: 'b', now: T0 + 45_001, leaseUntil: T0 + 80_000, includeOwn: false, limit: 10 });
      expect(taken.map((b) => b.batchId)).toEqual(['lease-1']);
      expect(await h.store.renew('lease-1', 'a', T0 + 99_000)).toBe(false);
    });

    it('ack forgets a delivered batch; deadLetter parks a failing one where stats and deadLetters show it', async () => {
      await h.store.append(alice, message('m1', T0));
      await h.store.append(bob, message('m2', T0));
      await h.store.flush(alice, flushAt(T0 + 9_000, { batchId: 'ok-1' }));
      await h.store.flush(bob, flushAt(T0 + 9_000, { batchId: 'bad-1' }));
      expect((await h.store.stats(10)).inFlight).toBe(2);
      expect(await h.store.ack(ref('ok-1'), NEXT)).toEqual(settledOnly);
      expect(await h.store.ack(ref('ok-1'), NEXT)).toEqual({ settled: false, next: undefined });
      expect(await h.store.deadLetter(ref('bad-1', bob), 'webhook answered 500', T0 + 10_000, NEXT)).toEqual(settledOnly);
      expect(await h.store.claim({ owner: 'x', now: T0 + 1e9, leaseUntil: T0 + 2e9, includeOwn: false, limit: 10 })).toEqual([]);
      const letters = await h.store.deadLetters(10);
      expect(letters).toEqual([{ batch: expect.objectContaining({ batchId: 'bad-1', ...bob }), error: 'webhook answered 500', at: T0 + 10_000 }]);
      expect(await h.store.stats(10)).toMatchObject({ inFlight: 0, deadLetters: 1, pendingBatches: 0 });
    });

    it('counts() agrees with stats() on what each store can count cheaply (null where it cannot)', async () => {
      await h.store.append(alice, message('m1', T0));
      await h.store.append(bob, message('m2', T0 + 1_000));
      await h.store.append(carol, message('m3', T0 + 15_000));
      await h.store.flush(alice, flushAt(T0 + 20_000, { batchId: 'c-1' }));
      await h.store.flush(bob, flushAt(T0 + 20_000, { batchId: 'c-2' }));
      await h.store.deadLetter(ref('c-2', bob), 'boom', T0 + 10_000, NEXT);
      const counts = await h.store.counts();
      const stats = await h.store.stats(10);
      expect(counts.deadLetters).toBe(1);
      for (const [field, expected] of [
        ['pendingConversations', stats.pendingBatches],
        ['inFlightBatches', stats.inFlight],
        ['inFlightConversations', 1],
        ['oldestPendingAt', T0 + 15_000],
      ] as const) {
        if (counts[field] !== null) expect(counts[field], field).toBe(expected);
      }
      expect(stats.pendingBatches).toBe(1);
    });

    it('an operator retries a dead letter (back in flight, leased, messages kept) or drops it; the count follows', async () => {
      await h.store.append(alice, message('m1', T0));
      await h.store.append(bob, { id: 'm2', text: 'with a sender time', at: T0, sentAt: T0 - 5_000 });
      await h.store.flush(alice, flushAt(T0 + 9_000, { batchId: 'dead-a' }));
      await h.store.flush(bob, flushAt(T0 + 9_000, { batchId: 'dead-b' }));
      await h.store.deadLetter(ref('dead-a'), 'boom', T0 + 20_000, NEXT);
      await h.store.deadLetter(ref('dead-b', bob), 'boom', T0 + 10_000, NEXT);
      expect(await h.store.deadLetterCount()).toBe(2);
      expect((await h.store.deadLetters(10)).map((letter) => letter.batch.batchId)).toEqual(['dead-b', 'dead-a']);
      expect((await h.store.deadLetters(1)).map((letter) => letter.batch.batchId)).toEqual(['dead-b']);
      const retried = await h.store.retryDeadLetter('dead-a', { owner: 'op', leaseUntil: T0 + 60_000 });
      expect(retried).toMatchObject({ deliverable: true, batch: { batchId: 'dead-a', ...alice, messages: [{ id: 'm1', text: 'text m1', at: T0 }] } });
      expect(await h.store.retryDeadLetter('dead-a', { owner: 'op', leaseUntil: T0 + 60_000 })).toBeUndefined();
      expect(await h.store.deadLetterCount()).toBe(1);
      // Leased to the operator's runtime until its lease ends, then claimable like any in-flight batch.
      expect(await h.store.claim({ owner: 'other', now: T0 + 30_000, leaseUntil: T0 + 90_000, includeOwn: false, limit: 10 })).toEqual([]);
      expect(await h.store.renew('dead-a', 'op', T0 + 70_000)).toBe(true);
      expect(await h.store.ack(ref('dead-a'), NEXT)).toEqual(settledOnly);
      expect((await h.store.deadLetters(10))[0]?.batch.messages).toEqual([{ id: 'm2', text: 'with a sender time', at: T0, sentAt: T0 - 5_000 }]);
      expect(await h.store.dropDeadLetter('dead-b')).toBe(true);
      expect(await h.store.dropDeadLetter('dead-b')).toBe(false);
      expect(await h.store.deadLetterCount()).toBe(0);
      expect(await h.store.deadLetters(10)).toEqual([]);
      expect((await h.store.stats(10)).deadLetters).toBe(0);
    });

    it('acks made together (batches delivered at once) each say whether they forgot a batch', async () => {
      await Promise.all([h.store.append(alice, message('m1', T0)), h.store.append(bob, message('m2', T0))]);
      await Promise.all([h.store.flush(alice, flushAt(T0 + 9_000, { batchId: 'two-1' })), h.store.flush(bob, flushAt(T0 + 9_000, { batchId: 'two-2' }))]);
      const acks = await Promise.all([h.store.ack(ref('two-1'), NEXT), h.store.ack(ref('unknown'), NEXT), h.store.ack(ref('two-2', bob), NEXT), h.store.ack(ref('two-1'), NEXT)]);
      expect(acks.map((ack) => ack.settled)).toEqual([true, false, true, false]);
      expect((await h.store.stats(10)).inFlight).toBe(0);
    });

    it('drops a pending batch on request and lists pending conversations (SCAN past one page)', async () => {
      await h.store.append(alice, message('m1', T0));
      expect(await h.store.drop(alice)).toBe(1);
      expect(await h.store.drop(alice)).toBe(0);
      const many = Array.from({ length: 1_200 }, (_, i) => ({ sessionId: 'bulk', phone: String(79_100_000_000 + i) }));
      await Promise.all(many.map((c, i) => h.store.append(c, message(`b${i}`, T0 + i))));
      const listed: string[] = [];
      for await (const c of h.store.pendingConversations()) listed.push(c.phone);
      expect(listed.sort()).toEqual(many.map((c) => c.phone).sort());
      const stats = await h.store.stats(5);
      expect(stats).toMatchObject({ pendingBatches: 1_200, pendingMessages: 1_200 });
      expect(stats.batches.map((b) => b.phone)).toEqual(many.slice(0, 5).map((c) => c.phone));
    });

    it('keeps a conversation in order: a batch cut behind another waits unleased, and settling the head hands it to the settler', async () => {
      const second = await h.other();
      await h.store.append(alice, message('o1', T0));
      const first = await h.store.flush(alice, flushAt(T0 + 9_000, { batchId: 'ord-1', owner: 'a' }));
      expect(first).toMatchObject({ status: 'flushed', deliverable: true });
      // The second runtime cuts the next batch of the same conversation: it must wait.
      await second.append(alice, message('o2', T0 + 10_000));
      const behind = await second.flush(alice, flushAt(T0 + 19_000, { batchId: 'ord-2', owner: 'b' }));
      expect(behind).toMatchObject({ status: 'flushed', deliverable: false });
      await h.store.append(alice, message('o3', T0 + 20_000));
      await h.store.flush(alice, flushAt(T0 + 29_000, { batchId: 'ord-3', owner: 'a' }));
      // Another conversation is not held up.
      await h.store.append(bob, message('x1', T0));
      expect(await h.store.flush(bob, flushAt(T0 + 9_000, { batchId: 'bob-1', owner: 'a' }))).toMatchObject({ deliverable: true });
      expect(await h.store.stats(10)).toMatchObject({ inFlight: 4, waitingForEarlier: 2 });
      // Nothing behind the head is claimable, however long ago its cut, even with every lease expired.
      const far = T0 + 10_000_000;
      const claimed = await second.claim({ owner: 'b', now: far, leaseUntil: far + 30_000, includeOwn: true, limit: 10 });
      expect(claimed.map((b) => b.batchId).sort()).toEqual(['bob-1', 'ord-1']);
      // b now holds ord-1 (a's lease ran out); a's late ack still settles it once, and the next is a's.
      expect(await h.store.renew('ord-2', 'b', far + 60_000)).toBe(false);
      const settled = await h.store.ack(ref('ord-1'), { owner: 'a', leaseUntil: far + 30_000 });
      expect(settled.settled).toBe(true);
      expect(settled.next).toMatchObject({ batchId: 'ord-2', messages: [message('o2', T0 + 10_000)] });
      expect(await h.store.renew('ord-2', 'a', far + 40_000)).toBe(true);
      expect(await second.claim({ owner: 'b', now: far + 1, leaseUntil: far + 30_000, includeOwn: false, limit: 10 })).toEqual([]);
      // Only the lease's holder dead-letters: b's lease on this conversation is gone.
      expect(await second.deadLetter(ref('ord-2'), 'boom', far, { owner: 'b', leaseUntil: far + 30_000 })).toEqual({ settled: false, next: undefined });
      // A dead letter settles the head too: the one after it is next.
      const dead = await h.store.deadLetter(ref('ord-2'), 'boom', far, { owner: 'a', leaseUntil: far + 30_000 });
      expect(dead).toMatchObject({ settled: true, next: { batchId: 'ord-3' } });
      expect(await second.renew('ord-3', 'a', far + 40_000)).toBe(true);
      expect(await h.store.stats(10)).toMatchObject({ inFlight: 2, waitingForEarlier: 0, deadLetters: 1 });
      // An operator's retry joins the end: behind ord-3, which is in flight.
      expect(await h.store.retryDeadLetter('ord-2', { owner: 'op', leaseUntil: far + 30_000 })).toMatchObject({ deliverable: false, batch: { batchId: 'ord-2' } });
      expect(await second.ack(ref('ord-3'), { owner: 'b', leaseUntil: far + 30_000 })).toMatchObject({ settled: true, next: { batchId: 'ord-2' } });
      expect(await second.ack(ref('ord-2'), { owner: 'b', leaseUntil: far + 30_000 })).toEqual(settledOnly);
      expect(await h.store.stats(10)).toMatchObject({ inFlight: 1, waitingForEarlier: 0, deadLetters: 0 });
    });

    it('an ack repeated after its reply was lost still hands over the next batch, to its holder only', async () => {
      await h.store.append(alice, message('r1', T0));
      await h.store.flush(alice, flushAt(T0 + 9_000, { batchId: 'rep-1', owner: 'a' }));
      await h.store.append(alice, message('r2', T0 + 10_000));
      await h.store.flush(alice, flushAt(T0 + 19_000, { batchId: 'rep-2', owner: 'a' }));
      const lease = { owner: 'a', leaseUntil: T0 + 60_000 };
      expect(await h.store.ack(ref('rep-1'), lease)).toMatchObject({ settled: true, next: { batchId: 'rep-2' } });
      // The first ack went through but its answer was lost: the retry finds rep-2 again, not nothing.
      expect(await h.store.ack(ref('rep-1'), lease)).toMatchObject({ settled: false, next: { batchId: 'rep-2' } });
      expect(await h.store.ack(ref('rep-1'), { owner: 'b', leaseUntil: T0 + 60_000 })).toEqual({ settled: false, next: undefined });
      expect(await h.store.deadLetter(ref('rep-2'), 'boom', T0 + 30_000, { owner: 'b', leaseUntil: T0 + 60_000 })).toEqual({ settled: false, next: undefined });
      expect(await h.store.deadLetterCount()).toBe(0);
      expect(await h.store.deadLetter(ref('rep-2'), 'boom', T0 + 30_000, lease)).toEqual(settledOnly);
      expect(await h.store.deadLetter(ref('rep-2'), 'boom', T0 + 30_000, lease)).toEqual({ settled: false, next: undefined });
      expect(await h.store.deadLetterCount()).toBe(1);
    });

    it('a released head is claimable at once by anyone, oldest cut first; releasing needs the lease', async () => {
      const conversations = Array.from({ length: 5 }, (_, i) => ({ sessionId: 'rel', phone: String(79_300_000_000 + i) }));
      for (const [i, conversation] of conversations.entries()) {
        await h.store.append(conversation, message(`rel${i}`, T0));
        await h.store.flush(conversation, flushAt(T0 + 9_000 + i, { batchId: `rel-${i}`, owner: 'a', leaseUntil: T0 + 60_000 }));
      }
      expect(await h.store.release('rel-3', 'b')).toBe(false);
      for (const i of [3, 1, 4]) expect(await h.store.release(`rel-${i}`, 'a')).toBe(true);
      expect(await h.store.release('rel-3', 'a')).toBe(false);
      const first = await h.store.claim({ owner: 'b', now: T0 + 10_000, leaseUntil: T0 + 70_000, includeOwn: false, limit: 2 });
      expect(first).toHaveLength(2);
      const rest = await h.store.claim({ owner: 'c', now: T0 + 10_000, leaseUntil: T0 + 70_000, includeOwn: false, limit: 10 });
      expect([...first, ...rest].map((b) => b.batchId).sort()).toEqual(['rel-1', 'rel-3', 'rel-4']);
      expect(await h.store.renew((first[0] as Batch).batchId, 'b', T0 + 80_000)).toBe(true);
      expect(await h.store.renew('rel-0', 'a', T0 + 80_000)).toBe(true);
    });

    it('order holds for any interleaving of cuts, settles and runtimes (model)', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ op: fc.constantFrom('cut', 'cut', 'ack', 'dead', 'claim'), by: fc.integer({ min: 0, max: 1 }) }), { minLength: 1, maxLength: 30 }),
          async (steps) => {
            const conversation = { sessionId: 'model', phone: String(79_400_000_000 + n++) };
            const stores = [h.store, await h.other()];
            const owners = ['a', 'b'];
            /** Batches cut, in order; what each runtime holds; what reached a "handler", in order. */
            const cut: string[] = [];
            const held = new Map<string, number>();
            const handled: string[] = [];
            let at = T0;
            for (const [i, step] of steps.entries()) {
              const store = stores[step.by] as BatchStore;
              const owner = owners[step.by] as string;
              at += 10_000;
              if (step.op === 'cut') {
                await store.append(conversation, message(`${conversation.phone}-${i}`, at));
                const result = await store.flush(conversation, flushAt(at, { force: 'recovered', owner, leaseUntil: at + 5_000 }));
                if (result.status !== 'flushed') continue;
                cut.push(result.batch.batchId);
                if (result.deliverable) held.set(result.batch.batchId, step.by);
              } else if (step.op === 'claim') {
                // Every lease has run out by now (each step is 10 s and leases are 5 s).
                // (Earlier runs' conversations may have heads left over: only this one's count here.)
                for (const batch of await store.claim({ owner, now: at, leaseUntil: at + 5_000, includeOwn: false, limit: 100 })) {
                  if (batch.phone === conversation.phone) held.set(batch.batchId, step.by);
                }
              } else {
                const mine = [...held.entries()].find(([, by]) => by === step.by);
                if (!mine) continue;
                const [batchId] = mine;
                held.delete(batchId);
                handled.push(batchId);
                const lease = { owner, leaseUntil: at + 5_000 };
                const settled = step.op === 'ack' ? await store.ack(ref(batchId, conversation), lease) : await store.deadLetter(ref(batchId, conversation), 'x', at, lease);
                if (settled.next) held.set(settled.next.batchId, step.by);
              }
              // At most one batch of the conversation is held at any time, and it is the oldest unsettled.
              expect(held.size).toBeLessThanOrEqual(1);
              const unsettled = cut.filter((id) => !handled.includes(id));
              for (const id of held.keys()) expect(id).toBe(unsettled[0]);
            }
            // Handled in exactly the order cut.
            expect(handled).toEqual(cut.slice(0, handled.length));
          },
        ),
        { numRuns: 40 },
      );
    });

    it('applies the flush rule of flush-rule.ts exactly', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 12 }),
          fc.integer({ min: 0, max: 70_000 }),
          fc.record({ windowMs: fc.integer({ min: 1, max: 20_000 }), maxMessages: fc.integer({ min: 1, max: 12 }), maxAgeMs: fc.integer({ min: 1, max: 60_000 }) }),
          async (gaps, after, rules) => {
            const conversation = { sessionId: 'rule', phone: String(79_200_000_000 + n++) };
            let at = T0;
            for (const [i, gap] of gaps.entries()) {
              at += gap;
              await h.store.append(conversation, message(`g${i}`, at));
            }
            const now = at + after;
            const pending = { count: gaps.length, firstAt: T0 + (gaps[0] as number), lastAt: at };
            const expected = decideFlush(pending, now, rules);
            const result = await h.store.flush(conversation, flushAt(now, { rules }));
            if (expected.due) {
              expect(result.status === 'flushed' && result.batch.reason).toBe(expected.reason);
              expect(result.status === 'flushed' && result.batch.messages.length).toBe(Math.min(gaps.length, rules.maxMessages));
            } else {
              expect(result).toMatchObject({ status: 'not_due', dueAt: expected.dueAt });
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  });
}

