import { randomUUID } from 'node:crypto';
import { RuntimeError } from '../../src/errors.js';
import type { AlertLabels } from './alert.js';

/** Matches one label (or `rule`, the alert's rule name) exactly, or as a whole-value regular expression. */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex?: boolean;
}

export interface SilenceRequest {
  readonly matchers: readonly SilenceMatcher[];
  readonly durationMs: number;
  readonly comment: string;
  /** Who asked: the front end and where from (`http 127.0.0.1`). */
  readonly createdBy: string;
}

export interface Silence {
  readonly id: string;
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly comment: string;
  readonly createdBy: string;
}

const MAX_SILENCES = 1_000;
const MAX_MATCHERS = 20;
export const MAX_SILENCE_MS = 30 * 86_400_000;

interface Active {
  readonly silence: Silence;
  readonly endsAt: number;
  readonly tests: readonly ((labels: AlertLabels, rule: string) => boolean)[];
}

/**
 * Operator silences, as Alertmanager has them: a set of matchers over an alert's labels and
 * rule, for a while. A silenced alert is still grouped and listed, only not sent. Kept in the
 * alerts actor's memory: a restart of the runtime ends every silence (said in the README).
 */
export class Silences {
  readonly #active = new Map<string, Active>();

  add(request: SilenceRequest, now: number): Silence {
    this.prune(now);
    if (request.matchers.length === 0) throw new RuntimeError('WAR_ERR_BAD_REQUEST', 'a silence needs at least one matcher');
    if (request.matchers.length > MAX_MATCHERS) throw new RuntimeError('WAR_ERR_BAD_REQUEST', `a silence takes at most ${MAX_MATCHERS} matchers`);
    if (!(request.durationMs > 0 && request.durationMs <= MAX_SILENCE_MS)) {
      throw new RuntimeError('WAR_ERR_BAD_REQUEST', `durationMs must be between 1 and ${MAX_SILENCE_MS} (30 days), got ${request.durationMs}`);
    }
    if (this.#active.size >= MAX_SILENCES) throw new RuntimeError('WAR_ERR_BAD_REQUEST', `at most ${MAX_SILENCES} silences may be active; delete some first`);
    const tests = request.matchers.map((matcher, index) => compile(matcher, index));
    const endsAt = now + request.durationMs;
    const silence: Silence = {
      id: randomUUID(),
      matchers: request.matchers.map((matcher) => ({ name: matcher.name, value: matcher.value, isRegex: matcher.isRegex === true })),
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(endsAt).toISOString(),
      comment: request.comment,
      createdBy: request.createdBy,
    };
    this.#active.set(silence.id, { silence, endsAt, tests });
    return silence;
  }

  /** False if there was no such silence (or it had ended). */
  delete(id: string, now: number): boolean {
    this.prune(now);
    return this.#active.delete(id);
  }

  list(now: number): Silence[] {
    this.prune(now);
    return [...this.#active.values()].map((active) => active.silence);
  }

  matches(alert: { readonly rule: string; readonly labels: AlertLabels }, now: number): boolean {
    for (const active of this.#active.values()) {
      if (active.endsAt <= now) continue;
      if (active.tests.every((test) => test(alert.labels, alert.rule))) return true;
    }
    return false;
  }

  /** The earliest end of an active silence: when an alert may become visible again. */
  nextEndAt(now: number): number | undefined {
    let next: number | undefined;
    for (const active of this.#active.values()) if (active.endsAt > now && (next === undefined || active.endsAt < next)) next = active.endsAt;
    return next;
  }

  prune(now: number): void {
    for (const [id, active] of this.#active) if (active.endsAt <= now) this.#active.delete(id);
  }
}

function compile(matcher: SilenceMatcher, index: number): (labels: AlertLabels, rule: string) => boolean {
  if (typeof matcher.name !== 'string' || matcher.name === '' || typeof matcher.value !== 'string') {
    throw new RuntimeError('WAR_ERR_BAD_REQUEST', `matchers[${index}] needs a non-empty name and a string value`);
  }
  const read = (labels: AlertLabels, rule: string): string | undefined => (matcher.name === 'rule' ? rule : labels[matcher.name]);
  if (!matcher.isRegex) return (labels, rule) => read(labels, rule) === matcher.value;
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^(?:${matcher.value})$`);
  } catch (error) {
    throw new RuntimeError('WAR_ERR_BAD_REQUEST', `matchers[${index}].value is not a valid regular expression: ${(error as Error).message}`);
  }
  return (labels, rule) => {
    const value = read(labels, rule);
    return value !== undefined && pattern.test(value);
  };
}
