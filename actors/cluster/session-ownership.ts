import type { Redis } from 'ioredis';
import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import type { HealthChecks } from '../../src/health/health-checks.js';
import type { OwnershipTable, SessionHolder } from './ownership-table.js';
import { SessionLeases } from './session-lease.js';

export interface SessionOwnershipOptions {
  readonly nodeId: string;
  /** WA_LEASE_MS: how long a lease lives unrenewed. Renewals, heartbeats and sweeps run every third of it. */
  readonly leaseMs: number;
  readonly sessions: readonly string[];
  readonly redis: Redis;
  readonly prefix: string;
  readonly table: OwnershipTable;
  /** Starts the session's subtree (gateway and socket) under the fence just acquired. */
  readonly startSession: (sessionId: string, fence: number) => Promise<void>;
  /** Stops it (the socket first: rest_for_one stops in reverse order), before the lease can lapse. */
  readonly stopSession: (sessionId: string) => Promise<void>;
  /** Whether the session's subtree is running here. */
  readonly isRunning: (sessionId: string) => boolean;
  readonly checks: HealthChecks;
  /** The first sweep waits this long after the first heartbeat, so nodes started together see each other. */
  readonly firstSweepDelayMs: number;
}

export type SessionOwnershipMessage =
  | { readonly type: 'tick' }
  | { readonly type: 'view' }
  /** Internal: a session's start settled (`error` when it failed). */
  | { readonly type: 'started'; readonly sessionId: string; readonly fence: number; readonly token: number; readonly error: string | undefined }
  /** Internal: a session's stop settled. */
  | { readonly type: 'stopped'; readonly sessionId: string };

export interface ClusterNode {
  readonly id: string;
  readonly lastHeartbeatAt: string;
  readonly sessions: readonly string[];
}

export interface ClusterView {
  readonly nodes: readonly ClusterNode[];
  readonly sessions: readonly { readonly id: string; readonly owner: string | null; readonly fence: number | null }[];
}

export const CLUSTER_CHECK = 'cluster';

/**
 * A node whose heartbeat is older than a tick and a half is not counted as live (live nodes
 * beat every tick): a dead node's leases lapse two ticks or more after its last heartbeat, so
 * by then it no longer counts and the survivors' least-loaded rule never waits on it. A live
 * node that misses a beat only looks dead to the balancing for a moment; the leases decide
 * ownership, never this. Forgotten from the registry after ten leases.
 */
const LIVE_TICKS = 1.5;
/** How often reconcile starts again a held session that stopped running (escalated, given up). */
const MAX_RELAUNCHES = 3;
const RELAUNCH_FORGIVEN_MS = 10 * 60_000;
const FORGET_LEASES = 10;

/**
 * `/cluster`: this node's side of session ownership when runtimes share one Redis. Every third
 * of WA_LEASE_MS it heartbeats into the node registry, renews the leases it holds, and sweeps:
 * a session nobody holds is acquired by this node while it holds less than its fair share
 * (sessions / live nodes) or no more than the least-loaded live node, so unowned sessions go
 * to the least loaded, and a session that is held is never taken away (no thrashing). A lease that cannot be renewed (Redis away) is given up
 * before it can lapse: the session's subtree is stopped while the lease is still ours, so no
 * two nodes ever run a socket for one session. A renewal the script refuses (the lease lapsed
 * while this node was paused, and another took it) stops the session at once; the fence it
 * held is refused by every auth and queue write meanwhile.
 */
