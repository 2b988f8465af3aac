import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../actors/batcher/batch-store.js';
import { RuntimeError, WorkerDiedError } from '../../src/errors.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import { decideRestart, DEFAULT_BACKOFF, isOutage, type RestartInput } from '../../supervisor/restart-rule.js';
import { nodeAt, startSystem } from '../support/system.js';

const BACKOFF = { initialMs: 100, maxMs: 400, maxAttempts: 3, jitter: 0 };

/** An actor whose every start fails with `error()` (a store that cannot connect, or a bug). */
function failingAtStart(id: string, error: () => Error, extra: Partial<ChildSpec> = {}): ChildSpec {
  return {
    kind: 'actor',
    id,
    backoff: BACKOFF,
    ...extra,
    behaviour: local<unknown, void>(() => ({
      start() {
        throw error();
      },
      receive() {},
    })),
  } as ChildSpec;
}

const steady = (id: string): ChildSpec => ({ kind: 'actor', id, behaviour: local<unknown, void>(() => ({ receive() {} })) });

describe('dependency children', () => {
  it('an outage is retried for ever at the capped backoff: never given up, never escalated, the tree stays up and names what is down', async () => {
    let rootFailed: Error | undefined;
    const { system, clock, events } = await startSystem(
      [
        steady('pipeline'),
        failingAtStart('store', () => new StoreUnavailableError('redis at 127.0.0.1:1', 'connect ECONNREFUSED 127.0.0.1:1'), { dependency: { name: 'redis' } }),
      ],
      { intensity: { maxRestarts: 2, withinMs: 60_000 }, onRootFailure: (error) => (rootFailed = error) },
    );
    // 50 retries: many times maxAttempts (3) and the root's intensity (2 within 60 s).
    for (let i = 0; i < 50; i++) await clock.advanceAsync(400);
    expect(rootFailed).toBeUndefined();
    expect(events.filter((e) => e.type === 'gave_up' || e.type === 'escalated')).toEqual([]);
    const restarting = events.filter((e) => e.type === 'restarting');
    expect(restarting.length).toBeGreaterThanOrEqual(45);
    expect(restarting.every((e) => e.type === 'restarting' && e.outage)).toBe(true);
    // Capped: after 100, 200, every delay is 400.
    expect(restarting.slice(2).every((e) => e.type === 'restarting' && e.delayMs === 400)).toBe(true);
    const store = nodeAt(system.snapshot(), '/store');
    expect(store).toMatchObject({ status: 'backing_off', lastError: { code: 'WAR_ERR_STORE_UNAVAILABLE' }, outage: { dependency: 'redis', retries: expect.any(Number) } });
    expect(Date.parse(store?.outage?.since ?? '')).toBe(1_700_000_000_000);
    expect(nodeAt(system.snapshot(), '/pipeline')).toMatchObject({ status: 'running', restarts: 0 });
    await system.shutdown();
  });

  it('a crash-looping child that is not a dependency still gives up and escalates, and the root fails', async () => {
    let rootFailed: Error | undefined;
    const { system, clock, events } = await startSystem([steady('pipeline'), failingAtStart('buggy', () => new TypeError('undefined is not a function'))], {
      onRootFailure: (error) => (rootFailed = error),
    });
    for (let i = 0; i < 20 && !rootFailed; i++) await clock.advanceAsync(400);
    expect(events.find((e) => e.type === 'gave_up')).toMatchObject({ path: '/buggy', attempts: 3 });
    expect(events.find((e) => e.type === 'escalated')).toMatchObject({ path: '/' });
    expect(rootFailed?.message).toMatch(/gave up after 3 restarts/);
    await system.shutdown();
  });

  it("a dependency child's other failures (a bug, not an outage) give up as any child's do", async () => {
    let rootFailed: Error | undefined;
    const { clock, events, system } = await startSystem([failingAtStart('store', () => new TypeError('bug in the store owner'), { dependency: { name: 'redis' } })], {
      onRootFailure: (error) => (rootFailed = error),
    });
    for (let i = 0; i < 20 && !rootFailed; i++) await clock.advanceAsync(400);
    expect(events.find((e) => e.type === 'gave_up')).toMatchObject({ path: '/store' });
    expect(rootFailed).toBeDefined();
    await system.shutdown();
  });
});

describe('the restart rule', () => {
  const base: RestartInput = {
    restart: 'permanent',
    reason: { kind: 'failure', error: new Error('x') },
    attempts: 0,
    countedAttempts: 0,
    ranForMs: 0,
    backoff: { ...DEFAULT_BACKOFF, jitter: 0 },
    intensity: { maxRestarts: 1, withinMs: 1_000 },
    restartsInWindow: 0,
    outage: false,
    mailWaiting: false,
    dynamic: false,
    onGiveUp: 'escalate',
    jitterSample: 0.5,
  };

  it('is a pure function of its input: the same input, the same decision, every time', () => {
    const input = { ...base, attempts: 4, countedAttempts: 4, restartsInWindow: 0 };
    expect(decideRestart(input)).toEqual(decideRestart(input));
    expect(decideRestart(input)).toEqual({ action: 'restart', attempt: 5, countedAttempt: 5, delayMs: 48_000, baseMs: 48_000, outage: false });
  });

  it('an outage at attempt 1,000 waits the cap; a bug at the same count gives up', () => {
    expect(decideRestart({ ...base, outage: true, attempts: 1_000, restartsInWindow: 99 })).toMatchObject({ action: 'restart', delayMs: 60_000, outage: true });
    expect(decideRestart({ ...base, attempts: 10, countedAttempts: 10, restartsInWindow: 1 })).toMatchObject({ action: 'escalate', restartsInWindow: 2 });
    expect(decideRestart({ ...base, attempts: 10, countedAttempts: 10, intensity: { maxRestarts: 100, withinMs: 1 } })).toEqual({ action: 'give_up', attempts: 10, then: 'escalate' });
  });

  it('classifies connection errors (ours, Node\'s, undici\'s, and a cause chain) as outages, and a bug as none', () => {
    expect(isOutage(new StoreUnavailableError('redis', 'down'))).toBe(true);
    expect(isOutage(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isOutage(new Error('wrapped', { cause: Object.assign(new Error('socket'), { code: 'UND_ERR_SOCKET' }) }))).toBe(true);
    expect(isOutage(new TypeError('x is not a function'))).toBe(false);
  });

  it("a dependency's outages include a WhatsApp close and a start that timed out waiting on the connection, not a dying worker", () => {
    expect(isOutage(new RuntimeError('WAR_ERR_WA_CLOSED', 'WhatsApp connection closed: 428 connectionClosed'))).toBe(true);
    expect(isOutage(new RuntimeError('WAR_ERR_ACTOR_START_TIMEOUT', 'did not start within 30000 ms'))).toBe(true);
    expect(isOutage(new WorkerDiedError(3, 'out of memory'))).toBe(false);
  });
});
