import { afterEach, describe, expect, it } from 'vitest';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { ActorSystem } from '../../src/system/actor-system.js';
import { siblingModule } from '../../src/thread/module-url.js';
import { local, thread, type ChildSpec } from '../../supervisor/child-spec.js';
import type { EchoMessage } from '../fixtures/echo-actor.js';
import { silentLogger } from '../support/logger.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';

const echoModule = siblingModule(import.meta.url, '../fixtures/echo-actor.js');

interface EchoOptions {
  group?: string;
  resourceLimits?: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number };
}

function echoSpec(id: string, extra: EchoOptions = {}): ChildSpec {
  return {
    kind: 'actor',
    id,
    backoff: { initialMs: 10, maxAttempts: 100 },
    behaviour: thread({ module: echoModule, exportName: 'echoActor', args: { label: id }, ...extra }),
  };
}

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.shutdown();
  system = undefined;
});

async function start(children: ChildSpec[]): Promise<ActorSystem> {
  system = new ActorSystem({ strategy: 'one_for_one', intensity: { maxRestarts: 100, withinMs: 60_000 }, children }, { logger: silentLogger() });
  await system.start();
  return system;
}

const ref = (s: ActorSystem, path: string) => s.lookup(path) as ActorRef<EchoMessage, unknown>;

/** Asks until the restarted actor answers: the first asks may race the restart. */
const askWhenBack = (s: ActorSystem, path: string, message: EchoMessage) =>
  waitFor(() => ref(s, path).ask(message, { timeoutMs: 2_000 }), 30_000, `${path} to answer again`);

const deaths: [string, EchoMessage, EchoOptions['resourceLimits']][] = [
  ['throws an uncaught error', { type: 'uncaught' }, undefined],
  ['calls process.exit', { type: 'exit', code: 7 }, undefined],
  ['runs out of memory', { type: 'oom' }, { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 8 }],
];

describe('thread-placed actors', () => {
  it('run in a worker thread and answer ask like a local actor', async () => {
    const s = await start([echoSpec('echo')]);
    expect(await ref(s, '/echo').ask({ type: 'echo', value: { n: 1, list: [1, 2] } })).toEqual({ label: 'echo', value: { n: 1, list: [1, 2] } });
    const threadId = await ref(s, '/echo').ask({ type: 'thread' });
    expect(threadId).toBeGreaterThan(0);
    expect(nodeAt(s.snapshot(), '/echo')).toMatchObject({ placement: 'thread', status: 'running', detail: { threadId } });
  });

  it('a receive that throws fails the ask with WAR_ERR_ACTOR_FAILED and restarts the actor in the same worker', async () => {
    const s = await start([echoSpec('echo')]);
    const before = await ref(s, '/echo').ask({ type: 'thread' });
    await expect(ref(s, '/echo').ask({ type: 'throw', message: 'bad input' })).rejects.toMatchObject({ code: 'WAR_ERR_ACTOR_FAILED' });
    expect(await askWhenBack(s, '/echo', { type: 'thread' })).toBe(before);
    await waitFor(() => nodeAt(s.snapshot(), '/echo')?.restarts === 1);
    expect(nodeAt(s.snapshot(), '/echo')?.lastError?.message).toContain('bad input');
  });

  for (const [name, message, limits] of deaths) {
    it(`a worker that ${name} fails its actor, which is restarted in a new thread and keeps serving ask`, async () => {
      const s = await start([echoSpec('echo', limits ? { resourceLimits: limits } : {})]);
      const before = await ref(s, '/echo').ask({ type: 'thread' });
      ref(s, '/echo').tell(message);
      await waitFor(() => (nodeAt(s.snapshot(), '/echo')?.restarts ?? 0) >= 1, 30_000, 'a restart');
      const after = await askWhenBack(s, '/echo', { type: 'thread' });
      expect(after).not.toBe(before);
      expect(await ref(s, '/echo').ask({ type: 'echo', value: 'still here' })).toEqual({ label: 'echo', value: 'still here' });
      expect(nodeAt(s.snapshot(), '/echo')?.lastError?.code).toBe('WAR_ERR_WORKER_DIED');
    });
  }

  it('a worker death fails every actor on it; all come back, and asks in flight fail with WAR_ERR_WORKER_DIED', async () => {
    const s = await start([echoSpec('a', { group: 'shared' }), echoSpec('b', { group: 'shared' })]);
    const threadA = await ref(s, '/a').ask({ type: 'thread' });
    expect(await ref(s, '/b').ask({ type: 'thread' })).toBe(threadA);
    const blocked = ref(s, '/b').ask({ type: 'echo', value: 'never answered' }, { timeoutMs: 20_000 });
    ref(s, '/a').tell({ type: 'exit', code: 1 });
    const outcome = await blocked.then(
      () => 'answered',
      (error: { code?: string }) => error.code,
    );
    // The ask either won the race (answered before the exit) or died with the worker: never hangs.
    expect(['answered', 'WAR_ERR_WORKER_DIED']).toContain(outcome);
    const [newA, newB] = await Promise.all([askWhenBack(s, '/a', { type: 'thread' }), askWhenBack(s, '/b', { type: 'thread' })]);
    expect(newA).toBe(newB);
    expect(newA).not.toBe(threadA);
    expect(nodeAt(s.snapshot(), '/b')?.lastError?.code).toBe('WAR_ERR_WORKER_DIED');
  });

  it('an ask in flight when its worker dies fails with WAR_ERR_WORKER_DIED', async () => {
    const s = await start([echoSpec('echo')]);
    await ref(s, '/echo').ask({ type: 'thread' });
    await expect(ref(s, '/echo').ask({ type: 'exit', code: 2 }, { timeoutMs: 20_000 })).rejects.toMatchObject({ code: 'WAR_ERR_WORKER_DIED' });
  });

  it('messages sent while the actor has no worker wait and arrive in order', async () => {
    const s = await start([echoSpec('echo')]);
    ref(s, '/echo').tell({ type: 'exit', code: 1 });
    await waitFor(() => nodeAt(s.snapshot(), '/echo')?.status !== 'running', 10_000);
    const answers = [1, 2, 3].map((value) => ref(s, '/echo').ask({ type: 'echo', value }, { timeoutMs: 20_000 }));
    expect(await Promise.all(answers)).toEqual([1, 2, 3].map((value) => ({ label: 'echo', value })));
  });

  it('a dynamic thread actor stopped and started again under its id gets a fresh worker at once', async () => {
    const s = await start([
      { kind: 'supervisor', id: 'pool', strategy: 'one_for_one', template: (id: string) => ({ ...echoSpec(id), restart: 'temporary' }) },
    ]);
    const pool = s.supervisor('/pool');
    const first = (await pool.startFromTemplate('s1', {})) as ActorRef<EchoMessage, unknown>;
    const firstThread = await first.ask({ type: 'thread' });
    await pool.stopChild('s1');
    const started = Date.now();
    const second = (await pool.startFromTemplate('s1', {})) as ActorRef<EchoMessage, unknown>;
    expect(await second.ask({ type: 'thread' })).not.toBe(firstThread);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('an actor in a worker reaches a main-thread actor by path', async () => {
    const received: unknown[] = [];
    const s = await start([
      { kind: 'actor', id: 'sink', behaviour: local<unknown, void>(() => ({ receive: (message) => void received.push(message) })) },
      echoSpec('echo'),
    ]);
    expect(await ref(s, '/echo').ask({ type: 'tell-path', path: '/sink', message: { hello: 'main' } })).toBe(true);
    await waitFor(() => received.length === 1);
    expect(received).toEqual([{ hello: 'main' }]);
  });
});
