import { ACTION_OUTCOMES, type ActionName, type ActionOutcome } from './action-outcome.js';

/**
 * What the pipeline has done since the runtime started. It lives outside the actor (created by
 * the pipeline feature, passed at spawn), so a restart of `/pipeline` does not reset what
 * /metrics and the stats report.
 */
export class PipelineCounters {
  #delivered = 0;
  #deliveredWithFailedActions = 0;
  retried = 0;
  deadLettered = 0;
  readonly #actions: Record<ActionName, Record<ActionOutcome, number>> = { reply: zeroOutcomes(), book: zeroOutcomes() };

  delivered(withFailedActions: boolean): void {
    this.#delivered++;
    if (withFailedActions) this.#deliveredWithFailedActions++;
  }

  action(action: ActionName, outcome: ActionOutcome): void {
    this.#actions[action][outcome]++;
  }

  actionCount(action: ActionName, outcome: ActionOutcome): number {
    return this.#actions[action][outcome];
  }

  get deliveredCount(): number {
    return this.#delivered;
  }

  snapshot(): {
    delivered: number;
    deliveredWithFailedActions: number;
    retried: number;
    deadLettered: number;
    actions: Record<ActionName, Partial<Record<ActionOutcome, number>>>;
  } {
    return {
      delivered: this.#delivered,
      deliveredWithFailedActions: this.#deliveredWithFailedActions,
      retried: this.retried,
      deadLettered: this.deadLettered,
      actions: { reply: nonZero(this.#actions.reply), book: nonZero(this.#actions.book) },
    };
  }
}

function zeroOutcomes(): Record<ActionOutcome, number> {
  return Object.fromEntries(ACTION_OUTCOMES.map((outcome) => [outcome, 0])) as Record<ActionOutcome, number>;
}

function nonZero(counts: Record<ActionOutcome, number>): Partial<Record<ActionOutcome, number>> {
  return Object.fromEntries(Object.entries(counts).filter(([, count]) => count > 0));
}
