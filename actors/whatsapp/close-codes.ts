/**
 * What a session does when its WhatsApp connection closes: DESIGN section 7's table as data,
 * and the one function that applies it. Codes are Baileys' `DisconnectReason` values, read
 * from the Boom error of `connection.update` (`lastDisconnect.error.output.statusCode`).
 */

/** Where a session stays when a close code means reconnecting cannot help. */
export type HaltedStatus = 'logged_out' | 'forbidden' | 'multidevice_mismatch' | 'replaced';

export type CloseRule =
  /** Fail the incarnation: its supervisor restarts it after the backoff delay. */
  | { readonly action: 'backoff' }
  /** Close and open a new socket in the same incarnation, without waiting. */
  | { readonly action: 'reconnect_now' }
  /** Close and stay down with an alert-worthy status until an operator pairs again. */
  | { readonly action: 'halt'; readonly status: HaltedStatus; readonly dropCredentials: boolean; readonly alert: string };

export interface CloseCodeEntry {
  readonly name: string;
  readonly rule: CloseRule;
}

export const CLOSE_CODES = {
  401: {
    name: 'loggedOut',
    rule: { action: 'halt', status: 'logged_out', dropCredentials: true, alert: 'logged out: the number must be paired again' },
  },
  403: { name: 'forbidden', rule: { action: 'halt', status: 'forbidden', dropCredentials: false, alert: 'forbidden: the number is banned or restricted' } },
  408: { name: 'timedOut', rule: { action: 'backoff' } },
  411: {
    name: 'multideviceMismatch',
    rule: { action: 'halt', status: 'multidevice_mismatch', dropCredentials: true, alert: 'multi-device mismatch: the number must be paired again' },
  },
  428: { name: 'connectionClosed', rule: { action: 'backoff' } },
  440: {
    name: 'connectionReplaced',
    rule: {
      action: 'halt',
      status: 'replaced',
      dropCredentials: false,
      alert: 'connection replaced: another socket holds these credentials; not reconnecting blindly',
    },
  },
  500: { name: 'badSession', rule: { action: 'backoff' } },
  503: { name: 'unavailableService', rule: { action: 'backoff' } },
  515: { name: 'restartRequired', rule: { action: 'reconnect_now' } },
} as const satisfies Record<number, CloseCodeEntry>;

export type KnownCloseCode = keyof typeof CLOSE_CODES;

/** Consecutive 500s after which the Signal sessions are cleared (the credentials are kept). */
export const CLEAR_SESSIONS_AFTER_500S = 3;

/** What the session knows when a close arrives, beyond the code. */
export interface CloseSituation {
  /** A QR or pairing code was being shown and the number is not registered yet. */
  readonly pairing: boolean;
  /** The socket being closed was opened because of a 515 and has not reached `open` yet. */
  readonly after515: boolean;
  /** That 515 came while pairing (the normal end of a pairing). */
  readonly pairingBefore515: boolean;
  /** The one retry of a 401 right after a 515 was already spent in this pairing. */
  readonly spent401Retry: boolean;
  /** 500s in a row before this close, across restarts, without an `open` between. */
  readonly previous500s: number;
}

export type CloseDecision =
  | { readonly action: 'backoff'; readonly clearSignalSessions: boolean }
  | { readonly action: 'reconnect_now'; readonly spends401Retry: boolean }
  | { readonly action: 'await_pairing' }
  | { readonly action: 'halt'; readonly status: HaltedStatus; readonly dropCredentials: boolean; readonly alert: string };

export function closeCodeName(code: number | undefined): string {
  if (code === undefined) return 'unknown';
  return code in CLOSE_CODES ? CLOSE_CODES[code as KnownCloseCode].name : `code ${code}`;
}

/**
 * The close-code rule. Beyond the table: a 408 while pairing is an expired QR, so the session
 * waits for a new pairing request instead of showing QRs forever; a 401 right after the 515
 * that ends a pairing is retried once, because WhatsApp often sends it while the fresh pairing
 * settles; a second 515 before the connection opened backs off; and an unknown code (or
 * none) is treated like a dropped connection.
 */
export function decideClose(code: number | undefined, situation: CloseSituation): CloseDecision {
  if (code === 408 && situation.pairing) return { action: 'await_pairing' };
  if (code === 401 && situation.after515 && situation.pairingBefore515 && !situation.spent401Retry) return { action: 'reconnect_now', spends401Retry: true };
  // A server that answers every connection with 515 must not get an immediate-reconnect loop.
  if (code === 515 && situation.after515) return { action: 'backoff', clearSignalSessions: false };
  const rule: CloseRule = code !== undefined && code in CLOSE_CODES ? CLOSE_CODES[code as KnownCloseCode].rule : { action: 'backoff' };
  switch (rule.action) {
    case 'backoff':
      return { action: 'backoff', clearSignalSessions: code === 500 && situation.previous500s + 1 >= CLEAR_SESSIONS_AFTER_500S };
    case 'reconnect_now':
      return { action: 'reconnect_now', spends401Retry: false };
    case 'halt':
      return { action: 'halt', status: rule.status, dropCredentials: rule.dropCredentials, alert: rule.alert };
  }
}

/** The status code of the Boom error Baileys closes with, if it carries one. */
export function closeCodeOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const output = (error as { output?: { statusCode?: unknown } }).output;
  return typeof output?.statusCode === 'number' ? output.statusCode : undefined;
}
