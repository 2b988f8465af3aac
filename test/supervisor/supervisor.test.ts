import { describe, expect, it } from 'vitest';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ActorContext, Behaviour } from '../../src/actor/behaviour.js';
import { settle } from '../../src/clock.js';
import { backoffDelay } from '../../supervisor/backoff.js';
import { DEFAULT_BACKOFF } from '../../supervisor/restart-rule.js';
import { local, type ActorSpec, type ChildSpec } from '../../supervisor/child-spec.js';
import type { LifecycleEvent } from '../../supervisor/lifecycle-events.js';
import { nodeAt, shutdownOnClock, startSystem } from '../support/system.js';

type Ctl = { type: 'crash' } | { type: 'exit' } | { type: 'ping' };

/** A child the test can crash or end; records starts and stops in `journal`. */
function worker(id: string, journal: string[], extra: Partial<ActorSpec<Ctl, unknown>> = {}, stop?: () => Promise<void>): ChildSpec {
  return {
    kind: 'actor',
    id,
    ...extra,
    behaviour: local<Ctl, unknown>(
      (): Behaviour<Ctl, unknown> => ({
        start(ctx) {
          journal.push(`start ${ctx.path}`);
        },
        receive(message, ctx: ActorContext<Ctl>) {
          if (message.type === 'crash') throw new Error(`crash ${ctx.path}`);
          if (message.type === 'exit') ctx.stop();
          return 'pong';
        },
        async stop(ctx) {
          journal.push(`stop ${ctx.path}`);
          await stop?.();
        },
      }),
    ),
  };
}

const tell = (system: { lookup: (path: string) => unknown }, path: string, message: Ctl) =>
  (system.lookup(path) as ActorRef<Ctl, unknown>).tell(message);

