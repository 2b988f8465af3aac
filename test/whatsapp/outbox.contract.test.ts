import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryOutbox, type Outbox, type OutboxEntry } from '../../actors/whatsapp/outbox.js';
import { RedisOutbox } from '../../actors/whatsapp/redis-outbox.js';
import { SessionLeases } from '../../actors/cluster/session-lease.js';
import { SqliteOutbox } from '../../actors/whatsapp/sqlite-outbox.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';

const dirs: string[] = [];
const prefixes: string[] = [];
const opened: Outbox[] = [];
afterEach(async () => {
  for (const outbox of opened.splice(0)) await outbox.close();
});
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const prefix of prefixes) await deletePrefix(prefix);
});

const entry = (id: string, phone = '79990000001'): OutboxEntry => ({ id, phone, text: `text ${id}`, source: 'api', acceptedAt: 1_000 });

const sqliteFile = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  return join(dir, 'outbox.sqlite');
};

const contenders: { name: string; make: () => Outbox; reopen?: (previous: Outbox) => Outbox }[] = [
  { name: 'memory', make: () => new MemoryOutbox() },
  (() => {
    let file = '';
    return {
      name: 'sqlite',
      make: () => {
        file = sqliteFile();
        return new SqliteOutbox(file);
      },
      reopen: () => new SqliteOutbox(file),
    };
  })(),
  (() => {
    let prefix = '';
    return {
      name: 'redis',
      make: () => {
        prefix = testPrefix('outbox');
        prefixes.push(prefix);
        return new RedisOutbox(redisUrl(), prefix);
      },
      reopen: () => new RedisOutbox(redisUrl(), prefix),
    };
  })(),
];

async function ready(outbox: Outbox): Promise<Outbox> {
  opened.push(outbox);
  // Redis: commands fail at once until the connection is up (no offline queue).
  for (let i = 0; i < 100; i++) {
    try {
      await outbox.load('probe', 1);
      return outbox;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return outbox;
}

describe.each(contenders)('send queue store: $name', ({ make }) => {
  it('keeps acceptance order per session, refuses past max, removes by id, sessions apart', async () => {
    const outbox = await ready(make());
    for (const id of ['a', 'b', 'c']) expect(await outbox.push('s1', entry(id), 3)).toEqual({ accepted: true, depth: ['a', 'b', 'c'].indexOf(id) + 1 });
    expect(await outbox.push('s1', entry('d'), 3)).toEqual({ accepted: false, depth: 3 });
    expect(await outbox.push('s2', entry('x'), 3)).toEqual({ accepted: true, depth: 1 });
    expect((await outbox.load('s1', 10)).map((each) => each.id)).toEqual(['a', 'b', 'c']);
    await outbox.remove('s1', 'a');
    await outbox.remove('s1', 'a');
    await outbox.remove('s1', 'nope');
    expect(await outbox.load('s1', 10)).toEqual([entry('b'), entry('c')]);
    expect((await outbox.load('s2', 10)).map((each) => each.id)).toEqual(['x']);
    expect((await outbox.load('s1', 1)).map((each) => each.id)).toEqual(['b']);
  });

});

describe.each(contenders.filter((contender) => contender.reopen !== undefined))('send queue store: $name, across processes', ({ make, reopen }) => {
  it('what was pushed is there for the next process (a new connection or file handle)', async () => {
    const first = await ready(make());
    await first.push('s1', entry('kept-1'), 10);
    await first.push('s1', entry('kept-2'), 10);
    await first.close();
    const second = await ready((reopen as (previous: Outbox) => Outbox)(first));
    expect((await second.load('s1', 10)).map((each) => each.id)).toEqual(['kept-1', 'kept-2']);
  });
});

describe('the Redis send queue checks the session fence', () => {
  it('a push or removal under a stale fence is refused; the current fence writes', async () => {
    const prefix = testPrefix('outbox-fence');
    prefixes.push(prefix);
    const outbox = await ready(new RedisOutbox(redisUrl(), prefix));
    const redis = new Redis(redisUrl());
    try {
      const leases = new SessionLeases(redis, prefix);
      const first = await leases.acquire('s1', 'node-a', 10_000);
      expect(first).toEqual({ held: true, fence: 1 });
      await outbox.push('s1', entry('m1'), 10, 1);
      // node-a's lease lapses (its TTL passed while it was paused) and node-b takes the session.
      await redis.del(`${prefix}wa-lease:{s1}`);
      expect(await leases.acquire('s1', 'node-b', 10_000)).toEqual({ held: true, fence: 2 });
      await expect(outbox.push('s1', entry('m2'), 10, 1)).rejects.toMatchObject({ code: 'WAR_ERR_WA_NOT_OWNER' });
      await expect(outbox.remove('s1', 'm1', 1)).rejects.toMatchObject({ code: 'WAR_ERR_WA_NOT_OWNER' });
      expect((await outbox.load('s1', 10)).map((each) => each.id)).toEqual(['m1']);
      await outbox.remove('s1', 'm1', 2);
      expect(await outbox.load('s1', 10)).toEqual([]);
      // No lease at all (lapsed, nobody took it): no fence is current.
      await redis.del(`${prefix}wa-lease:{s1}`);
      await expect(outbox.push('s1', entry('m3'), 10, 2)).rejects.toMatchObject({ code: 'WAR_ERR_WA_NOT_OWNER' });
    } finally {
      redis.disconnect();
    }
  });
});
