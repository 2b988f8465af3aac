/**
 * The Redis keys of one session, in one place: the auth state, the send queue and the
 * ownership lease must agree on them, since the scripts that write the first two check the
 * third. Every key of a session carries `{<sessionId>}` as its hash tag, so on a Redis
 * Cluster a session's keys share one slot and its scripts can run there.
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
