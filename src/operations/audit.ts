import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { AdminOperation, RuntimeEvents } from '../events/runtime-events.js';
import type { Initiator } from './initiator.js';

export interface AuditDeps {
  readonly events: RuntimeEvents;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * Every operation that changes something, from any front end, ends here once: one `admin`
 * event (alerts, the ops bot and the dashboard read it) and one log line naming the front end.
 */
export function audit(deps: AuditDeps, by: Initiator, operation: AdminOperation, target: string, outcome: 'ok' | 'failed', message: string | null = null): void {
  deps.events.publish({ type: 'admin', at: deps.clock.now(), operation, target, frontEnd: by.frontEnd, by: by.who, outcome, message });
  const fields = { operation, target, outcome, frontEnd: by.frontEnd, by: by.who, ...(message === null ? {} : { detail: message }) };
  if (outcome === 'ok') deps.logger.info(fields, `admin operation via ${by.frontEnd}`);
  else deps.logger.warn(fields, `admin operation via ${by.frontEnd} failed`);
}
