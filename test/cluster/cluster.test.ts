import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterView } from '../../actors/cluster/session-ownership.js';
import { sessionKeys } from '../../actors/whatsapp/session-keys.js';
import { disposeAll, startMain, type MainProcess } from '../support/main-process.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { WaServer } from '../support/wa-server.js';

const TOKEN = 'test-admin-token-0123456789';
const SESSIONS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
const LEASE_MS = 3_000;
const SOCKET_MODULE = new URL('../support/controlled-wa-socket.ts', import.meta.url).pathname;

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGCONT');
  await disposeAll(children, cleanups);
});

interface Node {
  readonly id: string;
  readonly main: MainProcess;
  readonly base: string;
}

async function cluster(count: number, extraEnv: Record<string, string> = {}) {
  const server = await WaServer.start('silent', 0, { keepAliveMs: 400 });
  cleanups.push(() => server.close());
  const prefix = testPrefix('cluster');
  cleanups.push(() => deletePrefix(prefix));
  const control = mkdtempSync(join(tmpdir(), 'wa-control-'));
  cleanups.push(() => rmSync(control, { recursive: true, force: true }));
  const start = async (id: string): Promise<Node> => {
    const data = mkdtempSync(join(tmpdir(), 'wa-runtime-data-'));
    cleanups.push(() => rmSync(data, { recursive: true, force: true }));
    const main = startMain(
      {
        PORT: '0',
        ADMIN_TOKEN: TOKEN,
        NODE_ID: id,
        DATA_DIR: data,
        REDIS_URL: redisUrl(),
        REDIS_KEY_PREFIX: prefix,
        WA_SESSIONS: SESSIONS.join(','),
        WA_LEASE_MS: String(LEASE_MS),
        WA_SOCKET_MODULE: SOCKET_MODULE,
        WA_WEBSOCKET_URL: server.url,
        WA_TEST_CONTROL_DIR: control,
        BACKOFF_INITIAL_MS: '200',
        BACKOFF_MAX_MS: '1000',
        METRICS_PROCESS: 'false',
        ...extraEnv,
      },
      children,
    );
    return { id, main, base: `http://127.0.0.1:${await main.port(60_000)}` };
  };
  const nodes: Node[] = [];
  for (let i = 1; i <= count; i++) nodes.push(await start(`node-${i}`));
  const view = async (node: Node): Promise<ClusterView> => (await (await fetch(`${node.base}/health/cluster`)).json()) as ClusterView;
  /** Sessions open on each node, as each node's /sessions says (never the paused one). */
  const openOn = async (node: Node): Promise<string[]> => {
    const answer = (await (await fetch(`${node.base}/sessions`)).json()) as { sessions: { id: string; status: string }[] };
    return answer.sessions.filter((each) => each.status === 'open').map((each) => each.id);
  };
  return { server, prefix, control, nodes, start, view, openOn };
}

