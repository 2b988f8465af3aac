import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../actors/booking/ttl-cache.js';
import { ManualClock } from '../../src/clock.js';

function setup(maxEntries = 100) {
  const clock = new ManualClock(0);
  const cache = new TtlCache<string, number>({ maxEntries, clock });
  return { clock, cache };
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('TtlCache', () => {
  it('answers until the ttl has passed, then undefined', () => {
    const { clock, cache } = setup();
    cache.set('a', 1, 1_000);
    clock.advance(999);
    expect(cache.get('a')).toBe(1);
    expect(cache.has('a')).toBe(true);
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.has('a')).toBe(false);
    expect(cache.size).toBe(0); // dropped on read
  });

  it('a set starts the ttl over; a ttl of 0 or less holds nothing and drops what was there', () => {
    const { clock, cache } = setup();
    cache.set('a', 1, 1_000);
    clock.advance(800);
    cache.set('a', 2, 1_000);
    clock.advance(800);
    expect(cache.get('a')).toBe(2);
    cache.set('a', 3, 0);
    expect(cache.get('a')).toBeUndefined();
    cache.set('b', 1, -5);
    expect(cache.size).toBe(0);
  });

  it('is bounded: past maxEntries the oldest set goes', () => {
    const { cache } = setup(3);
    cache.set('a', 1, 10_000);
    cache.set('b', 2, 10_000);
    cache.set('c', 3, 10_000);
    cache.set('a', 10, 10_000); // re-set: now the newest
    cache.set('d', 4, 10_000);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([10, 3, 4]);
    cache.set('e', 5, 10_000);
    expect(cache.get('c')).toBeUndefined();
  });

  it('delete, deleteWhere, prune and clear', () => {
    const { clock, cache } = setup();
    cache.set('times:1:2026-01-01', 1, 30_000);
    cache.set('times:1:2026-01-02', 2, 30_000);
    cache.set('times:2:2026-01-01', 3, 30_000);
    cache.set('services:1', 4, 300_000);
    expect(cache.delete('services:1')).toBe(true);
    expect(cache.delete('services:1')).toBe(false);
    expect(cache.deleteWhere((key) => key.startsWith('times:1:'))).toBe(2);
    expect(cache.get('times:2:2026-01-01')).toBe(3);
    cache.set('short', 5, 10);
    clock.advance(10);
    expect(cache.size).toBe(2);
    expect(cache.prune()).toBe(1);
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('getOrLoad: one load for concurrent callers, cached for its ttl from when it resolves', async () => {
    const { clock, cache } = setup();
    const pending = deferred<number>();
    let loads = 0;
    const load = (): Promise<number> => {
      loads++;
      return pending.promise;
    };
    const all = [cache.getOrLoad('k', 1_000, load), cache.getOrLoad('k', 1_000, load), cache.getOrLoad('k', 1_000, load)];
    expect(cache.loading).toBe(1);
    clock.advance(500);
    pending.resolve(7);
    await expect(Promise.all(all)).resolves.toEqual([7, 7, 7]);
    expect(loads).toBe(1);
    expect(cache.loading).toBe(0);
    clock.advance(999);
    await expect(cache.getOrLoad('k', 1_000, () => Promise.resolve(8))).resolves.toBe(7);
    clock.advance(1);
    await expect(cache.getOrLoad('k', 1_000, () => Promise.resolve(8))).resolves.toBe(8);
  });

  it('getOrLoad: a rejected load is not cached, and the next call loads again', async () => {
    const { cache } = setup();
    const boom = new Error('503');
    const first = deferred<number>();
    const a = cache.getOrLoad('k', 1_000, () => first.promise);
    const b = cache.getOrLoad('k', 1_000, () => Promise.resolve(99));
    first.reject(boom);
    await expect(a).rejects.toBe(boom);
    await expect(b).rejects.toBe(boom); // it shared the failed load
    expect(cache.get('k')).toBeUndefined();
    expect(cache.loading).toBe(0);
    await expect(cache.getOrLoad('k', 1_000, () => Promise.resolve(2))).resolves.toBe(2);
    expect(cache.get('k')).toBe(2);
  });

  it('getOrLoad: a synchronous throw is a rejection, not cached', async () => {
    const { cache } = setup();
    const boom = new Error('bad');
    await expect(
      cache.getOrLoad('k', 1_000, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(cache.loading).toBe(0);
  });

  it('a delete during a load: the callers get the value, the cache does not keep it, the next call loads anew', async () => {
    const { cache } = setup();
    const before = deferred<number>();
    const a = cache.getOrLoad('times:1', 30_000, () => before.promise);
    // A booking succeeded: the company's free times are stale, the load in flight included.
    expect(cache.deleteWhere((key) => key.startsWith('times:1'))).toBe(0);
    const after = deferred<number>();
    const b = cache.getOrLoad('times:1', 30_000, () => after.promise);
    expect(cache.loading).toBe(1);
    before.resolve(1);
    await expect(a).resolves.toBe(1);
    expect(cache.get('times:1')).toBeUndefined();
    expect(cache.loading).toBe(1); // the stale load did not remove the fresh one
    after.resolve(2);
    await expect(b).resolves.toBe(2);
    expect(cache.get('times:1')).toBe(2);

    const c = deferred<number>();
    const pc = cache.getOrLoad('x', 1_000, () => c.promise);
    cache.delete('x');
    c.resolve(3);
    await expect(pc).resolves.toBe(3);
    expect(cache.get('x')).toBeUndefined();
  });

  it('refuses a bound it cannot honour', () => {
    expect(() => new TtlCache({ maxEntries: 0, clock: new ManualClock() })).toThrow(expect.objectContaining({ code: 'WAR_ERR_BAD_ARGUMENT' }));
  });
});
