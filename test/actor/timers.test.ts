import { describe, expect, it } from 'vitest';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { settle } from '../../src/clock.js';
import { local } from '../../supervisor/child-spec.js';
import { nodeAt, startSystem } from '../support/system.js';

type TimerMsg =
  | { type: 'arm'; key: string; delayMs: number; periodic?: boolean }
  | { type: 'tick'; key: string; incarnation: number }
  | { type: 'crash' }
  | { type: 'block' }
  | { type: 'release' };

/** Records every tick with the incarnation that armed it. `gate.release` frees a blocked receive from outside. */
function timerActor(
  ticks: { key: string; armedBy: number; receivedBy: number }[],
  incarnations: { n: number },
  gate: { release?: () => void } = {},
) {
  return local<TimerMsg, unknown>(() => {
    const me = ++incarnations.n;
    return {
      receive(message, ctx) {
        switch (message.type) {
          case 'arm':
            if (message.periodic) ctx.timers.every(message.key, message.delayMs, { type: 'tick', key: message.key, incarnation: me });
            else ctx.timers.once(message.key, message.delayMs, { type: 'tick', key: message.key, incarnation: me });
            return undefined;
          case 'tick':
            ticks.push({ key: message.key, armedBy: message.incarnation, receivedBy: me });
            return undefined;
          case 'crash':
            throw new Error('crash');
          case 'block':
            return new Promise<void>((resolve) => (gate.release = resolve));
        }
      },
    };
  });
}

describe('actor timers', () => {
  it('deliver keyed single and periodic ticks on the fake clock; re-arming a key replaces it', async () => {
    const ticks: { key: string; armedBy: number; receivedBy: number }[] = [];
    const { system, clock } = await startSystem([{ kind: 'actor', id: 't', behaviour: timerActor(ticks, { n: 0 }) }]);
    const ref = system.lookup('/t') as ActorRef<TimerMsg, unknown>;
    ref.tell({ type: 'arm', key: 'once', delayMs: 100 });
    ref.tell({ type: 'arm', key: 'every', delayMs: 40, periodic: true });
    await settle();
    ref.tell({ type: 'arm', key: 'once', delayMs: 150 });
    await settle();
    await clock.advanceAsync(130);
    expect(ticks.map((t) => t.key)).toEqual(['every', 'every', 'every']);
    await clock.advanceAsync(30);
    expect(ticks.filter((t) => t.key === 'once')).toHaveLength(1);
    await system.shutdown();
  });

  it('are cancelled on restart: no tick armed by the old incarnation reaches the new one, not even one already queued', async () => {
    const ticks: { key: string; armedBy: number; receivedBy: number }[] = [];
    const incarnations = { n: 0 };
    const gate: { release?: () => void } = {};
    const { system, clock } = await startSystem([
      { kind: 'actor', id: 't', backoff: { initialMs: 10 }, behaviour: timerActor(ticks, incarnations, gate) },
    ]);
    const ref = system.lookup('/t') as ActorRef<TimerMsg, unknown>;
    ref.tell({ type: 'arm', key: 'queued', delayMs: 20 });
    ref.tell({ type: 'arm', key: 'periodic', delayMs: 50, periodic: true });
    ref.tell({ type: 'arm', key: 'late', delayMs: 500 });
    ref.tell({ type: 'block' });
    ref.tell({ type: 'crash' });
    await settle();
    // While blocked, two ticks land in the mailbox behind the crash.
    await clock.advanceAsync(60);
    expect(ticks).toEqual([]);
    gate.release?.();
    await settle();
    await clock.advanceAsync(2_000);
    expect(incarnations.n).toBe(2);
    expect(ticks).toEqual([]);
    await system.shutdown();
  });
});

describe('actor timers, bounds', () => {
  it('a periodic timer of a busy actor queues one tick, not a backlog; all timers die with a stop', async () => {
    const ticks: { key: string; armedBy: number; receivedBy: number }[] = [];
    const gate: { release?: () => void } = {};
    const { system, clock } = await startSystem([{ kind: 'actor', id: 't', behaviour: timerActor(ticks, { n: 0 }, gate) }]);
    const ref = system.lookup('/t') as ActorRef<TimerMsg, unknown>;
    ref.tell({ type: 'arm', key: 'p', delayMs: 100, periodic: true });
    ref.tell({ type: 'block' });
    await settle();
    await clock.advanceAsync(60_000);
    expect(nodeAt(system.snapshot(), '/t')?.mailbox.depth).toBe(1);
    gate.release?.();
    await settle();
    expect(ticks).toHaveLength(1);
    await system.shutdown();
    expect(clock.pendingTimers()).toBe(0);
  });
});
