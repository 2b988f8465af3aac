import { userInfo, hostname } from 'node:os';
import { request } from 'undici';

/** Nothing answered at the URL: the runtime is not running there (exit 3). */
export class UnreachableError extends Error {}

/** The runtime answered with an error: its `{code, message}` (exit 1). */
export class OperationFailedError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export interface AdminClientOptions {
  /** The runtime's base URL, without a trailing '/'. */
  readonly url: string;
  /** ADMIN_TOKEN, from the environment only (a flag would show in `ps`). */
  readonly token: string | undefined;
  readonly timeoutMs: number;
}

export interface Answer<T> {
  readonly status: number;
  readonly body: T;
}

/** Who the CLI says it is, for the runtime's audit (`cli ops@host`). */
function clientName(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container): the host still says where it came from.
  }
  return `cli ${`${user}@${hostname()}`.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 100)}`;
}

/**
 * The admin API as the CLI uses it: JSON in and out, the bearer token, the client header.
 * `accept` lists statuses that are answers rather than failures (GET /admin/health's 503).
 */
export class AdminClient {
  readonly #options: AdminClientOptions;
  readonly #client = clientName();

  constructor(options: AdminClientOptions) {
    this.#options = options;
  }

  get url(): string {
    return this.#options.url;
  }

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, options: { body?: unknown; accept?: readonly number[] } = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { 'x-wa-runtime-client': this.#client, accept: 'application/json' };
    if (this.#options.token) headers.authorization = `Bearer ${this.#options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await request(`${this.#options.url}${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
      });
    } catch (error) {
      const cause = error instanceof Error ? ((error as { code?: string }).code ?? error.message) : String(error);
      throw new UnreachableError(`no runtime answered at ${this.#options.url} (${cause})`);
    }
    const text = await response.body.text();
    let body: unknown = text;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // Not ours (a proxy's page): shown as text.
    }
    const status = response.statusCode;
    if (status >= 400 && !options.accept?.includes(status)) {
      const error = body as { code?: unknown; message?: unknown } | undefined;
      const code = typeof error?.code === 'string' ? error.code : `HTTP_${status}`;
      const message = typeof error?.message === 'string' ? error.message : String(text).slice(0, 200);
      throw new OperationFailedError(status, code, message, body);
    }
    return { status, body: body as T };
  }
}
