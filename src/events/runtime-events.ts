import type { ActionName, ActionOutcome } from '../../actors/pipeline/action-outcome.js';
import type { SessionStatus } from '../../actors/whatsapp/session-status.js';
import type { LifecycleEvent } from '../../supervisor/lifecycle-events.js';
import type { CheckStatus } from '../health/health-checks.js';
import type { FrontEnd } from '../operations/initiator.js';
import type { EventBus } from './event-bus.js';

export type { LifecycleEvent } from '../../supervisor/lifecycle-events.js';

/** A health check changed status (or appeared, or went away: `absent`). */
export interface CheckEvent {
  readonly type: 'check';
  readonly name: string;
  readonly at: number;
  readonly previous: CheckStatus | 'absent';
  readonly status: CheckStatus | 'absent';
  readonly message: string;
}

/** A WhatsApp session changed status. */
export interface SessionEvent {
  readonly type: 'session';
  readonly sessionId: string;
  readonly at: number;
  readonly previous: SessionStatus;
  readonly status: SessionStatus;
  readonly closeCode: number | null;
  /** Set when the new status needs an operator (a halt, a give-up). */
  readonly alert: string | null;
}

/** A batch kept failing and was parked as a dead letter. */
export interface DeadLetterEvent {
  readonly type: 'dead_lettered';
  readonly at: number;
  readonly batchId: string;
  readonly sessionId: string;
  readonly phone: string;
  readonly attempts: number;
  readonly error: string;
}

/** A handler's action could not be carried out (no such session, no booking actor, a full send queue). */
export interface ActionFailedEvent {
  readonly type: 'action_failed';
  readonly at: number;
  readonly batchId: string;
  readonly sessionId: string;
  readonly phone: string;
  readonly action: ActionName;
  readonly outcome: Exclude<ActionOutcome, 'done'>;
  readonly message: string;
}

/** What came of a handler's `book` action (run by /booking in the background). */
export interface BookingEvent {
  readonly type: 'booking';
  readonly at: number;
  readonly batchId: string;
  readonly apiId: string;
  /** `existing`: the records this api_id made before (a redelivered batch) were found and not made again. */
  readonly outcome: 'booked' | 'existing' | 'failed';
  readonly recordIds: readonly number[];
  /** The error code when it failed (`WAR_ERR_BOOKING_SLOT_TAKEN`, ...). */
  readonly code: string | null;
  readonly message: string | null;
}

export type AdminOperation =
  | 'restart'
  | 'recover_whatsapp'
  | 'recover_batches'
  | 'recover_company'
  | 'recover_all'
  | 'test'
  | 'dead_letter_retry'
  | 'dead_letter_drop'
  | 'pending_drop'
  | 'alert_silence'
  | 'alert_unsilence';

/** An operator changed something, through the admin API, the CLI or the ops bot (src/operations/audit.ts). */
export interface AdminEvent {
  readonly type: 'admin';
  readonly at: number;
  readonly operation: AdminOperation;
  readonly target: string;
  readonly frontEnd: FrontEnd;
  /** Who, within the front end: `http 127.0.0.1`, `cli ops@host via 127.0.0.1`, `bot chat 123456`. */
  readonly by: string;
  readonly outcome: 'ok' | 'failed';
  readonly message: string | null;
}

/**
 * The runtime's one stream of events: what alerts, the ops bot, the CLI and the dashboard
 * read. Dynamic children (a batcher per conversation) start and passivate by the thousand:
 * their `started` and normal `stopped` are only built when a subscriber asks for those types.
 */
export type RuntimeEvent = LifecycleEvent | CheckEvent | SessionEvent | DeadLetterEvent | ActionFailedEvent | AdminEvent | BookingEvent;

export type RuntimeEventType = RuntimeEvent['type'];

export type RuntimeEvents = EventBus<RuntimeEvent>;

export const RUNTIME_EVENT_TYPES: readonly RuntimeEventType[] = [
  'started',
  'failed',
  'restarting',
  'stopped',
  'gave_up',
  'escalated',
  'check',
  'session',
  'dead_lettered',
  'action_failed',
  'admin',
  'booking',
];
