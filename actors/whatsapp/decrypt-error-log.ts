import type { Logger } from 'pino';

/** What Baileys and libsignal print when a message cannot be decrypted. */
const DECRYPT_ERROR = /bad mac|failed to decrypt|decryption failed|no matching sessions found|no session record|invalid prekey id/i;

export interface DecryptErrorCounts {
  badMac: number;
  decrypt: number;
  suppressed: number;
}

/**
 * "Bad MAC" and decrypt errors counted, and logged at a bounded rate: at most `perWindow`
 * lines per `windowMs`, then one line saying how many were held back. One such storm has
 * exhausted a heap with six-figure log lines; counting is cheap, logging is not.
 */
export class DecryptErrorLog {
  readonly counts: DecryptErrorCounts = { badMac: 0, decrypt: 0, suppressed: 0 };
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #perWindow: number;
  readonly #windowMs: number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #loggedInWindow = 0;
  #heldBack = 0;

  constructor(logger: Logger, now: () => number, options: { perWindow: number; windowMs: number } = { perWindow: 5, windowMs: 60_000 }) {
    this.#logger = logger;
    this.#now = now;
    this.#perWindow = options.perWindow;
    this.#windowMs = options.windowMs;
  }

  /** True when `text` is a decrypt error (then it has been counted and maybe logged). */
  offer(text: string, fields?: Record<string, unknown>): boolean {
    if (!DECRYPT_ERROR.test(text)) return false;
    if (/bad mac/i.test(text)) this.counts.badMac++;
    else this.counts.decrypt++;
    const now = this.#now();
    if (now - this.#windowStart >= this.#windowMs) this.#nextWindow(now);
    if (this.#loggedInWindow < this.#perWindow) {
      this.#loggedInWindow++;
      this.#logger.warn({ ...fields, detail: text.slice(0, 200), counts: { ...this.counts } }, 'decrypt error');
    } else {
      this.#heldBack++;
      this.counts.suppressed++;
    }
    return true;
  }

  /** Writes the held-back line of a window that has ended, even if no error came after it (called on a timer). */
  flushSummary(): void {
    const now = this.#now();
    if (this.#heldBack > 0 && now - this.#windowStart >= this.#windowMs) this.#nextWindow(now);
  }

  #nextWindow(now: number): void {
    if (this.#heldBack > 0) this.#logger.warn({ suppressed: this.#heldBack, counts: { ...this.counts } }, 'decrypt errors held back in the last window');
    this.#windowStart = now;
    this.#loggedInWindow = 0;
    this.#heldBack = 0;
  }
}

type LogMethod = (object: unknown, message?: string) => void;

/** Baileys' logger interface (ILogger), structurally. */
export interface BaileysLogger {
  level: string;
  child(bindings: Record<string, unknown>): BaileysLogger;
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/** The logger handed to Baileys: decrypt errors go through `decryptErrors`, the rest to `logger`. */
export function baileysLogger(logger: Logger, decryptErrors: DecryptErrorLog): BaileysLogger {
  const method =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error'): LogMethod =>
    (object, message) => {
      if ((level === 'warn' || level === 'error') && decryptErrors.offer(describe(object, message))) return;
      if (typeof object === 'string') logger[level](object);
      else logger[level](object as object, message);
    };
  return {
    get level() {
      return logger.level;
    },
    set level(value: string) {
      logger.level = value;
    },
    child: (bindings) => baileysLogger(logger.child(bindings), decryptErrors),
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
  };
}

/** Where one session wants its thread's console output: its logger and its decrypt-error limiter. */
export interface ConsoleSink {
  readonly logger: Logger;
  readonly decryptErrors: DecryptErrorLog;
}

/** The router lives on the console it replaces: one per thread, found again by every session of the thread. */
const ROUTER = Symbol.for('wa-runtime.console-router');

interface ConsoleRouter {
  readonly sinks: ConsoleSink[];
  readonly original: Pick<Console, 'log' | 'info' | 'warn' | 'error'>;
}

type RoutableConsole = Console & { [ROUTER]?: ConsoleRouter };

/**
 * libsignal reports decrypt failures with console.error (with whole session records via
 * console.info). console belongs to the thread, not to a session, and a thread may host many
 * sessions (WA_SESSIONS_PER_THREAD): the first session on the thread installs one router, each
 * session adds its sink, and the last to leave puts console back. With one session on the
 * thread its lines are its own; with several nothing in libsignal's output says whose they are,
 * so they go to the oldest session's limiter and logger, marked `sharedThread` (the storm is
 * still bounded: one limiter takes them all). Returns the function that removes this sink.
 */
export function routeConsole(target: { console: Console }, sink: ConsoleSink): () => void {
  const routed = target.console as RoutableConsole;
  let router = routed[ROUTER];
  if (!router) {
    const installed: ConsoleRouter = { sinks: [], original: { log: routed.log, info: routed.info, warn: routed.warn, error: routed.error } };
    const route =
      (level: 'debug' | 'warn'): ((...args: unknown[]) => void) =>
      (...args) => {
        const first = installed.sinks[0];
        if (!first) return;
        const text = args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : '')).join(' ');
        const sharedThread = installed.sinks.length > 1;
        if (first.decryptErrors.offer(text, sharedThread ? { sharedThread } : undefined)) return;
        // Never the arguments themselves: libsignal passes session records (key material).
        first.logger[level]({ console: text.slice(0, 200), ...(sharedThread ? { sharedThread } : {}) }, 'console output in the session thread');
      };
    routed.log = route('debug');
    routed.info = route('debug');
    routed.warn = route('warn');
    routed.error = route('warn');
    routed[ROUTER] = installed;
    router = installed;
  }
  const sinks = router.sinks;
  sinks.push(sink);
  const original = router.original;
  return () => {
    const index = sinks.indexOf(sink);
    if (index < 0) return;
    sinks.splice(index, 1);
    if (sinks.length > 0) return;
    Object.assign(routed, original);
    delete routed[ROUTER];
  };
}

function describe(object: unknown, message: string | undefined): string {
  const parts: string[] = [];
  if (typeof object === 'string') parts.push(object);
  if (message) parts.push(message);
  if (object && typeof object === 'object') {
    const err = (object as { err?: unknown; error?: unknown }).err ?? (object as { error?: unknown }).error;
    if (err instanceof Error) parts.push(err.message);
    else if (typeof err === 'string') parts.push(err);
  }
  return parts.join(' ');
}
