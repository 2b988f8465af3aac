/**
 * The Redis keys of one session, in one place: the auth state, the send queue and the
 * ownership lease must agree on them, since the scripts that write the first two check the
 * third. The queue, lease and fence keys carry `{<sessionId>}` as their hash tag, so on a Redis
 * Cluster they share one slot and their scripts can run there. The auth hash keeps the name it
 * had before sessions moved between nodes (credentials stored under it stay readable); on a
 * Redis Cluster its fenced write would span two slots, so this runtime supports one Redis (or
 * a primary with replicas), not a Cluster, for sessions.
 */
export interface SessionKeys {
  readonly auth: string;
  readonly outbox: string;
  /** `<fence>|<nodeId>` while a node owns the session, with the lease's expiry; absent while unowned. */
  readonly lease: string;
  /** The last fence handed out for the session: INCRed on every acquisition, never reset. */
  readonly fence: string;
}

export function sessionKeys(prefix: string, sessionId: string): SessionKeys {
  const tag = `{${sessionId}}`;
  return {
    auth: `${prefix}wa-auth:${sessionId}`,
    outbox: `${prefix}wa-outbox:${tag}`,
    lease: `${prefix}wa-lease:${tag}`,
    fence: `${prefix}wa-fence:${tag}`,
  };
}

/** The Lua test every fenced write starts with: the lease exists and carries this fence (ARGV[n]). */
export function fenceGuard(leaseKey: string, fenceArg: string): string {
  return `if ${fenceArg} ~= '' then
  local lease = redis.call('GET', ${leaseKey})
  if (not lease) or string.match(lease, '^(%d+)|') ~= ${fenceArg} then return {-1, 0} end
end`;
}
