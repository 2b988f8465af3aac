import { Agent, type Dispatcher } from 'undici';
import type { ActorContext, Behaviour } from '../../../src/actor/behaviour.js';
import { redactUrl, type CanaryTarget } from '../../../src/config/parsers.js';
import type { CheckReport, HealthChecks } from '../../../src/health/health-checks.js';
import { probeTarget, type ProbeOutcome } from './canary-probe.js';
import { canaryReport, INITIAL_CANARY_STATE, nextCanaryState, type CanaryState, type CanaryThresholds } from './canary-rule.js';

export interface CanaryMonitorOptions extends CanaryThresholds {
  readonly targets: readonly CanaryTarget[];
  /** Each target is asked this often (a target still answering the previous request is skipped). */
  readonly intervalMs: number;
  /** A request not answered (headers and body) within this is a failure, and aborted. */
  readonly timeoutMs: number;
  readonly checks: HealthChecks;
}

export type CanaryMonitorMessage =
  | { readonly type: 'check' }
  | { readonly type: 'status' }
  | { readonly type: 'timeout'; readonly target: string; readonly seq: number }
  | { readonly type: 'result'; readonly target: string; readonly seq: number; readonly statusCode: number | null; readonly failure: string | undefined };

/** What `status` answers: each target's latest check, by check name (absent until its first result). */
export type CanaryStatus = Readonly<Record<string, CheckReport | undefined>>;

export function canaryCheckName(targetName: string): string {
  return `canary:${targetName}`;
}

interface Slot {
  readonly target: CanaryTarget;
  readonly check: string;
  readonly redactedUrl: string;
  state: CanaryState;
  last: CheckReport | undefined;
  inFlight: { readonly seq: number; readonly startedAt: number; readonly controller: AbortController } | undefined;
}

/**
 * `monitors/canary`: asks other services' health URLs every `intervalMs` and publishes one
 * `canary:<name>` check per target, down and up by Gatus' thresholds (canary-rule.ts). A
 * request runs outside the mailbox (its result comes back as a message), so a hanging target
 * never delays another or a status ask; its timeout is an actor timer, on the actor's clock.
 */
export function canaryMonitor(options: CanaryMonitorOptions): Behaviour<CanaryMonitorMessage, CanaryStatus | undefined> {
  const slots = new Map<string, Slot>(
    options.targets.map((target) => [
      target.name,
      { target, check: canaryCheckName(target.name), redactedUrl: redactUrl(target.url, true), state: INITIAL_CANARY_STATE, last: undefined, inFlight: undefined },
    ]),
  );
  let dispatcher: Agent | undefined;
  let seq = 0;

  const status = (): CanaryStatus => Object.fromEntries([...slots.values()].map((slot) => [slot.check, slot.last]));

  const ask = (slot: Slot, agent: Dispatcher, ctx: ActorContext<CanaryMonitorMessage>): void => {
    const mine = ++seq;
    const controller = new AbortController();
    slot.inFlight = { seq: mine, startedAt: ctx.clock.now(), controller };
    ctx.timers.once(`timeout:${slot.target.name}`, options.timeoutMs, { type: 'timeout', target: slot.target.name, seq: mine });
    void probeTarget(slot.target, { dispatcher: agent, signal: controller.signal }).then((result) => {
      ctx.self.tell({ type: 'result', target: slot.target.name, seq: mine, ...result });
    });
  };

  const record = (slot: Slot, outcome: ProbeOutcome, ctx: ActorContext<CanaryMonitorMessage>): void => {
    slot.inFlight = undefined;
    slot.state = nextCanaryState(slot.state, outcome.failure === undefined, options);
    const report = canaryReport({ name: slot.target.name, url: slot.redactedUrl }, slot.state, outcome, options, new Date(ctx.clock.now()));
    // Transitions only: a target down for a day is one line, not 1,440.
    if (report.status !== slot.last?.status && (slot.last !== undefined || report.status !== 'ok')) {
      const fields = { canary: report.data };
      if (report.status === 'ok') ctx.log.info(fields, report.message);
      else ctx.log.warn(fields, report.message);
    }
    slot.last = report;
    options.checks.report(slot.check, report);
    const values = [...slots.values()];
    ctx.setDetail({
      targets: values.length,
      down: values.filter((each) => !each.state.up).length,
      failing: values.filter((each) => each.state.up && each.state.failuresInARow > 0).length,
    });
  };

  return {
    start(ctx) {
      dispatcher = new Agent();
      ctx.timers.every('check', options.intervalMs, { type: 'check' });
      ctx.self.tell({ type: 'check' });
    },
    receive(message, ctx) {
      switch (message.type) {
        case 'status':
          return status();
        case 'check': {
          const agent = dispatcher;
          if (!agent) return undefined;
          for (const slot of slots.values()) if (!slot.inFlight) ask(slot, agent, ctx);
          return undefined;
        }
        case 'result': {
          const slot = slots.get(message.target);
          if (!slot?.inFlight || slot.inFlight.seq !== message.seq) return undefined;
          ctx.timers.cancel(`timeout:${message.target}`);
          record(slot, { statusCode: message.statusCode, failure: message.failure, responseTimeMs: Math.max(0, ctx.clock.now() - slot.inFlight.startedAt) }, ctx);
          return undefined;
        }
        case 'timeout': {
          const slot = slots.get(message.target);
          if (!slot?.inFlight || slot.inFlight.seq !== message.seq) return undefined;
          const { controller, startedAt } = slot.inFlight;
          // Recorded first: the aborted request's own result then finds nothing in flight and is dropped.
          record(slot, { statusCode: null, failure: 'timed out', responseTimeMs: Math.max(0, ctx.clock.now() - startedAt) }, ctx);
          controller.abort();
          return undefined;
        }
      }
    },
    async stop() {
      for (const slot of slots.values()) {
        slot.inFlight?.controller.abort();
        slot.inFlight = undefined;
        // A stopped monitor must not leave a stale "ok" behind.
        options.checks.remove(slot.check);
      }
      await dispatcher?.destroy();
      dispatcher = undefined;
    },
  };
}