/** Samples every ~100 ms until stopped: no session may be open on two nodes at once. */
function sampler(nodes: () => Node[], openOn: (node: Node) => Promise<string[]>) {
  const doubles: { at: number; session: string; nodes: string[] }[] = [];
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const seen = new Map<string, string[]>();
      const answers = await Promise.all(nodes().map(async (node) => ({ node: node.id, open: await openOn(node).catch(() => [] as string[]) })));
      for (const { node, open } of answers) for (const session of open) seen.set(session, [...(seen.get(session) ?? []), node]);
      for (const [session, on] of seen) if (on.length > 1) doubles.push({ at: Date.now(), session, nodes: on });
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    doubles,
    get samples() {
      return samples;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

const ownedBy = (view: ClusterView, node: string): string[] => view.sessions.filter((each) => each.owner === node).map((each) => each.id);

describe('runtimes sharing the sessions on one Redis (child processes, 6 sessions, lease 3 s)', () => {
  it('spread over three nodes, one owner each; kill -9 of a node moves its sessions within the lease + 5 s; the server never sees two connections for one session', async () => {
    const { server, nodes, view, openOn } = await cluster(3);
    const live = [...nodes];
    const sample = sampler(() => live, openOn);
    const spread = await waitFor(
      async () => {
        const now = await view(nodes[0] as Node);
        const open = (await Promise.all(nodes.map(openOn))).flat();
        return now.nodes.length === 3 && now.sessions.every((each) => each.owner !== null) && open.length === SESSIONS.length ? now : undefined;
      },
      30_000,
      'every session owned and open',
    );
    expect(spread.nodes.map((node) => node.id)).toEqual(['node-1', 'node-2', 'node-3']);
    // Nodes started one after another: the first takes what is free, later ones what is left; none takes a held session.
    const counts = nodes.map((node) => ownedBy(spread, node.id).length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(6);
    for (const node of spread.nodes) expect([...node.sessions].sort()).toEqual(ownedBy(spread, node.id).sort());

    // kill -9 of the node that holds the most.
    const victim = nodes[counts.indexOf(Math.max(...counts))] as Node;
    const orphans = ownedBy(spread, victim.id);
    const fences = new Map(spread.sessions.map((each) => [each.id, each.fence as number]));
    live.splice(live.indexOf(victim), 1);
    const killedAt = Date.now();
    victim.main.child.kill('SIGKILL');
    await victim.main.exited;
    const survivor = live[0] as Node;
    const moved = await waitFor(
      async () => {
        const now = await view(survivor);
        const open = (await Promise.all(live.map(openOn))).flat();
        return orphans.every((id) => {
          const owner = now.sessions.find((each) => each.id === id)?.owner;
          return owner !== null && owner !== victim.id && open.includes(id);
        })
          ? now
          : undefined;
      },
      LEASE_MS + 10_000,
      "the dead node's sessions owned and open on the survivors",
    );
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThanOrEqual(LEASE_MS + 5_000);
    for (const id of orphans) expect(moved.sessions.find((each) => each.id === id)?.fence).toBeGreaterThan(fences.get(id) as number);
    await waitFor(async () => !(await view(survivor)).nodes.some((node) => node.id === victim.id), 15_000, 'the dead node out of the live nodes');

    await sample.stop();
    expect(sample.samples).toBeGreaterThan(10);
    expect(sample.doubles).toEqual([]);
    expect(server.overlaps).toEqual([]);
  }, 150_000);

  it('a node stopped (SIGSTOP) past its lease, then resumed: its sessions moved, its auth writes and sends are refused, and it gives the sessions up', async () => {
    const { server, prefix, control, nodes, view, openOn } = await cluster(2);
    await waitFor(async () => (await Promise.all(nodes.map(openOn))).flat().length === SESSIONS.length, 30_000, 'every session open');
    const before = await view(nodes[1] as Node);
    // The paused node must hold something: node-1 started first and took what was free.
    const paused = (ownedBy(before, 'node-1').length > 0 ? nodes[0] : nodes[1]) as Node;
    const other = (paused === nodes[0] ? nodes[1] : nodes[0]) as Node;
    const theirs = ownedBy(before, paused.id);
    expect(theirs.length).toBeGreaterThan(0);
    writeFileSync(join(control, 'probe-writes'), '');
    await waitFor(() => writesBy(control, paused.id).some((each) => each.ok), 10_000, 'the paused node writing auth state before the pause');

    paused.main.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    const taken = await waitFor(
      async () => {
        const now = await view(other);
        const open = await openOn(other);
        return theirs.every((id) => now.sessions.find((each) => each.id === id)?.owner === other.id && open.includes(id)) ? now : undefined;
      },
      LEASE_MS + 10_000,
      'the paused node\'s sessions taken over',
    );
    const takenAt = Date.now();
    expect(takenAt - stoppedAt).toBeLessThanOrEqual(LEASE_MS + 5_000);
    await waitFor(() => theirs.every((id) => writesBy(control, other.id).some((each) => each.sessionId === id && each.ok && each.at > takenAt)), 10_000, 'the new owner writing auth state');

    paused.main.child.kill('SIGCONT');
    // Straight after the resume, before its own renewal says it lost them: a send through it is refused.
    const send = await fetch(`${paused.base}/sessions/${theirs[0]}/send`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ to: '79990000001', text: 'from a stale node' }) });
    // Refused either way: by the fence (409), or, when the woken node's Redis connection has
    // not answered yet, as a write the store could not take (503); never accepted.
    const refusal = { status: send.status, code: ((await send.json()) as { code: string }).code };
    expect([
      { status: 409, code: 'WAR_ERR_WA_NOT_OWNER' },
      { status: 503, code: 'WAR_ERR_STORE_UNAVAILABLE' },
    ]).toContainEqual(refusal);
    await waitFor(async () => (await openOn(paused)).length === 0 && ownedBy(await view(paused), paused.id).length === 0, 15_000, 'the resumed node giving its old sessions up');
    await new Promise((resolve) => setTimeout(resolve, 500));

    // After the takeover the paused node wrote nothing: each attempt it made was refused by the fence.
    const stale = writesBy(control, paused.id).filter((each) => each.at >= stoppedAt);
    expect(stale.filter((each) => each.ok)).toEqual([]);
    expect(stale.every((each) => each.code === 'WAR_ERR_WA_NOT_OWNER')).toBe(true);
    const redis = new Redis(redisUrl());
    try {
      for (const id of theirs) {
        const probe = JSON.parse((await redis.hget(sessionKeys(prefix, id).auth, `probe:${id}`)) as string) as { node: string };
        expect(probe.node).toBe(other.id);
      }
    } finally {
      redis.disconnect();
    }
    // Nothing from the stale send reached WhatsApp.
    expect(readSent(control).filter((each) => each.text === 'from a stale node')).toEqual([]);
    expect(taken.sessions.every((each) => each.owner !== null)).toBe(true);
    expect(server.overlaps).toEqual([]);
  }, 150_000);
});

