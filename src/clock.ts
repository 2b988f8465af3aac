/**
 * Time is a dependency. Everything that waits (ask timeouts, actor timers, restart
 * backoff) takes a Clock, so property tests drive the supervisor with a ManualClock and
 * never sleep.
 */
export interface TimerHandle {
  readonly __timer: true;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  /** `fn(arg)` after `delayMs`: one shared callback can serve many timers, with no closure per timer. */
  setTimeout<A>(fn: (arg: A) => void, delayMs: number, arg: A): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /**
   * Starts a pending timer over with the delay it was set with, keeping its callback and
   * argument (Node's `timeout.refresh()`): re-arming costs no new timer. Optional; without
   * it a timer is cleared and set anew.
   */
  refresh?(handle: TimerHandle): void;
}

/** Node fires a timer longer than this after 1 ms; longer waits are clamped instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function systemClock(): Clock {
  return {
    now: Date.now,
    setTimeout<A>(fn: (arg: A) => void, delayMs: number, arg?: A): TimerHandle {
      const ms = Math.min(Math.max(0, delayMs), MAX_TIMER_MS);
      // Node keeps an argument array only when given an argument.
      return (arg === undefined ? setTimeout(fn as () => void, ms) : setTimeout(fn, ms, arg)) as unknown as TimerHandle;
    },
    clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
    refresh: (handle) => void (handle as unknown as NodeJS.Timeout).refresh(),
  };
}

interface ManualTimer extends TimerHandle {
  dueAt: number;
  delayMs: number;
  seq: number;
  fn: (arg: unknown) => void;
  arg: unknown;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. Timers fire in due order (ties in creation order),
 * each with `now()` equal to its due time.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(startAt = 0) {
    this.#now = startAt;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  setTimeout<A>(fn: (arg: A) => void, delayMs: number, arg: A): TimerHandle;
  setTimeout<A>(fn: (arg: A) => void, delayMs: number, arg?: A): TimerHandle {
    const timer: ManualTimer = {
      __timer: true,
      dueAt: this.#now + Math.max(0, delayMs),
      delayMs: Math.max(0, delayMs),
      seq: this.#seq++,
      fn: fn as (arg: unknown) => void,
      arg,
      cancelled: false,
    };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as ManualTimer;
    timer.cancelled = true;
    const index = this.#timers.indexOf(timer);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  refresh(handle: TimerHandle): void {
    const timer = handle as ManualTimer;
    timer.dueAt = this.#now + timer.delayMs;
    timer.seq = this.#seq++;
    timer.cancelled = false;
    if (!this.#timers.includes(timer)) this.#timers.push(timer);
  }

  pendingTimers(): number {
    return this.#timers.length;
  }

  nextDueAt(): number | undefined {
    return this.#nextTimer()?.dueAt;
  }

  /** Fires every timer due within `ms`, synchronously, then sets the time to now + ms. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let timer = this.#nextTimer(); timer && timer.dueAt <= target; timer = this.#nextTimer()) {
      this.#fire(timer);
    }
    this.#now = target;
  }

  /**
   * Like advance, but lets promise chains and setImmediate callbacks settle after each
   * timer, so async work a timer starts (a restart, a reply) completes at that instant.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (let timer = this.#nextTimer(); timer && timer.dueAt <= target; timer = this.#nextTimer()) {
      this.#fire(timer);
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #nextTimer(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.#timers) {
      if (!best || timer.dueAt < best.dueAt || (timer.dueAt === best.dueAt && timer.seq < best.seq)) best = timer;
    }
    return best;
  }

  #fire(timer: ManualTimer): void {
    this.#timers.splice(this.#timers.indexOf(timer), 1);
    this.#now = Math.max(this.#now, timer.dueAt);
    timer.fn(timer.arg);
  }
}

/** Lets queued microtasks and immediates run; used between manual clock steps. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
