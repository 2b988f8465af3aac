import type { Clock, TimerHandle } from '../../src/clock.js';
import { RuntimeError } from '../../src/errors.js';
import { queueFull, queueTimeout } from './booking-errors.js';

/**
 * One rate limit per credential. YClients counts requests per token (5 a second, 200 a minute
 * by default), so every caller in the process that uses a token must go through the same
 * limiter: the old client kept one per `new YclientsClient()` and ten instances sent ten
 * times the limit.
 *
 * The windows slide over start times (at most `perSecond` starts in ANY 1,000 ms, at most
 * `perMinute` in ANY 60,000 ms): fixed buckets would allow 2×perSecond across a bucket edge,
 * and the server counts with its own clock, not our buckets. `marginMs` widens both windows
 * because the server sees each arrival a little after our start, and unevenly so: two starts
 * exactly 1,000 ms apart can land 999 ms apart there.
 *
 * Requests that cannot start wait in a bounded queue, writes before reads (a booking must not
 * wait behind a page of slot lookups), FIFO within a priority. A full queue rejects at once; a
 * request whose deadline passes while it waits is rejected and never starts; an aborted
 * signal rejects and dequeues. One timer at most, armed for the next moment something can
 * start or expire, and none while nothing waits.
 *
 * A start is when the limiter lets a request go, not when its bytes leave: a caller that
 * starts one request and then schedules a thousand more sends the first only after that loop,
 * and the server sees it tens of milliseconds after its start, inside the window of a request
 * started a second later. `departed(ticket)` moves a start to the moment the request is
 * actually handed to the transport (only ever later), so the windows count what leaves.
 */

export type Priority = 'write' | 'read';

export interface QueueFullInfo {
  readonly priority: Priority;
  /** Requests waiting when this one was refused (equals `queueMax`). */
  readonly depth: number;
  readonly queueMax: number;
}

export interface QueueTimeoutInfo {
  readonly priority: Priority;
  /** Clock time `schedule` was called. */
  readonly scheduledAt: number;
  /** Clock time by which the request had to start. */
  readonly deadlineAt: number;
  /** Clock time it was rejected. */
  readonly now: number;
}

export interface RateLimiterOptions {
  readonly perSecond: number;
  readonly perMinute: number;
  /** Requests that may wait, both priorities together; 0 means a request starts at once or is refused. */
  readonly queueMax: number;
  /** Longest a request waits to start (a per-request `deadlineMs` can only shorten it). */
  readonly queueTimeoutMs: number;
  readonly clock: Clock;
  /** Added to both windows (default 5 ms): slack for the server seeing arrivals later, and unevenly, than our starts. */
  readonly marginMs?: number;
  /**
   * Least time between two starts (default 0: bursts up to the per-second limit). Spreading
   * the starts evenly (1000 / perSecond) keeps the server's own count under the limit even
   * when the arrivals jitter by up to that much, where a burst would need a wide margin.
   */
  readonly spacingMs?: number;
  /** The error a full queue rejects with (default `queueFull`: a BookingError WAR_ERR_BOOKING_QUEUE_FULL, 429). */
  readonly onFull?: (info: QueueFullInfo) => Error;
  /** The error a passed deadline rejects with (default `queueTimeout`: a BookingError WAR_ERR_BOOKING_QUEUE_TIMEOUT, 503). */
  readonly onTimeout?: (info: QueueTimeoutInfo) => Error;
}

export interface ScheduleOptions {
  /**
   * Absolute clock time (the limiter clock's `now()` scale) by which the request must have
   * started; the earlier of this and now + queueTimeoutMs applies. Absolute so that a
   * caller's own deadline (a handler's batch, an HTTP request) passes straight through.
   */
  readonly deadlineMs?: number;
  /** Aborting rejects a waiting request with `signal.reason` and removes it from the queue; a started one is not touched. */
  readonly signal?: AbortSignal;
}

