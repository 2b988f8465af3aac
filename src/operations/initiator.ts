/** Which front end an operation came through. */
export type FrontEnd = 'http' | 'cli' | 'bot';

/**
 * Who asked for an operation, for the audit event and log line: the front end, and who
 * within it (`http 127.0.0.1`, `cli ops@host via 127.0.0.1`, `bot chat 123456`).
 */
export interface Initiator {
  readonly frontEnd: FrontEnd;
  readonly who: string;
}
