import { BufferJSON, initAuthCreds, proto, type AuthenticationCreds, type AuthenticationState, type SignalDataSet, type SignalDataTypeMap } from '@whiskeysockets/baileys';
import type { HaltedStatus } from './close-codes.js';
import { CREDS, HALT, keyName, type AuthStore } from './auth-store.js';

export interface HaltMarker {
  readonly status: HaltedStatus;
  readonly code: number | undefined;
  readonly alert: string;
  readonly at: number;
}

export interface SessionAuth {
  readonly state: AuthenticationState;
  /** Whether credentials were found (false: a fresh session that must be paired). */
  readonly restored: boolean;
  saveCreds(): Promise<void>;
  /** Deletes the Signal sessions (the cure for repeated bad sessions); the credentials stay. */
  clearSignalSessions(): Promise<number>;
  /** Deletes the credentials and keys: the number must be paired again. The halt marker stays. */
  dropCredentials(): Promise<void>;
  readHalt(): Promise<HaltMarker | undefined>;
  writeHalt(marker: HaltMarker): Promise<void>;
  clearHalt(): Promise<void>;
}

/**
 * Baileys' auth state on top of an AuthStore. Values are stored as JSON with Baileys'
 * BufferJSON (Buffers survive the round trip); `keys.set` resolves once the store has
 * written every entry, so a key Baileys was told is saved really is.
 */
export async function loadSessionAuth(store: AuthStore): Promise<SessionAuth> {
  const stored = await store.read(CREDS);
  const creds: AuthenticationCreds = stored === undefined ? initAuthCreds() : (JSON.parse(stored, BufferJSON.reviver) as AuthenticationCreds);
  const state: AuthenticationState = {
    creds,
    keys: {
      async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
        const values = await Promise.all(ids.map((id) => store.read(keyName(type, id))));
        const found: { [id: string]: SignalDataTypeMap[T] } = {};
        ids.forEach((id, index) => {
          const text = values[index];
          if (text === undefined) return;
          let value: unknown = JSON.parse(text, BufferJSON.reviver);
          if (type === 'app-state-sync-key') value = proto.Message.AppStateSyncKeyData.fromObject(value as object);
          found[id] = value as SignalDataTypeMap[T];
        });
        return found;
      },
      async set(data: SignalDataSet) {
        const entries = new Map<string, string | null>();
        for (const [type, byId] of Object.entries(data)) {
          for (const [id, value] of Object.entries(byId ?? {})) {
            entries.set(keyName(type, id), value === null || value === undefined ? null : JSON.stringify(value, BufferJSON.replacer));
          }
        }
        await store.write(entries);
      },
    },
  };
  return {
    state,
    restored: stored !== undefined,
    saveCreds: () => store.write(new Map([[CREDS, JSON.stringify(creds, BufferJSON.replacer)]])),
    clearSignalSessions: () => store.deleteByPrefix(keyName('session', '')),
    async dropCredentials() {
      const halt = await store.read(HALT);
      await store.clear();
      if (halt !== undefined) await store.write(new Map([[HALT, halt]]));
    },
    async readHalt() {
      const text = await store.read(HALT);
      return text === undefined ? undefined : (JSON.parse(text) as HaltMarker);
    },
    writeHalt: (marker) => store.write(new Map([[HALT, JSON.stringify(marker)]])),
    clearHalt: () => store.write(new Map([[HALT, null]])),
  };
}
