import type { AuthStore, AuthStoreSpec } from './auth-store.js';
import { FileAuthStore } from './file-auth-store.js';
import { RedisAuthStore } from './redis-auth-store.js';

/** The store a spec names; the spec crosses into the session's thread, the store is built there. */
export function openAuthStore(spec: AuthStoreSpec, onError: (error: Error) => void): AuthStore {
  return spec.kind === 'file' ? new FileAuthStore(spec.dir) : new RedisAuthStore(spec.url, spec.key, onError, spec.fence);
}