describe('nodes joining and leaving', () => {
  it('a node that joins takes nothing held (no thrashing); sessions handed back by a node that stops go to the least-loaded', async () => {
    const { nodes, start, view, openOn } = await cluster(1);
    const first = nodes[0] as Node;
    await waitFor(async () => (await openOn(first)).length === SESSIONS.length, 30_000, 'node-1 running every session');
    const before = await view(first);
    nodes.push(await start('node-2'), await start('node-3'));
    await waitFor(async () => (await view(first)).nodes.length === 3, 15_000, 'three live nodes');
    // Three lease periods with two idle newcomers: every session keeps its owner and its fence.
    await new Promise((resolve) => setTimeout(resolve, 3 * LEASE_MS));
    expect((await view(first)).sessions).toEqual(before.sessions);
    // node-1 stops (SIGTERM): it hands its leases back at once, and the two others share them.
    first.main.child.kill('SIGTERM');
    expect(await first.main.exited).toBe(0);
    const rest = nodes.slice(1);
    const shared = await waitFor(
      async () => {
        const now = await view(rest[0] as Node);
        const open = (await Promise.all(rest.map(openOn))).flat();
        return open.length === SESSIONS.length && now.sessions.every((each) => each.owner !== null && each.owner !== 'node-1') ? now : undefined;
      },
      LEASE_MS + 10_000,
      'the sessions taken by node-2 and node-3',
    );
    const counts = ['node-2', 'node-3'].map((node) => ownedBy(shared, node).length);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(2);
    expect(counts[0]! + counts[1]!).toBe(SESSIONS.length);
  }, 150_000);
});

describe('a reply made on the node that does not run the session', () => {
  it('is pushed into the stored queue and sent by the owner', async () => {
    const handler = new URL('../fixtures/custom-handler.ts', import.meta.url).pathname;
    const { control, nodes, view, openOn } = await cluster(2, { HANDLER_MODULE: handler, BATCH_WINDOW_MS: '200' });
    await waitFor(async () => (await Promise.all(nodes.map(openOn))).flat().length === SESSIONS.length, 30_000, 'every session open');
    const now = await view(nodes[0] as Node);
    // A session node-2 runs, a message for it taken in by node-1: node-1 batches it and runs the handler.
    const owner = ownedBy(now, 'node-2').length > 0 ? 'node-2' : 'node-1';
    const session = ownedBy(now, owner)[0] as string;
    const taker = (owner === 'node-2' ? nodes[0] : nodes[1]) as Node;
    const answer = await fetch(`${taker.base}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '79990000007', message: 'hello from the other node', sessionId: session }) });
    expect(answer.status).toBe(202);
    const sent = await waitFor(() => readSent(control).find((each) => each.text === 'echo: hello from the other node'), 30_000, 'the echo sent');
    expect(sent).toMatchObject({ sessionId: session, node: owner });
  }, 120_000);
});

function writesBy(control: string, node: string): { sessionId: string; node: string; at: number; ok: boolean; code?: string }[] {
  const file = join(control, 'auth-writes.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as { sessionId: string; node: string; at: number; ok: boolean; code?: string })
    .filter((each) => each.node === node);
}

function readSent(control: string): { text: string; sessionId?: string; node?: string | null }[] {
  const file = join(control, 'sent.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as { text: string; sessionId?: string; node?: string | null });
}

describe('a socket factory that throws, on a node that holds the session', () => {
  it('fails the socket as a bug (it gives up and alerts), not as an outage retried for ever', async () => {
    const prefix = testPrefix('cluster-broken');
    cleanups.push(() => deletePrefix(prefix));
    const data = mkdtempSync(join(tmpdir(), 'wa-runtime-data-'));
    cleanups.push(() => rmSync(data, { recursive: true, force: true }));
    const main = startMain(
      {
        PORT: '0',
        NODE_ID: 'broken-node',
        DATA_DIR: data,
        REDIS_URL: redisUrl(),
        REDIS_KEY_PREFIX: prefix,
        WA_SESSIONS: 'b1',
        WA_LEASE_MS: String(LEASE_MS),
        WA_SOCKET_MODULE: new URL('../fixtures/throwing-wa-socket.ts', import.meta.url).pathname,
        BACKOFF_INITIAL_MS: '50',
        BACKOFF_MAX_MS: '100',
        BACKOFF_MAX_ATTEMPTS: '2',
        METRICS_PROCESS: 'false',
      },
      children,
    );
    const base = `http://127.0.0.1:${await main.port(60_000)}`;
    const session = await waitFor(
      async () => {
        const answer = (await (await fetch(`${base}/sessions`)).json()) as { sessions: { id: string; status: string; alert: string | null }[] };
        return answer.sessions.find((each) => each.id === 'b1' && each.status === 'gave_up');
      },
      30_000,
      'b1 given up',
    );
    expect(session.alert).toContain('not a connection outage');
    expect(main.stdout()).toContain('this socket factory is broken');
  }, 60_000);
});
