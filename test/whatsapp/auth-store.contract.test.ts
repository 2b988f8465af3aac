import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initAuthCreds, proto, type KeyPair } from '@whiskeysockets/baileys';
import { afterAll, describe, expect, it } from 'vitest';
import { CREDS, type AuthStore } from '../../actors/whatsapp/auth-store.js';
import { loadSessionAuth } from '../../actors/whatsapp/auth-state.js';
import { FileAuthStore } from '../../actors/whatsapp/file-auth-store.js';
import { RedisAuthStore } from '../../actors/whatsapp/redis-auth-store.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';

interface StoreKind {
  name: string;
  /** A store for `session`; calling again for the same session is a restart (a new connection, the same data). */
  open(session: string): AuthStore;
  cleanup(): Promise<void>;
}

const fileDir = mkdtempSync(join(tmpdir(), 'wa-auth-contract-'));
const redisPrefix = testPrefix('wa-auth');
const KINDS: StoreKind[] = [
  { name: 'files (WA_AUTH_DIR)', open: (session) => new FileAuthStore(join(fileDir, session)), cleanup: async () => rmSync(fileDir, { recursive: true, force: true }) },
  { name: 'Redis hash', open: (session) => new RedisAuthStore(redisUrl(), `${redisPrefix}wa-auth:${session}`), cleanup: () => deletePrefix(redisPrefix) },
];

afterAll(async () => {
  for (const kind of KINDS) await kind.cleanup();
});

describe.each(KINDS)('auth state on $name', (kind) => {
  it('reads back after a restart exactly what was written: credentials and every key type, Buffers included', async () => {
    const first = kind.open('round-trip');
    const auth = await loadSessionAuth(first);
    expect(auth.restored).toBe(false);
    auth.state.creds.registered = true;
    auth.state.creds.me = { id: '79161234567:3@s.whatsapp.net', name: 'Салон' };
    await auth.saveCreds();
    const preKey: KeyPair = { public: new Uint8Array([1, 2, 3, 250]), private: new Uint8Array([9, 8, 7]) };
    const syncKey = proto.Message.AppStateSyncKeyData.fromObject({ keyData: Buffer.from('sync-key'), timestamp: 1_700_000_000 });
    await auth.state.keys.set({
      'pre-key': { '1': preKey, '2': preKey },
      session: { '79161234567.0': Buffer.from('signal-session-record') },
      'app-state-sync-key': { AAAA: syncKey },
      'lid-mapping': { '79161234567': '111222333444555' },
    });
    await auth.state.keys.set({ 'pre-key': { '2': null } });
    await first.close();

    const second = kind.open('round-trip');
    const restored = await loadSessionAuth(second);
    expect(restored.restored).toBe(true);
    expect(restored.state.creds).toEqual(auth.state.creds);
    expect(Buffer.isBuffer(restored.state.creds.noiseKey.private)).toBe(true);
    const preKeys = await restored.state.keys.get('pre-key', ['1', '2']);
    expect(Object.keys(preKeys)).toEqual(['1']);
    expect(Buffer.from(preKeys['1']?.public ?? [])).toEqual(Buffer.from([1, 2, 3, 250]));
    expect(await restored.state.keys.get('session', ['79161234567.0'])).toEqual({ '79161234567.0': Buffer.from('signal-session-record') });
    const sync = (await restored.state.keys.get('app-state-sync-key', ['AAAA'])).AAAA;
    expect(sync).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.from(sync?.keyData ?? [])).toEqual(Buffer.from('sync-key'));
    expect(await restored.state.keys.get('lid-mapping', ['79161234567'])).toEqual({ '79161234567': '111222333444555' });
    await second.close();
  });

  it('concurrent writes of different keys lose none, and later writes of one key win', async () => {
    const store = kind.open('concurrent');
    const auth = await loadSessionAuth(store);
    const writes = Array.from({ length: 200 }, (_, i) => auth.state.keys.set({ 'sender-key': { [`group-${i % 50}::${i}`]: Buffer.from(`value-${i}`) } }));
    const sameKey = Array.from({ length: 20 }, (_, i) => auth.state.keys.set({ 'device-list': { '79161234567': [`${i}`] } }));
    await Promise.all([...writes, ...sameKey]);
    await store.close();
    const reopened = kind.open('concurrent');
    const reread = await loadSessionAuth(reopened);
    const ids = Array.from({ length: 200 }, (_, i) => `group-${i % 50}::${i}`);
    const values = await reread.state.keys.get('sender-key', ids);
    expect(Object.keys(values)).toHaveLength(200);
    ids.forEach((id, i) => expect(Buffer.from(values[id] as Uint8Array).toString()).toBe(`value-${i}`));
    expect(await reread.state.keys.get('device-list', ['79161234567'])).toEqual({ '79161234567': ['19'] });
    await reopened.close();
  });

  it('clears the Signal sessions but keeps the credentials; dropping credentials clears everything', async () => {
    const store = kind.open('clearing');
    const auth = await loadSessionAuth(store);
    await auth.saveCreds();
    await auth.state.keys.set({ session: { a: Buffer.from('1'), b: Buffer.from('2') }, 'sender-key': { c: Buffer.from('3') }, 'pre-key': { '5': { public: new Uint8Array([1]), private: new Uint8Array([2]) } } });
    expect(await auth.clearSignalSessions()).toBe(2);
    expect(await auth.state.keys.get('session', ['a', 'b'])).toEqual({});
    expect(Object.keys(await auth.state.keys.get('sender-key', ['c']))).toEqual(['c']);
    expect(await store.read(CREDS)).toBeDefined();
    await auth.dropCredentials();
    expect(await store.read(CREDS)).toBeUndefined();
    expect(await auth.state.keys.get('pre-key', ['5'])).toEqual({});
    const fresh = await loadSessionAuth(store);
    expect(fresh.restored).toBe(false);
    expect(fresh.state.creds.registered).toBe(initAuthCreds().registered);
    await store.close();
  });
});
