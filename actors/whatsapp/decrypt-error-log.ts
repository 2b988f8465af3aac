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

/**
 * libsignal reports decrypt failures with console.error (with whole session records via
 * console.info). Inside a session's own worker thread, console belongs to that session, so
 * it is routed here; returns the function that puts console back.
 */
export function routeConsole(target: { console: Console }, logger: Logger, decryptErrors: DecryptErrorLog): () => void {
  const original = { log: target.console.log, info: target.console.info, warn: target.console.warn, error: target.console.error };
  const route =
    (level: 'debug' | 'warn'): ((...args: unknown[]) => void) =>
    (...args) => {
      const text = args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : '')).join(' ');
      if (decryptErrors.offer(text)) return;
      // Never the arguments themselves: libsignal passes session records (key material).
      logger[level]({ console: text.slice(0, 200) }, 'console output in the session thread');
    };
  target.console.log = route('debug');
  target.console.info = route('debug');
  target.console.warn = route('warn');
  target.console.error = route('warn');
  return () => Object.assign(target.console, original);
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
