import { errorCode } from '../../src/errors.js';

/** What a failed booking call tells its caller (an event, a log line, a handler over the thread boundary). */
export interface BookingErrorView {
  readonly code: string;
  readonly message: string;
  readonly field: string | undefined;
  readonly yclientsCode: number | undefined;
}

/** Any failure as a view; a failure that is not one of ours is `WAR_ERR_INTERNAL` with its message. */
export function bookingErrorView(error: unknown): BookingErrorView {
  const candidate = error as { field?: unknown; yclientsCode?: unknown } | undefined;
  return {
    code: errorCode(error) ?? 'WAR_ERR_INTERNAL',
    message: error instanceof Error ? error.message : String(error),
    field: typeof candidate?.field === 'string' ? candidate.field : undefined,
    yclientsCode: typeof candidate?.yclientsCode === 'number' ? candidate.yclientsCode : undefined,
  };
}