export interface RateLimiterStats {
  readonly started: number;
  readonly rejectedFull: number;
  readonly rejectedTimeout: number;
  readonly aborted: number;
  readonly waiting: { readonly write: number; readonly read: number };
  /** Nothing starts before this clock time (0 when never paused). */
  readonly pausedUntil: number;
}

const SECOND_MS = 1_000;
const MINUTE_MS = 60_000;

// The booking codes by default, so an owner that passes no factory still answers 429 / 503.
const defaultFull = (info: QueueFullInfo): Error => queueFull(info.queueMax);
const defaultTimeout = (info: QueueTimeoutInfo): Error => queueTimeout(info.now - info.scheduledAt);

/**
 * A waiting request. It is its own abort listener (`handleEvent`), its own list node and its
 * own heap slot, so queuing one allocates this object and the promise, nothing else.
 */
class Waiter {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  heapIndex = -1;

  constructor(
    readonly priority: Priority,
    public run: ((ticket: StartTicket) => Promise<unknown>) | undefined,
    public resolve: ((value: unknown) => void) | undefined,
    public reject: ((error: unknown) => void) | undefined,
    readonly scheduledAt: number,
    readonly deadlineAt: number,
    readonly seq: number,
    public signal: AbortSignal | undefined,
    public onAbort: ((waiter: Waiter) => void) | undefined,
  ) {}

  handleEvent(): void {
    this.onAbort?.(this);
  }
}

/**
 * Handed to `run`: which start this is, for `departed`. The count of starts before it, so a
 * ticket whose slot the ring has since reused is recognised and ignored.
 */
export type StartTicket = number;

/** An intrusive FIFO: O(1) push, shift and removal from the middle (abort, deadline). */
class WaiterList {
  head: Waiter | undefined = undefined;
  tail: Waiter | undefined = undefined;
  size = 0;

  push(waiter: Waiter): void {
    waiter.prev = this.tail;
    waiter.next = undefined;
    if (this.tail) this.tail.next = waiter;
    else this.head = waiter;
    this.tail = waiter;
    this.size++;
  }

  remove(waiter: Waiter): void {
    if (waiter.prev) waiter.prev.next = waiter.next;
    else this.head = waiter.next;
    if (waiter.next) waiter.next.prev = waiter.prev;
    else this.tail = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    this.size--;
  }
}

/** `run()`, with a synchronous throw turned into a rejection so a caller only ever sees a promise. */
function invoke<T>(run: (ticket: StartTicket) => Promise<T>, ticket: StartTicket): Promise<T> {
  try {
    return Promise.resolve(run(ticket));
  } catch (error) {
    return Promise.reject(error);
  }
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', `RateLimiter ${name} must be an integer >= ${min}, got ${value}`);
  }
}

export class RateLimiter {
  readonly #perSecond: number;
  readonly #perMinute: number;
  readonly #queueMax: number;
  readonly #queueTimeoutMs: number;
  readonly #clock: Clock;
  readonly #spacingMs: number;
  readonly #secondSpan: number;
  readonly #minuteSpan: number;
  readonly #onFull: (info: QueueFullInfo) => Error;
  readonly #onTimeout: (info: QueueTimeoutInfo) => Error;

  /**
   * The last `capacity` start times, a ring: the window checks only ever need the
   * perSecond-th and perMinute-th most recent start, so nothing older is kept and nothing is
   * allocated per start.
   */
  readonly #starts: Float64Array;
  #startsHead = 0;
  #startsCount = 0;

  readonly #writes = new WaiterList();
  readonly #reads = new WaiterList();
  /** Waiters by (deadline, seq): a min-heap, since a per-request deadline breaks FIFO order of deadlines. */
  readonly #byDeadline: Waiter[] = [];
  #seq = 0;

  #pausedUntil = 0;
  #timer: TimerHandle | undefined = undefined;
  #timerDueAt = 0;
  /** Set while starting requests: a `run` that schedules synchronously only queues, and the outer loop picks it up in order. */
  #draining = false;

  #started = 0;
  #rejectedFull = 0;
  #rejectedTimeout = 0;
  #aborted = 0;

