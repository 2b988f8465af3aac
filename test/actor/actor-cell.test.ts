import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { Behaviour } from '../../src/actor/behaviour.js';
import { Mailbox, Offer } from '../../src/actor/mailbox.js';
import { settle } from '../../src/clock.js';
import { errorCode } from '../../src/errors.js';
import { local } from '../../supervisor/child-spec.js';
import { nodeAt, shutdownOnClock, startSystem } from '../support/system.js';

type Msg = { type: 'add'; n: number } | { type: 'slow-add'; n: number } | { type: 'get' } | { type: 'hang' };

function recorder(seen: number[]): Behaviour<Msg, number[] | undefined> {
  return {
    async receive(message) {
      switch (message.type) {
        case 'add':
          seen.push(message.n);
          return undefined;
        case 'slow-add':
          // An async receive is awaited before the next message: order must still hold.
          await new Promise((resolve) => setImmediate(resolve));
          seen.push(message.n);
          return undefined;
        case 'get':
          return seen.slice();
        case 'hang':
          return new Promise<never>(() => undefined);
      }
    },
  };
}

describe('mailbox', () => {
  it('keeps FIFO order across growth', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 500 }), (items) => {
        const mailbox = new Mailbox<number>({ capacity: 1_000, overflow: 'reject' });
        for (const item of items) expect(mailbox.offer(item)).toBe(Offer.Enqueued);
        expect(mailbox.drain()).toEqual(items);
      }),
    );
  });

  it('reject refuses the newcomer and counts it', () => {
    const mailbox = new Mailbox<number>({ capacity: 2, overflow: 'reject' });
    mailbox.offer(1);
    mailbox.offer(2);
    expect(mailbox.offer(3)).toBe(Offer.Refused);
    expect(mailbox.drain()).toEqual([1, 2]);
    expect(mailbox.dropped).toBe(1);
  });

  it('drop_newest discards the newcomer and counts it', () => {
    const mailbox = new Mailbox<number>({ capacity: 2, overflow: 'drop_newest' });
    mailbox.offer(1);
    mailbox.offer(2);
    expect(mailbox.offer(3)).toBe(Offer.Refused);
    expect(mailbox.drain()).toEqual([1, 2]);
    expect(mailbox.dropped).toBe(1);
  });

  it('drop_oldest evicts the head, hands it back, and counts it', () => {
    const mailbox = new Mailbox<number>({ capacity: 2, overflow: 'drop_oldest' });
    mailbox.offer(1);
    mailbox.offer(2);
    expect(mailbox.offer(3)).toBe(Offer.EnqueuedEvicting);
    expect(mailbox.takeEvicted()).toBe(1);
    expect(mailbox.drain()).toEqual([2, 3]);
    expect(mailbox.dropped).toBe(1);
  });
});