export function sessionOwnership(options: SessionOwnershipOptions): Behaviour<SessionOwnershipMessage, ClusterView | undefined> {
  const { nodeId, leaseMs, table } = options;
  const tickMs = Math.max(100, Math.floor(leaseMs / 3));
  const leases = new SessionLeases(options.redis, options.prefix);
  const nodesKey = `${options.prefix}wa-nodes`;
  let sweepAfter = 0;
  /** Sessions whose start is under way, by launch token (a later launch replaces an earlier one's). */
  const starting = new Map<string, number>();
  /** Sessions whose stop is under way: not launched again until it has settled. */
  const stopping = new Set<string>();
  let launches = 0;
  /** Relaunches by reconcile per session: a session that keeps falling over is left down here (and alerts as down), not restarted for ever. */
  const relaunches = new Map<string, number>();
  const runningSince = new Map<string, number>();
  let lastProblem: string | undefined;

  const report = (ctx: ActorContext<SessionOwnershipMessage>, problem: string | undefined): void => {
    const owned = [...table.owned().keys()];
    if (problem) {
      if (problem !== lastProblem) ctx.log.warn({ problem }, 'session ownership: Redis cannot be reached; leases that cannot be renewed are given up before they lapse');
      options.checks.report(CLUSTER_CHECK, { status: 'critical', message: `node ${nodeId}: ${problem}`, at: new Date(ctx.clock.now()).toISOString(), data: { node: nodeId, sessions: owned.length } });
    } else {
      if (lastProblem) ctx.log.info('session ownership: Redis answers again');
      options.checks.report(CLUSTER_CHECK, { status: 'ok', message: `node ${nodeId} owns ${owned.length} of ${options.sessions.length} sessions`, at: new Date(ctx.clock.now()).toISOString(), data: { node: nodeId, sessions: owned.length } });
    }
    lastProblem = problem;
    ctx.setDetail({ node: nodeId, owned: owned.length, sessions: options.sessions.length });
  };

  /** Dropped at once; the stop runs on its own, so it never holds up the renewals of the other leases. */
  const giveUp = (sessionId: string, why: string, ctx: ActorContext<SessionOwnershipMessage>): void => {
    table.drop(sessionId);
    starting.delete(sessionId);
    ctx.log.warn({ sessionId, why }, `session ${sessionId} given up: ${why}`);
    stop(sessionId, ctx);
  };

  const stop = (sessionId: string, ctx: ActorContext<SessionOwnershipMessage>): void => {
    stopping.add(sessionId);
    options
      .stopSession(sessionId)
      .catch((error: unknown) => ctx.log.error({ err: error, sessionId }, 'could not stop a session given up'))
      .finally(() => ctx.self.tell({ type: 'stopped', sessionId }));
  };

  /**
   * Started, not awaited: a session's start (its auth read, its thread) must never hold up the
   * renewals that keep every other lease. A start that fails gives the lease back.
   */
  const launch = (sessionId: string, fence: number, ctx: ActorContext<SessionOwnershipMessage>): void => {
    const token = ++launches;
    starting.set(sessionId, token);
    options.startSession(sessionId, fence).then(
      () => ctx.self.tell({ type: 'started', sessionId, fence, token, error: undefined }),
      (error: unknown) => ctx.self.tell({ type: 'started', sessionId, fence, token, error: error instanceof Error ? error.message : String(error) }),
    );
  };

  const heartbeat = async (now: number): Promise<void> => {
    await options.redis.hset(nodesKey, nodeId, JSON.stringify({ at: now, sessions: [...table.owned().keys()] }));
  };

  /**
   * Every lease renewed at once (one round trip each, in parallel), then judged against the
   * time they answered: one that was lost stops at once, one that could not be renewed stops
   * when the next renewal would come too late. The stops run together, after the renewals.
   */
  const renew = async (ctx: ActorContext<SessionOwnershipMessage>): Promise<string | undefined> => {
    const owned = [...table.owned()];
    // A renewed lease runs from when Redis ran the script, at the latest from now: count from now.
    const sentAt = ctx.clock.now();
    const results = await Promise.all(
      owned.map(([sessionId, session]) =>
        leases.renew(sessionId, nodeId, session.fence, leaseMs).then(
          (held) => ({ held, error: undefined as string | undefined }),
          (error: unknown) => ({ held: false, error: error instanceof Error ? error.message : String(error) }),
        ),
      ),
    );
    const now = ctx.clock.now();
    let problem: string | undefined;
    owned.forEach(([sessionId, session], index) => {
      const result = results[index] as { held: boolean; error: string | undefined };
      if (result.held) session.renewedAt = sentAt;
      else if (result.error === undefined) giveUp(sessionId, `its lease (fence ${session.fence}) was lost: another node holds it, or it lapsed`, ctx);
      else {
        problem = result.error;
        // Self-fencing: the next renewal would come too late, so stop while the lease is still ours.
        if (now - session.renewedAt + tickMs >= leaseMs - tickMs / 2) giveUp(sessionId, `its lease could not be renewed for ${now - session.renewedAt} ms (${result.error})`, ctx);
      }
    });
    return problem;
  };

  const liveNodes = async (now: number): Promise<Map<string, { at: number; sessions: string[] }>> => {
    const raw = await options.redis.hgetall(nodesKey);
    const live = new Map<string, { at: number; sessions: string[] }>();
    for (const [id, value] of Object.entries(raw)) {
      let entry: { at: number; sessions: string[] };
      try {
        entry = JSON.parse(value) as { at: number; sessions: string[] };
      } catch {
        continue;
      }
      if (now - entry.at <= LIVE_TICKS * tickMs) live.set(id, entry);
      else if (now - entry.at > FORGET_LEASES * leaseMs) await options.redis.hdel(nodesKey, id);
    }
    return live;
  };

  const holders = async (): Promise<Map<string, SessionHolder>> => {
    const found = new Map<string, SessionHolder>();
    const answers = await Promise.all(options.sessions.map((id) => leases.holder(id)));
    options.sessions.forEach((id, index) => found.set(id, answers[index] ?? null));
    return found;
  };

  const sweep = async (now: number, ctx: ActorContext<SessionOwnershipMessage>): Promise<void> => {
    const live = await liveNodes(now);
    live.set(nodeId, { at: now, sessions: [] });
    const held = await holders();
    const load = new Map<string, number>([...live.keys()].map((id) => [id, 0]));
    for (const [sessionId, holder] of held) {
      table.saw(sessionId, holder);
      if (holder && load.has(holder.node)) load.set(holder.node, (load.get(holder.node) as number) + 1);
      // Ours by the lease but not by the table (this actor restarted): adopt it, extending it first.
      if (holder?.node === nodeId && !table.isLocal(sessionId)) {
        const adopted = await leases.acquire(sessionId, nodeId, leaseMs);
        if (adopted.held) {
          table.take(sessionId, adopted.fence, ctx.clock.now());
          launch(sessionId, adopted.fence, ctx);
        }
      }
    }
    // Up to a fair share in one sweep (so a dead node's sessions move in one sweep, not one a
    // sweep), and beyond it only while this node is the least loaded.
    const fairShare = Math.ceil(options.sessions.length / load.size);
    for (const sessionId of options.sessions) {
      if (held.get(sessionId)) continue;
      // Starting sessions takes time and renewals wait behind the sweep: the rest waits for the next one.
      if (ctx.clock.now() - now > tickMs / 2) break;
      const mine = load.get(nodeId) as number;
      if (mine >= fairShare && mine > Math.min(...load.values())) break;
      const acquired = await leases.acquire(sessionId, nodeId, leaseMs);
      if (!acquired.held) {
        table.saw(sessionId, acquired.owner ? { node: acquired.owner, fence: acquired.fence } : null);
        if (acquired.owner && load.has(acquired.owner)) load.set(acquired.owner, (load.get(acquired.owner) as number) + 1);
        continue;
      }
      table.take(sessionId, acquired.fence, ctx.clock.now());
      load.set(nodeId, mine + 1);
      ctx.log.info({ sessionId, fence: acquired.fence }, `session ${sessionId} acquired (fence ${acquired.fence})`);
      launch(sessionId, acquired.fence, ctx);
    }
  };

  /** A session this node holds whose subtree is not there (stopped, given up, or /whatsapp restarted without it) is started again. */
  const reconcile = (ctx: ActorContext<SessionOwnershipMessage>): void => {
    const now = ctx.clock.now();
    for (const [sessionId, session] of table.owned()) {
      if (options.isRunning(sessionId)) {
        // Ten minutes up: earlier falls are forgiven.
        const since = runningSince.get(sessionId) ?? now;
        runningSince.set(sessionId, since);
        if (now - since > RELAUNCH_FORGIVEN_MS) relaunches.delete(sessionId);
        continue;
      }
      runningSince.delete(sessionId);
      if (starting.has(sessionId) || stopping.has(sessionId)) continue;
      const count = (relaunches.get(sessionId) ?? 0) + 1;
      if (count > MAX_RELAUNCHES) continue;
      relaunches.set(sessionId, count);
      if (count === MAX_RELAUNCHES) ctx.log.error({ sessionId, alert: true }, `session ${sessionId} stopped running ${count} times while held here; it is left down (its lease kept, so no node thrashes with it) until this node restarts`);
      else ctx.log.warn({ sessionId }, `session ${sessionId} is held here but not running; starting it again`);
      launch(sessionId, session.fence, ctx);
    }
  };

  const started = async (message: Extract<SessionOwnershipMessage, { type: 'started' }>, ctx: ActorContext<SessionOwnershipMessage>): Promise<void> => {
    const current = starting.get(message.sessionId) === message.token;
    if (current) starting.delete(message.sessionId);
    const held = table.fence(message.sessionId) === message.fence;
    if (message.error === undefined) {
      // Started under a fence that is no longer this node's (given up meanwhile, or held again
      // under a newer one): its socket carries the old fence, so it goes; reconcile starts the
      // session again under the current fence if it is still held.
      if (!held) stop(message.sessionId, ctx);
      return;
    }
    if (!held || !current) return;
    ctx.log.error({ sessionId: message.sessionId, error: message.error }, 'could not start a session just acquired; releasing it');
    table.drop(message.sessionId);
    await leases.release(message.sessionId, nodeId, message.fence).catch(() => undefined);
  };

  const tick = async (ctx: ActorContext<SessionOwnershipMessage>): Promise<void> => {
    let problem = await renew(ctx);
    const now = ctx.clock.now();
    try {
      await heartbeat(now);
      if (now >= sweepAfter) await sweep(now, ctx);
    } catch (error) {
      problem ??= error instanceof Error ? error.message : String(error);
    }
    reconcile(ctx);
    report(ctx, problem);
  };

  const view = async (): Promise<ClusterView> => {
    const now = Date.now();
    const live = await liveNodes(now);
    const held = await holders();
    return {
      // What each node holds, from the leases (its heartbeat's own list can be a tick old).
      nodes: [...live]
        .map(([id, entry]) => ({ id, lastHeartbeatAt: new Date(entry.at).toISOString(), sessions: options.sessions.filter((session) => held.get(session)?.node === id) }))
        .sort((a, b) => a.id.localeCompare(b.id)),
      sessions: options.sessions.map((id) => {
        const holder = held.get(id);
        return { id, owner: holder?.node ?? null, fence: holder?.fence ?? null };
      }),
    };
  };

  return {
    async start(ctx) {
      sweepAfter = ctx.clock.now() + options.firstSweepDelayMs;
      report(ctx, undefined);
      ctx.timers.every('tick', tickMs, { type: 'tick' });
      ctx.self.tell({ type: 'tick' });
    },
    async receive(message, ctx) {
      switch (message.type) {
        case 'tick':
          await tick(ctx);
          return undefined;
        case 'view':
          return view();
        case 'started':
          await started(message, ctx);
          return undefined;
        case 'stopped':
          stopping.delete(message.sessionId);
          return undefined;
      }
    },
    async stop(ctx) {
      // An orderly stop hands the sessions over at once instead of after a lease: all of them
      // together (one after another could outlast the leases, which no longer renew).
      await Promise.all(
        [...table.owned()].map(async ([sessionId, owned]) => {
          table.drop(sessionId);
          await options.stopSession(sessionId).catch((error: unknown) => ctx.log.error({ err: error, sessionId }, 'could not stop a session'));
          await leases.release(sessionId, nodeId, owned.fence).catch((error: unknown) => ctx.log.warn({ err: error, sessionId }, 'could not release a lease; it lapses on its own'));
        }),
      );
      await options.redis.hdel(nodesKey, nodeId).catch(() => undefined);
      options.checks.remove(CLUSTER_CHECK);
    },
  };
}