  // One closure per limiter, shared by every timer and every waiter.
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#drain();
  };
  readonly #onAbort = (waiter: Waiter): void => {
    if (waiter.run === undefined) return; // already started or rejected
    this.#aborted++;
    const reason: unknown = waiter.signal?.reason;
    this.#unqueue(waiter);
    this.#settle(waiter, reason);
    this.#arm();
  };

  constructor(options: RateLimiterOptions) {
    requireInteger('perSecond', options.perSecond, 1);
    requireInteger('perMinute', options.perMinute, 1);
    requireInteger('queueMax', options.queueMax, 0);
    const marginMs = options.marginMs ?? 5;
    if (!(Number.isFinite(options.queueTimeoutMs) && options.queueTimeoutMs >= 0)) {
      throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', `RateLimiter queueTimeoutMs must be a finite number >= 0, got ${options.queueTimeoutMs}`);
    }
    if (!(Number.isFinite(marginMs) && marginMs >= 0)) {
      throw new RuntimeError('WAR_ERR_BAD_ARGUMENT', `RateLimiter marginMs must be a finite number >= 0, got ${marginMs}`);
    }
    this.#perSecond = options.perSecond;
    this.#perMinute = options.perMinute;
    this.#queueMax = options.queueMax;
    this.#queueTimeoutMs = options.queueTimeoutMs;
    this.#clock = options.clock;
    this.#spacingMs = Math.max(0, options.spacingMs ?? 0);
    this.#secondSpan = SECOND_MS + marginMs;
    this.#minuteSpan = MINUTE_MS + marginMs;
    this.#onFull = options.onFull ?? defaultFull;
    this.#onTimeout = options.onTimeout ?? defaultTimeout;
    this.#starts = new Float64Array(Math.max(options.perSecond, options.perMinute));
  }

  /** Requests waiting to start, both priorities. */
  get depth(): number {
    return this.#writes.size + this.#reads.size;
  }

  /**
   * Starts `run` as soon as starting it keeps both windows within their limits, after every
   * waiting write (and, for a read, every waiting read) scheduled before it. The promise is
   * `run`'s, or a rejection: queue full, deadline passed, or the signal's reason.
   */
  schedule<T>(priority: Priority, run: (ticket: StartTicket) => Promise<T>, options?: ScheduleOptions): Promise<T> {
    const now = this.#clock.now();
    const signal = options?.signal;
    if (signal?.aborted) {
      this.#aborted++;
      return Promise.reject(signal.reason);
    }
    let deadlineAt = now + this.#queueTimeoutMs;
    const deadlineMs = options?.deadlineMs;
    if (deadlineMs !== undefined && deadlineMs < deadlineAt) deadlineAt = deadlineMs;
    if (deadlineAt < now) return this.#rejectTimeout(priority, now, deadlineAt, now);

    // Nothing waits, so nothing is overtaken: the common case starts without a queue entry.
    if (this.depth === 0 && this.#nextStartAt() <= now) {
      return invoke(run, this.#recordStart(now));
    }
    // It cannot start now, and would have to start by now: its deadline is already lost.
    if (deadlineAt <= now) return this.#rejectTimeout(priority, now, deadlineAt, now);
    if (this.depth >= this.#queueMax) {
      this.#rejectedFull++;
      return Promise.reject(this.#onFull({ priority, depth: this.depth, queueMax: this.#queueMax }));
    }

    return new Promise<T>((resolve, reject) => {
      const waiter = new Waiter(
        priority,
        run,
        resolve as (value: unknown) => void,
        reject,
        now,
        deadlineAt,
        this.#seq++,
        signal,
        signal ? this.#onAbort : undefined,
      );
      (priority === 'write' ? this.#writes : this.#reads).push(waiter);
      this.#heapPush(waiter);
      signal?.addEventListener('abort', waiter, { once: true });
      this.#drain();
    });
  }

  /**
   * Nothing starts before `untilMs` (clock time), for a 429's Retry-After. A later pause
   * extends an earlier one; an earlier one never shortens it. Waiting requests keep their
   * deadlines, so a long pause rejects those that cannot wait that long.
   */
  pause(untilMs: number): void {
    if (untilMs > this.#pausedUntil) this.#pausedUntil = untilMs;
    this.#arm();
  }

  /**
   * The request of `ticket` left now: its start moves to now if that is later. Later starts
   * recorded before now move with it (the ring stays in time order, and a start only ever
   * moves later, which can only delay the next one). A ticket older than the ring is ignored.
   */
  departed(ticket: StartTicket): void {
    const age = this.#started - ticket; // 1 for the latest start
    if (!Number.isInteger(ticket) || age < 1 || age > this.#startsCount) return;
    const now = this.#clock.now();
    const capacity = this.#starts.length;
    let moved = false;
    for (let n = age; n >= 1; n--) {
      const index = (this.#startsHead - n + capacity) % capacity;
      if ((this.#starts[index] as number) >= now) break;
      this.#starts[index] = now;
      moved = true;
    }
    if (moved) this.#arm();
  }

  stats(): RateLimiterStats {
    return {
      started: this.#started,
      rejectedFull: this.#rejectedFull,
      rejectedTimeout: this.#rejectedTimeout,
      aborted: this.#aborted,
      waiting: { write: this.#writes.size, read: this.#reads.size },
      pausedUntil: this.#pausedUntil,
    };
  }

  /**
   * Rejects every waiting request with `error` and drops the timer, for the owner's stop: no
   * caller is left hanging and no timer outlives the actor. The limiter stays usable.
   */
  clear(error: Error): void {
    for (let waiter = this.#writes.head ?? this.#reads.head; waiter; waiter = this.#writes.head ?? this.#reads.head) {
      this.#unqueue(waiter);
      this.#settle(waiter, error);
    }
    this.#arm();
  }

  /** The earliest clock time a start keeps both windows (and any pause) satisfied. */
  #nextStartAt(): number {
    let at = this.#pausedUntil;
    if (this.#spacingMs > 0 && this.#startsCount > 0) {
      const t = this.#nthLatestStart(1) + this.#spacingMs;
      if (t > at) at = t;
    }
    if (this.#startsCount >= this.#perSecond) {
      const t = this.#nthLatestStart(this.#perSecond) + this.#secondSpan;
      if (t > at) at = t;
    }
    if (this.#startsCount >= this.#perMinute) {
      const t = this.#nthLatestStart(this.#perMinute) + this.#minuteSpan;
      if (t > at) at = t;
    }
    return at;
  }

  /** The n-th most recent start (n = 1 is the latest); n <= #startsCount. */
  #nthLatestStart(n: number): number {
    const capacity = this.#starts.length;
    // The ring index is within [0, capacity) by construction, so the read is defined.
    return this.#starts[(this.#startsHead - n + capacity) % capacity] as number;
  }

  #recordStart(now: number): StartTicket {
    this.#starts[this.#startsHead] = now;
    this.#startsHead = (this.#startsHead + 1) % this.#starts.length;
    if (this.#startsCount < this.#starts.length) this.#startsCount++;
    return this.#started++;
  }

  /**
   * Starts what may start now, rejects what can no longer start by its deadline, re-arms.
   * A request may start at any time up to and including its deadline: those already past it
   * go first (a real timer fires late), then starts, then those whose deadline is now.
   */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      const now = this.#clock.now();
      this.#expire(now, false);
      for (let head = this.#writes.head ?? this.#reads.head; head && this.#nextStartAt() <= now; head = this.#writes.head ?? this.#reads.head) {
        const run = head.run as (ticket: StartTicket) => Promise<unknown>;
        const resolve = head.resolve as (value: unknown) => void;
        this.#unqueue(head);
        this.#release(head);
        resolve(invoke(run, this.#recordStart(now)));
      }
      this.#expire(now, true);
    } finally {
      this.#draining = false;
    }
    this.#arm();
  }

  /** Rejects waiters whose deadline is before now (or at it, with `inclusive`). */
  #expire(now: number, inclusive: boolean): void {
    for (let top = this.#byDeadline[0]; top && (inclusive ? top.deadlineAt <= now : top.deadlineAt < now); top = this.#byDeadline[0]) {
      this.#rejectedTimeout++;
      const error = this.#onTimeout({ priority: top.priority, scheduledAt: top.scheduledAt, deadlineAt: top.deadlineAt, now });
      this.#unqueue(top);
      this.#settle(top, error);
    }
  }

  #rejectTimeout(priority: Priority, scheduledAt: number, deadlineAt: number, now: number): Promise<never> {
    this.#rejectedTimeout++;
    return Promise.reject(this.#onTimeout({ priority, scheduledAt, deadlineAt, now }));
  }

  /** One timer, for the earlier of the next possible start and the next deadline; none while nothing waits. */
  #arm(): void {
    if (this.#draining) return; // the drain re-arms when it finishes
    const head = this.#writes.head ?? this.#reads.head;
    if (!head) {
      if (this.#timer) {
        this.#clock.clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      return;
    }
    let dueAt = this.#nextStartAt();
    const earliestDeadline = (this.#byDeadline[0] as Waiter).deadlineAt;
    if (earliestDeadline < dueAt) dueAt = earliestDeadline;
    if (this.#timer) {
      if (this.#timerDueAt === dueAt) return;
      this.#clock.clearTimeout(this.#timer);
    }
    this.#timerDueAt = dueAt;
    this.#timer = this.#clock.setTimeout(this.#onTimer, Math.max(0, dueAt - this.#clock.now()));
  }

  /** Takes a waiter out of its list and the deadline heap. */
  #unqueue(waiter: Waiter): void {
    (waiter.priority === 'write' ? this.#writes : this.#reads).remove(waiter);
    this.#heapRemove(waiter);
  }

  /** Detaches the abort listener and drops references, so a settled waiter holds nothing alive. */
  #release(waiter: Waiter): void {
    if (waiter.signal) waiter.signal.removeEventListener('abort', waiter);
    waiter.signal = undefined;
    waiter.onAbort = undefined;
    waiter.run = undefined;
    waiter.resolve = undefined;
    waiter.reject = undefined;
  }

  #settle(waiter: Waiter, error: unknown): void {
    const reject = waiter.reject as (error: unknown) => void;
    this.#release(waiter);
    reject(error);
  }

  // ---- the deadline heap ---------------------------------------------------------------

  static #before(a: Waiter, b: Waiter): boolean {
    return a.deadlineAt < b.deadlineAt || (a.deadlineAt === b.deadlineAt && a.seq < b.seq);
  }

  #heapPush(waiter: Waiter): void {
    const heap = this.#byDeadline;
    waiter.heapIndex = heap.length;
    heap.push(waiter);
    this.#siftUp(waiter.heapIndex);
  }

  #heapRemove(waiter: Waiter): void {
    const heap = this.#byDeadline;
    const index = waiter.heapIndex;
    waiter.heapIndex = -1;
    const last = heap.pop() as Waiter;
    if (last === waiter) return;
    heap[index] = last;
    last.heapIndex = index;
    this.#siftUp(index);
    this.#siftDown(last.heapIndex);
  }

  #siftUp(index: number): void {
    const heap = this.#byDeadline;
    const item = heap[index] as Waiter;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as Waiter;
      if (!RateLimiter.#before(item, parent)) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = item;
    item.heapIndex = index;
  }

  #siftDown(index: number): void {
    const heap = this.#byDeadline;
    const item = heap[index] as Waiter;
    const length = heap.length;
    for (;;) {
      let childIndex = 2 * index + 1;
      if (childIndex >= length) break;
      const right = childIndex + 1;
      if (right < length && RateLimiter.#before(heap[right] as Waiter, heap[childIndex] as Waiter)) childIndex = right;
      const child = heap[childIndex] as Waiter;
      if (!RateLimiter.#before(child, item)) break;
      heap[index] = child;
      child.heapIndex = index;
      index = childIndex;
    }
    heap[index] = item;
    item.heapIndex = index;
  }
}