describe('actor cell', () => {
  it('handles messages one at a time, in send order, sync and async alike', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer(), fc.boolean()), { maxLength: 60 }), async (sends) => {
        const seen: number[] = [];
        const { system } = await startSystem([{ kind: 'actor', id: 'a', behaviour: local(() => recorder(seen)) }]);
        const ref = system.lookup<Msg, number[] | undefined>('/a') as ActorRef<Msg, number[] | undefined>;
        for (const [n, slow] of sends) ref.tell(slow ? { type: 'slow-add', n } : { type: 'add', n });
        expect(await ref.ask({ type: 'get' })).toEqual(sends.map(([n]) => n));
        await system.shutdown();
      }),
      { numRuns: 40 },
    );
  });

  it('ask times out with WAR_ERR_ASK_TIMEOUT on the fake clock, and the actor keeps serving', async () => {
    const seen: number[] = [];
    const { system, clock } = await startSystem([{ kind: 'actor', id: 'a', behaviour: local(() => recorder(seen)) }], {
      defaults: { askTimeoutMs: 250 },
    });
    const ref = system.lookup<Msg, unknown>('/a') as ActorRef<Msg, unknown>;
    const hung = ref.ask({ type: 'hang' }).catch((error: unknown) => error);
    await settle();
    await clock.advanceAsync(249);
    const pending = await Promise.race([hung, Promise.resolve('still pending')]);
    expect(pending).toBe('still pending');
    await clock.advanceAsync(1);
    const error = await hung;
    expect(errorCode(error)).toBe('WAR_ERR_ASK_TIMEOUT');
    expect((error as Error).message).toContain('/a');
    // A per-ask timeout overrides the default.
    const short = ref.ask({ type: 'get' }, { timeoutMs: 10 }).catch((e: unknown) => e);
    await clock.advanceAsync(10);
    expect(errorCode(await short)).toBe('WAR_ERR_ASK_TIMEOUT');
    await shutdownOnClock(system, clock);
  });

  it('reject: a full mailbox refuses tells (false) and asks (WAR_ERR_MAILBOX_FULL), counted in the tree', async () => {
    const { system, clock } = await startSystem([
      { kind: 'actor', id: 'a', behaviour: local(() => recorder([])), mailbox: { capacity: 3, overflow: 'reject' } },
    ]);
    const ref = system.lookup<Msg, unknown>('/a') as ActorRef<Msg, unknown>;
    ref.tell({ type: 'hang' });
    await settle();
    expect([1, 2, 3].map((n) => ref.tell({ type: 'add', n }))).toEqual([true, true, true]);
    expect(ref.tell({ type: 'add', n: 4 })).toBe(false);
    await expect(ref.ask({ type: 'get' })).rejects.toMatchObject({ code: 'WAR_ERR_MAILBOX_FULL' });
    expect(nodeAt(system.snapshot(), '/a')?.mailbox).toEqual({ depth: 3, processed: 1, dropped: 2 });
    await shutdownOnClock(system, clock);
  });

  it('drop_newest: the newcomer is dropped and counted, queued messages are kept', async () => {
    const seen: number[] = [];
    const { system } = await startSystem([
      { kind: 'actor', id: 'a', behaviour: local(() => recorder(seen)), mailbox: { capacity: 2, overflow: 'drop_newest' } },
    ]);
    const ref = system.lookup<Msg, unknown>('/a') as ActorRef<Msg, unknown>;
    const sent = [1, 2, 3, 4].map((n) => ref.tell({ type: 'add', n }));
    expect(sent).toEqual([true, true, false, false]);
    await settle();
    expect(seen).toEqual([1, 2]);
    expect(nodeAt(system.snapshot(), '/a')?.mailbox.dropped).toBe(2);
    await system.shutdown();
  });

  it('drop_oldest: the head is evicted (an evicted ask fails with WAR_ERR_MAILBOX_FULL), counted', async () => {
    const seen: number[] = [];
    const { system } = await startSystem([
      { kind: 'actor', id: 'a', behaviour: local(() => recorder(seen)), mailbox: { capacity: 2, overflow: 'drop_oldest' } },
    ]);
    const ref = system.lookup<Msg, unknown>('/a') as ActorRef<Msg, unknown>;
    const evictedAsk = ref.ask({ type: 'get' });
    ref.tell({ type: 'add', n: 1 });
    ref.tell({ type: 'add', n: 2 });
    ref.tell({ type: 'add', n: 3 });
    await expect(evictedAsk).rejects.toMatchObject({ code: 'WAR_ERR_MAILBOX_FULL' });
    await settle();
    expect(seen).toEqual([2, 3]);
    expect(nodeAt(system.snapshot(), '/a')?.mailbox.dropped).toBe(2);
    await system.shutdown();
  });

  it('an ask whose message makes the actor fail rejects with WAR_ERR_ACTOR_FAILED; queued messages reach the next incarnation', async () => {
    const seen: number[] = [];
    const { system, clock } = await startSystem(
      [
        {
          kind: 'actor',
          id: 'a',
          backoff: { initialMs: 100 },
          behaviour: local<Msg | { type: 'boom' }, unknown>(() => {
            const inner = recorder(seen);
            return {
              receive(message, ctx) {
                if (message.type === 'boom') throw new Error('boom');
                return inner.receive(message, ctx as never);
              },
            };
          }),
        },
      ],
      {},
    );
    const ref = system.lookup<Msg | { type: 'boom' }, unknown>('/a') as ActorRef<Msg | { type: 'boom' }, unknown>;
    const failed = ref.ask({ type: 'boom' });
    ref.tell({ type: 'add', n: 7 });
    await expect(failed).rejects.toMatchObject({ code: 'WAR_ERR_ACTOR_FAILED' });
    await settle();
    expect(nodeAt(system.snapshot(), '/a')?.status).toBe('backing_off');
    await clock.advanceAsync(200);
    expect(await ref.ask({ type: 'get' })).toEqual([7]);
    await system.shutdown();
  });

  it('a stopped actor refuses tells and rejects asks with WAR_ERR_ACTOR_STOPPED', async () => {
    const { system } = await startSystem([{ kind: 'actor', id: 'a', behaviour: local(() => recorder([])) }]);
    const ref = system.lookup<Msg, unknown>('/a') as ActorRef<Msg, unknown>;
    await system.shutdown();
    expect(ref.tell({ type: 'add', n: 1 })).toBe(false);
    await expect(ref.ask({ type: 'get' })).rejects.toMatchObject({ code: 'WAR_ERR_ACTOR_STOPPED' });
  });
});