describe('supervisor', () => {
  it('the default backoff is 3 s doubling to 60 s', () => {
    const noJitter = { ...DEFAULT_BACKOFF, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay(attempt, noJitter, 0.5).delayMs)).toEqual([
      3_000, 6_000, 12_000, 24_000, 48_000, 60_000, 60_000,
    ]);
    expect(DEFAULT_BACKOFF.maxAttempts).toBe(10);
  });

  it('backoff stays finite past 1,024 attempts (the power overflows): zero stays zero, others cap at maxMs', () => {
    expect(backoffDelay(5_000, { ...DEFAULT_BACKOFF, initialMs: 0 }, 0.9).delayMs).toBe(0);
    expect(backoffDelay(5_000, { ...DEFAULT_BACKOFF, jitter: 0 }, 0.9).delayMs).toBe(60_000);
  });

  it('a nested supervisor that exceeds its intensity escalates once; its parent restarts the subtree fresh', async () => {
    const journal: string[] = [];
    const { system, clock, events } = await startSystem([
      {
        kind: 'supervisor',
        id: 'sub',
        strategy: 'one_for_one',
        intensity: { maxRestarts: 2, withinMs: 10_000 },
        backoff: { initialMs: 1_000 },
        children: [worker('a', journal, { backoff: { initialMs: 10 } }), worker('b', journal)],
      },
    ]);
    for (let i = 0; i < 3; i++) {
      tell(system, '/sub/a', { type: 'crash' });
      await settle();
      await clock.advanceAsync(20);
    }
    const escalated = events.filter((e) => e.type === 'escalated');
    expect(escalated).toEqual([expect.objectContaining({ path: '/sub' })]);
    expect(nodeAt(system.snapshot(), '/sub')?.status).toBe('backing_off');
    expect(nodeAt(system.snapshot(), '/sub/b')?.status).toBe('stopped');
    await clock.advanceAsync(1_300);
    expect(nodeAt(system.snapshot(), '/sub')?.status).toBe('running');
    expect(nodeAt(system.snapshot(), '/sub')?.restarts).toBe(1);
    expect(nodeAt(system.snapshot(), '/sub/a')?.status).toBe('running');
    expect(journal.filter((line) => line === 'start /sub/b')).toHaveLength(2);
    await system.shutdown();
  });

  it('a failing root stops its tree in order and reports once, so the process can exit non-zero', async () => {
    const journal: string[] = [];
    const failures: Error[] = [];
    const { system, clock } = await startSystem([worker('a', journal, { backoff: { initialMs: 0 } }), worker('b', journal)], {
      intensity: { maxRestarts: 1, withinMs: 60_000 },
      onRootFailure: (error) => failures.push(error),
    });
    tell(system, '/a', { type: 'crash' });
    await settle();
    tell(system, '/a', { type: 'crash' });
    await settle();
    await clock.advanceAsync(0);
    await settle(10);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: 'WAR_ERR_SUPERVISOR_ESCALATED' });
    expect(system.snapshot().status).toBe('failed');
    expect(journal.at(-1)).toBe('stop /b');
    await system.shutdown();
  });

  it('shuts down in reverse start order; a child that overruns its shutdown timeout is abandoned and the rest still stop', async () => {
    const journal: string[] = [];
    const hang = () => new Promise<void>(() => undefined);
    const { system, clock } = await startSystem([
      worker('first', journal),
      {
        kind: 'supervisor',
        id: 'group',
        strategy: 'one_for_one',
        children: [worker('x', journal), worker('y', journal, { shutdownTimeoutMs: 2_000 }, hang)],
      },
      worker('last', journal),
    ]);
    await shutdownOnClock(system, clock, 500);
    expect(journal.filter((line) => line.startsWith('stop'))).toEqual([
      'stop /last',
      'stop /group/y',
      'stop /group/x',
      'stop /first',
    ]);
    expect(system.snapshot().status).toBe('stopped');
  });

  it('gives a child up after maxAttempts: stay_down leaves it failed, the default escalates', async () => {
    const journal: string[] = [];
    const { system, clock, events } = await startSystem(
      [
        worker('quiet', journal, { backoff: { initialMs: 10, maxAttempts: 2 }, onGiveUp: 'stay_down' }),
        {
          kind: 'supervisor',
          id: 'sub',
          strategy: 'one_for_one',
          backoff: { initialMs: 1e9 },
          children: [worker('loud', journal, { backoff: { initialMs: 10, maxAttempts: 2 } })],
        },
      ],
      { intensity: { maxRestarts: 100, withinMs: 1 } },
    );
    for (let i = 0; i < 3; i++) {
      tell(system, '/quiet', { type: 'crash' });
      tell(system, '/sub/loud', { type: 'crash' });
      await settle();
      await clock.advanceAsync(100);
    }
    expect(nodeAt(system.snapshot(), '/quiet')?.status).toBe('failed');
    expect(events.filter((e) => e.type === 'gave_up').map((e) => e.path).sort()).toEqual(['/quiet', '/sub/loud']);
    expect(events.filter((e) => e.type === 'escalated').map((e) => e.path)).toEqual(['/sub']);
    // An operator's restart revives a given-up child with its backoff reset.
    await system.restart('/quiet');
    expect(nodeAt(system.snapshot(), '/quiet')?.status).toBe('running');
    tell(system, '/quiet', { type: 'crash' });
    await settle();
    const restart = events.filter((e): e is Extract<LifecycleEvent, { type: 'restarting' }> => e.type === 'restarting' && e.path === '/quiet').at(-1);
    expect(restart?.attempt).toBe(1);
    await system.shutdown();
  });

  it('dynamic children: started from a template on demand, idempotent by id, removed when they end', async () => {
    const journal: string[] = [];
    const { system } = await startSystem([
      {
        kind: 'supervisor',
        id: 'pool',
        strategy: 'one_for_one',
        template: (id: string, args: unknown) => worker(id, journal, { restart: (args as { restart: 'transient' }).restart }),
      },
    ]);
    const pool = system.supervisor('/pool');
    const first = await pool.startFromTemplate<Ctl, unknown>('c1', { restart: 'transient' });
    const again = await pool.startFromTemplate<Ctl, unknown>('c1', { restart: 'transient' });
    expect(again).toBe(first);
    expect(await first.ask({ type: 'ping' })).toBe('pong');
    expect(nodeAt(system.snapshot(), '/pool/c1')?.status).toBe('running');
    first.tell({ type: 'exit' });
    await settle();
    expect(nodeAt(system.snapshot(), '/pool/c1')).toBeUndefined();
    expect(system.lookup('/pool/c1')).toBeUndefined();
    expect(nodeAt(system.snapshot(), '/pool')?.detail).toEqual({ retired: { count: 1, processed: 2, dropped: 0 } });
    await expect(system.supervisor('/pool').stopChild('nope')).rejects.toMatchObject({ code: 'WAR_ERR_CHILD_NOT_FOUND' });
    await system.shutdown();
  });

  it('lifecycle events can be subscribed to by an actor', async () => {
    const journal: string[] = [];
    const seen: LifecycleEvent[] = [];
    const { system, clock } = await startSystem([
      {
        kind: 'actor',
        id: 'watcher',
        behaviour: local<LifecycleEvent, void>(() => ({ receive: (event) => void seen.push(event) })),
      },
      worker('a', journal, { backoff: { initialMs: 10 } }),
    ]);
    system.events.subscribe(system.lookup<LifecycleEvent, unknown>('/watcher') as ActorRef<LifecycleEvent, unknown>, { types: ['failed', 'restarting', 'started'] });
    tell(system, '/a', { type: 'crash' });
    await settle();
    await clock.advanceAsync(20);
    expect(seen.map((e) => `${e.type} ${e.path}`)).toEqual(['failed /a', 'restarting /a', 'started /a']);
    await system.shutdown();
  });

  it('one_for_all and rest_for_one stop siblings in reverse order and start them in start order', async () => {
    for (const strategy of ['one_for_all', 'rest_for_one'] as const) {
      const journal: string[] = [];
      const { system, clock } = await startSystem(
        [worker('a', journal), worker('b', journal, { backoff: { initialMs: 10 } }), worker('c', journal), worker('d', journal)],
        { strategy },
      );
      journal.length = 0;
      tell(system, '/b', { type: 'crash' });
      await settle();
      await clock.advanceAsync(20);
      const expected =
        strategy === 'one_for_all'
          ? ['stop /b', 'stop /d', 'stop /c', 'stop /a', 'start /a', 'start /b', 'start /c', 'start /d']
          : ['stop /b', 'stop /d', 'stop /c', 'start /b', 'start /c', 'start /d'];
      expect(journal).toEqual(expected);
      await system.shutdown();
    }
  });
});
