/** What `wa-runtime` exits with: scripts and cron jobs branch on these. */
export const EXIT = {
  ok: 0,
  /** The runtime answered: unhealthy, or the operation failed or was refused. */
  failed: 1,
  /** The command line is wrong. */
  usage: 2,
  /** Nothing answered at --url (not running, wrong port, timed out). */
  unreachable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A problem with the command line: printed with the usage, exit 2. */
export class UsageError extends Error {}
