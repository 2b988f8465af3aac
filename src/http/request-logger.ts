import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino';

type Log = (obj: unknown, ...rest: unknown[]) => void;

/**
 * A request's logger that becomes the real one (a child of the server's logger with the
 * request id) only when something is logged through it. fastify gives every request a
 * child logger; with pino's redaction each child costs ~5% of a webhook request, and almost
 * no request ever logs (request logging is off; errors and admin actions do log).
 */
class LazyRequestLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  #real: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #logger(): FastifyBaseLogger {
    this.#real ??= this.#parent.child(this.#bindings, this.#options);
    return this.#real;
  }

  get level(): LevelWithSilentOrString {
    return this.#real?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#logger().level = level;
  }

  fatal(obj: unknown, ...rest: unknown[]): void {
    (this.#logger().fatal as Log)(obj, ...rest);
  }

  error(obj: unknown, ...rest: unknown[]): void {
    (this.#logger().error as Log)(obj, ...rest);
  }

  warn(obj: unknown, ...rest: unknown[]): void {
    (this.#logger().warn as Log)(obj, ...rest);
  }

  info(obj: unknown, ...rest: unknown[]): void {
    (this.#logger().info as Log)(obj, ...rest);
  }

  debug(obj: unknown, ...rest: unknown[]): void {
    (this.#logger().debug as Log)(obj, ...rest);
  }

  trace(obj: unknown, ...rest: unknown[]): void {
    (this.#logger().trace as Log)(obj, ...rest);
  }

  silent(obj: unknown, ...rest: unknown[]): void {
    (this.#logger().silent as Log)(obj, ...rest);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}

/** fastify's `childLoggerFactory`: a lazy child per request (see LazyRequestLogger). */
export function lazyRequestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options);
}
