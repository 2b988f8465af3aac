import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionLeases } from '../../actors/cluster/session-lease.js';
import { RedisOutbox } from '../../actors/whatsapp/redis-outbox.js';
import { sessionKeys } from '../../actors/whatsapp/session-keys.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';

const NODES = ['node-a', 'node-b', 'node-c'] as const;

type Step =
  | { readonly kind: 'acquire' | 'renew' | 'release' | 'write'; readonly node: number }
  /** The lease's TTL passes (Redis drops the key): what a paused or dead holder suffers. */
  | { readonly kind: 'expire' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constantFrom('acquire' as const, 'renew' as const, 'release' as const, 'write' as const), node: fc.integer({ min: 0, max: NODES.length - 1 }) }), weight: 6 },
  { arbitrary: fc.constant({ kind: 'expire' as const }), weight: 1 },
);

let redis: Redis;
let outbox: RedisOutbox;
const prefix = testPrefix('lease');
beforeAll(async () => {
  redis = new Redis(redisUrl());
  outbox = new RedisOutbox(redisUrl(), prefix);
  // The outbox connection fails fast until it is up.
  for (let i = 0; i < 100; i++) {
    try {
      await outbox.load('probe', 1);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
});
afterAll(async () => {
  await outbox.close();
  redis.disconnect();
  await deletePrefix(prefix);
});

describe('the session lease script (real Redis)', () => {
  it('for any interleaving of acquire, renew, release, expiry and fenced writes across three nodes: one holder at most, fences strictly increasing, only the holder writes', async () => {
    let runs = 0;
    let writes = 0;
    let expired = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60 }), async (steps) => {
        // Each run its own session, so runs never see each other's leases.
        const session = `s${++runs}`;
        const leases = new SessionLeases(redis, prefix);
        {
          // What each node believes it holds: the fence of its last successful acquisition, until it learns otherwise.
          const believed: (number | undefined)[] = NODES.map(() => undefined);
          let lastFence = 0;
          for (const each of steps) {
            const holderBefore = await leases.holder(session);
            if (each.kind === 'expire') {
              await redis.del(sessionKeys(prefix, session).lease);
              expired++;
              continue;
            }
            const node = NODES[each.node] as string;
            const fence = believed[each.node];
            switch (each.kind) {
              case 'acquire': {
                const got = await leases.acquire(session, node, 60_000);
                if (got.held) {
                  if (holderBefore?.node === node) expect(got.fence).toBe(holderBefore.fence);
                  else {
                    expect(holderBefore).toBeUndefined();
                    expect(got.fence).toBeGreaterThan(lastFence);
                    lastFence = got.fence;
                  }
                  believed[each.node] = got.fence;
                } else expect(holderBefore && holderBefore.node !== node).toBeTruthy();
                break;
              }
              case 'renew':
                if (fence === undefined) break;
                expect(await leases.renew(session, node, fence, 60_000)).toBe(holderBefore?.node === node && holderBefore.fence === fence);
                if (!(holderBefore?.node === node && holderBefore.fence === fence)) believed[each.node] = undefined;
                break;
              case 'release':
                if (fence === undefined) break;
                expect(await leases.release(session, node, fence)).toBe(holderBefore?.node === node && holderBefore.fence === fence);
                believed[each.node] = undefined;
                break;
              case 'write': {
                if (fence === undefined) break;
                const current = holderBefore?.node === node && holderBefore.fence === fence;
                const wrote = await outbox.push(session, { id: `${node}-${steps.indexOf(each)}-${fence}`, phone: '79990000001', text: 'x', source: 'api', acceptedAt: 0 }, 1_000, fence).then(
                  () => true,
                  (error: { code?: string }) => {
                    expect(error.code).toBe('WAR_ERR_WA_NOT_OWNER');
                    return false;
                  },
                );
                expect(wrote).toBe(current);
                writes++;
                break;
              }
            }
            // One holder at most: of all the nodes that believe they hold a fence, only the lease's holder's renewal could succeed.
            const holderAfter = await leases.holder(session);
            const current = NODES.filter((name, index) => believed[index] !== undefined && holderAfter?.node === name && holderAfter.fence === believed[index]);
            expect(current.length).toBeLessThanOrEqual(1);
          }
        }
      }),
      { numRuns: 100 },
    );
    // The runs did what they say: fenced writes and expiries happened, not only no-ops.
    expect(writes).toBeGreaterThan(40);
    expect(expired).toBeGreaterThan(40);
  }, 120_000);
});
