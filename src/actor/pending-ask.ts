import type { Clock, TimerHandle } from '../clock.js';

/**
 * An ask waiting for its reply: settles once, whichever comes first of the reply, a
 * failure or its timeout, and clears its timer when it does.
 */
export class PendingAsk<M, R> {
  settled = false;
  timer: TimerHandle | undefined;

  constructor(
    readonly message: M,
    protected readonly clock: Clock,
    private readonly onResolve: (value: R) => void,
    private readonly onReject: (error: Error) => void,
  ) {}

  resolve(value: R): void {
    if (this.settle()) this.onResolve(value);
  }

  reject(error: Error): void {
    if (this.settle()) this.onReject(error);
  }

  /** True for the first settlement only. */
  protected settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    return true;
  }
}
