import { describe, expect, it } from 'vitest';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ActorContext } from '../../src/actor/behaviour.js';
import { ManualClock, settle } from '../../src/clock.js';
import { ActorSystem } from '../../src/system/actor-system.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import { silentLogger } from '../support/logger.js';
import { nodeAt, shutdownOnClock, startSystem } from '../support/system.js';

/** Races between an incarnation ending, starting and being stopped, each once a real bug. */
describe('lifecycle races', () => {
  it('a message that fails every new incarnation at once is a failure each time, never a silent death', async () => {
    const { system, clock } = await startSystem([
      {
        kind: 'actor',
        id: 'a',
        backoff: { initialMs: 100, maxAttempts: 50 },
        behaviour: local<string, string>(() => ({
          receive: (message) => {
            if (message === 'poison') throw new Error('poison');
            return 'pong';
          },
        })),
      },
    ]);
    const ref = system.lookup('/a') as ActorRef<string, string>;
    ref.tell('poison');
    ref.tell('poison');
    await settle();
    await clock.advanceAsync(1_000);
    expect(nodeAt(system.snapshot(), '/a')).toMatchObject({ status: 'running', restarts: 2 });
    expect(await ref.ask('ping')).toBe('pong');
    await system.shutdown();
  });

  it('a stop that arrives while an actor is starting waits for the start, then runs its stop once', async () => {
    const journal: string[] = [];
    let finishStart: (() => void) | undefined;
    const clock = new ManualClock(0);
    const system = new ActorSystem(
      {
        strategy: 'one_for_one',
        children: [
          {
            kind: 'actor',
            id: 'slow',
            behaviour: local<string, void>(() => ({
              start: () => new Promise<void>((resolve) => (finishStart = resolve)).then(() => void journal.push('started')),
              receive: () => undefined,
              stop: () => void journal.push('stopped'),
            })),
          },
        ],
      },
      { logger: silentLogger(), clock },
    );
    const starting = system.start().catch((error: { code?: string }) => error.code);
    await settle();
    const stopping = system.shutdown();
    await settle();
    expect(journal).toEqual([]);
    finishStart?.();
    await stopping;
    await starting;
    expect(journal).toEqual(['started', 'stopped']);
  });

  it('a start that overruns its timeout is stopped when it finally completes', async () => {
    const journal: string[] = [];
    let finishStart: (() => void) | undefined;
    let attempt = 0;
    const slow: ChildSpec = {
      kind: 'actor',
      id: 'slow',
      startTimeoutMs: 1_000,
      backoff: { initialMs: 10_000 },
      behaviour: local<string, void>(() => {
        const me = ++attempt;
        const started = () => void journal.push(`start ${me}`);
        return {
          start: () => (me === 1 ? new Promise<void>((resolve) => (finishStart = resolve)).then(started) : started()),
          receive: () => undefined,
          stop: () => void journal.push(`stop ${me}`),
        };
      }),
    };
    const clock = new ManualClock(0);
    const system = new ActorSystem({ strategy: 'one_for_one', children: [slow] }, { logger: silentLogger(), clock });
    const starting = system.start();
    await clock.advanceAsync(1_000);
    await starting;
    expect(nodeAt(system.snapshot(), '/slow')?.lastError?.code).toBe('WAR_ERR_ACTOR_START_TIMEOUT');
    finishStart?.();
    await settle();
    expect(journal).toEqual(['start 1', 'stop 1']);
    await clock.advanceAsync(13_000);
    expect(journal).toEqual(['start 1', 'stop 1', 'start 2']);
    await system.shutdown();
  });

  it("an old dynamic child's exit never touches its same-id successor", async () => {
    const clock = new ManualClock(0);
    let generation = 0;
    const pool: ChildSpec = {
      kind: 'supervisor',
      id: 'pool',
      strategy: 'one_for_one',
      template: (id: string) => ({
        kind: 'actor',
        id,
        restart: 'temporary',
        behaviour: local<string, string>(() => {
          const me = ++generation;
          return {
            receive: (message) => {
              if (message === 'crash') throw new Error('crash');
              return `pong from #${me}`;
            },
            stop: () => new Promise<void>((resolve) => clock.setTimeout(resolve, 50)),
          };
        }),
      }),
    };
    const { system } = await startSystem([pool], { clock });
    const supervisor = system.supervisor('/pool');
    const first = await supervisor.startFromTemplate<string, string>('c1', {});
    first.tell('crash');
    await settle();
    const stopping = supervisor.stopChild('c1');
    const second = supervisor.startFromTemplate<string, string>('c1', {});
    await clock.advanceAsync(100);
    await stopping;
    const ref = await second;
    await clock.advanceAsync(100);
    expect(await ref.ask('ping')).toBe('pong from #2');
    expect(nodeAt(system.snapshot(), '/pool/c1')?.status).toBe('running');
    await shutdownOnClock(system, clock, 100);
  });

  it('ctx.fail ends the incarnation at once, even while an async receive hangs', async () => {
    let context: ActorContext<string> | undefined;
    const { system, clock } = await startSystem([
      {
        kind: 'actor',
        id: 'a',
        backoff: { initialMs: 10 },
        behaviour: local<string, string>(() => ({
          start: (ctx) => void (context = ctx),
          receive: (message) => (message === 'hang' ? new Promise<string>(() => undefined) : 'pong'),
        })),
      },
    ]);
    const ref = system.lookup('/a') as ActorRef<string, string>;
    const hung = ref.ask('hang', { timeoutMs: 60_000 });
    await settle();
    context?.fail(new Error('socket closed'));
    await expect(hung).rejects.toMatchObject({ code: 'WAR_ERR_ACTOR_FAILED' });
    await settle();
    await clock.advanceAsync(20);
    expect(nodeAt(system.snapshot(), '/a')).toMatchObject({ status: 'running', restarts: 1, lastError: { message: 'socket closed' } });
    expect(await ref.ask('ping')).toBe('pong');
    await system.shutdown();
  });

  it('an operator restart of a child waiting for its group restart brings the group back in start order', async () => {
    const journal: string[] = [];
    const child = (id: string): ChildSpec => ({
      kind: 'actor',
      id,
      backoff: { initialMs: 60_000 },
      behaviour: local<string, void>(() => ({
        start: () => void journal.push(`start ${id}`),
        receive: (message) => {
          if (message === 'crash') throw new Error('crash');
        },
      })),
    });
    const { system } = await startSystem([child('store'), child('api'), child('pipeline')], { strategy: 'rest_for_one' });
    journal.length = 0;
    (system.lookup('/store') as ActorRef<string, void>).tell('crash');
    await settle();
    await system.restart('/api');
    expect(journal).toEqual(['start store', 'start api', 'start pipeline']);
    await system.shutdown();
  });

  it('a passivated dynamic child that got mail while ending is started again to handle it', async () => {
    const handled: string[] = [];
    const pool: ChildSpec = {
      kind: 'supervisor',
      id: 'pool',
      strategy: 'one_for_one',
      template: (id: string) => ({
        kind: 'actor',
        id,
        restart: 'transient',
        behaviour: local<string, void>(() => ({
          receive: (message, ctx) => {
            handled.push(message);
            if (message === 'done') ctx.stop();
          },
          stop: () => new Promise<void>((resolve) => setImmediate(resolve)),
        })),
      }),
    };
    const { system } = await startSystem([pool]);
    const ref = await system.supervisor('/pool').startFromTemplate<string, void>('c1', {});
    ref.tell('done');
    await new Promise((resolve) => setImmediate(resolve));
    // It is ending now; this mail must not be lost.
    expect(ref.tell('late')).toBe(true);
    await settle(10);
    expect(handled).toEqual(['done', 'late']);
    await system.shutdown();
  });

  it('requests to a supervisor that is not running fail at once instead of timing out', async () => {
    const { system, clock } = await startSystem([
      {
        kind: 'supervisor',
        id: 'sub',
        strategy: 'one_for_one',
        intensity: { maxRestarts: 0, withinMs: 1_000 },
        backoff: { initialMs: 60_000 },
        children: [
          {
            kind: 'actor',
            id: 'a',
            behaviour: local<string, void>(() => ({
              receive: () => {
                throw new Error('boom');
              },
            })),
          },
        ],
      },
    ]);
    (system.lookup('/sub/a') as ActorRef<string, void>).tell('x');
    await settle();
    expect(nodeAt(system.snapshot(), '/sub')?.status).toBe('backing_off');
    await expect(system.restart('/sub/a')).rejects.toMatchObject({ code: 'WAR_ERR_ACTOR_STOPPED' });
    await shutdownOnClock(system, clock);
  });
});
