/**
 * Ours: time from triggering a crash to the first ask answered by the new incarnation,
 * with zero backoff. The ask is retried until it succeeds (an ask sent into a dying worker
 * fails with WAR_ERR_WORKER_DIED), and only an answer from a new incarnation counts.
 */
import { local, thread, type ActorSpec } from '../../supervisor/child-spec.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import type { ActorSystem } from '../../src/system/actor-system.js';
import { siblingModule } from '../../src/thread/module-url.js';
import { summarize } from '../support/stats.js';
import type { LatencyFigure } from '../support/suite.js';
import { nowNs } from '../support/timing.js';
import { startBenchSystem, ZERO_BACKOFF } from './bench-system.js';
import { crashActor, type CrashMessage, type PingReply } from './thread-actors.js';

const THREAD_ACTORS = siblingModule(import.meta.url, './thread-actors.js');
const PING: CrashMessage = Object.freeze({ type: 'ping' });
const GIVE_UP_NS = 30e9;

export interface CrashPlan {
  warmup: number;
  crashes: number;
}

export type CrashKind = 'local-throw' | 'thread-throw' | 'worker-exit';

function specFor(kind: CrashKind): ActorSpec {
  const behaviour =
    kind === 'local-throw'
      ? local<CrashMessage, PingReply>(crashActor)
      : thread({ module: THREAD_ACTORS, exportName: 'crashActor' });
  return { kind: 'actor', id: 'crasher', behaviour, backoff: ZERO_BACKOFF };
}

function restartsOf(system: ActorSystem): number {
  return system.snapshot().children.find((node) => node.path === '/crasher')?.restarts ?? -1;
}

/**
 * More consecutive restarts than this make backoffDelay (supervisor/backoff.ts) return NaN
 * for initialMs 0 (0 * 2 ** 1024), and the restart then waits a 1 ms timer instead of none.
 */
const MAX_CONSECUTIVE_RESTARTS = 1_024;

export async function crashToServing(kind: CrashKind, plan: CrashPlan): Promise<LatencyFigure> {
  if (plan.warmup + plan.crashes > MAX_CONSECUTIVE_RESTARTS) {
    throw new Error(`at most ${MAX_CONSECUTIVE_RESTARTS} crashes per child: beyond that zero backoff is not zero (see backoffDelay)`);
  }
  const system = await startBenchSystem([specFor(kind)]);
  const trigger: CrashMessage = kind === 'worker-exit' ? { type: 'exit' } : { type: 'throw' };
  const isNew =
    kind === 'worker-exit'
      ? (before: PingReply, after: PingReply) => after.threadId !== before.threadId
      : (before: PingReply, after: PingReply) => after.incarnation !== before.incarnation;
  try {
    const ref = system.lookup<CrashMessage, PingReply>('/crasher') as ActorRef<CrashMessage, PingReply>;
    const samples: number[] = [];
    let failedAsks = 0;
    let staleAnswers = 0;
    for (let i = 0; i < plan.warmup + plan.crashes; i++) {
      const before = await ref.ask(PING);
      const started = nowNs();
      if (!ref.tell(trigger)) throw new Error('the crash message was refused');
      for (;;) {
        try {
          const reply = await ref.ask(PING);
          if (isNew(before, reply)) break;
          staleAnswers++;
        } catch {
          failedAsks++;
        }
        if (nowNs() - started > GIVE_UP_NS) throw new Error(`crash ${i}: no new incarnation answered within ${GIVE_UP_NS / 1e9} s`);
      }
      const elapsedNs = nowNs() - started;
      if (i >= plan.warmup) samples.push(kind === 'worker-exit' ? elapsedNs / 1e6 : elapsedNs / 1e3);
    }
    const restarts = restartsOf(system);
    if (restarts !== plan.warmup + plan.crashes) {
      throw new Error(`invalid: the supervisor counted ${restarts} restarts for ${plan.warmup + plan.crashes} crashes`);
    }
    return {
      kind: 'latency',
      unit: kind === 'worker-exit' ? 'ms' : 'µs',
      summary: summarize(samples),
      extra: { restarts, failedAsks, staleAnswers },
    };
  } finally {
    await system.shutdown();
  }
}
