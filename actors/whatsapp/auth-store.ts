/**
 * Where a session's Baileys auth state lives: the credentials (`creds`) and the Signal keys
 * (`<type>:<id>`), each as one serialised string. Two implementations share one contract
 * test: files under WA_AUTH_DIR, and one Redis hash per session.
 */
export interface AuthStore {
  readonly kind: 'file' | 'redis';
  read(name: string): Promise<string | undefined>;
  /** Writes every entry (null deletes it); resolves only once all of them are durable. */
  write(entries: ReadonlyMap<string, string | null>): Promise<void>;
  /** Deletes every entry whose name starts with `prefix`; returns how many went. */
  deleteByPrefix(prefix: string): Promise<number>;
  /** Deletes everything of this session: it must be paired again. */
  clear(): Promise<void>;
  /** Runtimes sharing the sessions: rejects (WAR_ERR_WA_NOT_OWNER) once this node's fence is stale; resolves at once elsewhere. */
  assertOwner?(): Promise<void>;
  close(): Promise<void>;
}

export const CREDS = 'creds';
/** Set while the session is halted (logged out, banned, replaced): survives every restart, cleared by a pairing request. */
export const HALT = 'halt';

export function keyName(type: string, id: string): string {
  return `${type}:${id}`;
}

/** Cloneable description of a session's auth store: crosses into the session's worker. */
export type AuthStoreSpec =
  | { readonly kind: 'file'; readonly dir: string }
  | {
      readonly kind: 'redis';
      readonly url: string;
      readonly key: string;
      /** Runtimes sharing the sessions: every write carries the session's fence and the script refuses a stale one. */
      readonly fence?: { readonly leaseKey: string; readonly value: number };
    };
