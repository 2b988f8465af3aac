import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { testConfig } from '../support/config.js';
import { Runtime } from '../../src/runtime.js';
import { silentLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'admin-token-7f3c9a1be2d44c0e';

let runtime: Runtime | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await runtime?.shutdown();
  runtime = undefined;
});

async function start(env: Record<string, string> = {}) {
  runtime = new Runtime({
    // A long window: nothing is flushed while a test looks at the pending messages.
    loaded: testConfig({ PORT: '0', BATCH_WINDOW_MS: '60000', BATCH_MAX_AGE_MS: '120000', METRICS_PROCESS: 'false', ...env }),
    logger: silentLogger(),
    handlerRunner: () => new InlineRunner(() => undefined),
  });
  await runtime.start();
  const address = await runtime.httpAddress();
  if (!address) throw new Error('http did not bind');
  return { base: `http://127.0.0.1:${address.port}`, port: address.port };
}

const post = (base: string, body: unknown) =>
  fetch(`${base}/webhook/whatsapp/batched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const drop = async (base: string, phone: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${base}/webhook/whatsapp/batched/${phone}`, { method: 'DELETE', headers });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
};

const pendingMessages = async (base: string): Promise<number> => {
  const body = (await (await fetch(`${base}/webhook/whatsapp/batched/stats`)).json()) as { stats: { pendingMessages: number } };
  return body.stats.pendingMessages;
};

/**
 * One raw TCP connection speaking HTTP/1.1 keep-alive, so a test decides exactly how many
 * connections are open (fetch pools its own) and sees a refused one as what it is: a close.
 */
class RawConnection {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  #buffer = '';
  #onData: (() => void) | undefined;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    sockets.push(this.socket);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#onData?.();
    });
    // A refused connection may be reset rather than closed: both are a close here.
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** Sends a GET and resolves with the response's status line, or undefined when the server closes first. */
  async get(path: string): Promise<string | undefined> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
    const response = await Promise.race([this.#response(), this.closed.then(() => undefined)]);
    return response?.split('\r\n')[0];
  }

  #response(): Promise<string> {
    return new Promise((resolve) => {
      const check = () => {
        const end = this.#buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(this.#buffer.slice(0, end))?.[1] ?? 0);
        if (this.#buffer.length < end + 4 + length) return;
        const response = this.#buffer.slice(0, end + 4 + length);
        this.#buffer = this.#buffer.slice(end + 4 + length);
        this.#onData = undefined;
        resolve(response);
      };
      this.#onData = check;
      check();
    });
  }
}

describe('DELETE /webhook/whatsapp/batched/:phone needs the admin token', () => {
  it('answers 401 without a token or with a wrong one, keeping the messages; with the token it drops them', async () => {
    const { base } = await start({ ADMIN_TOKEN: TOKEN });
    expect((await post(base, { phone: '79161234567', message: 'one' })).status).toBe(202);
    expect((await post(base, { phone: '79161234567', message: 'two' })).status).toBe(202);
    expect(await pendingMessages(base)).toBe(2);

    const missing = await drop(base, '79161234567');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: 'Unauthorized', code: 'WAR_ERR_UNAUTHORIZED', message: expect.stringContaining('missing bearer token') });
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await drop(base, '79161234567', { authorization: 'Bearer not-the-admin-token-at-all' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'Unauthorized', code: 'WAR_ERR_UNAUTHORIZED', message: 'wrong admin token' });
    // The same answer as an /admin route gives: one check, one shape.
    const admin = await fetch(`${base}/admin/dead-letters`, { headers: { authorization: 'Bearer not-the-admin-token-at-all' } });
    expect({ status: admin.status, body: await admin.json() }).toEqual({ status: wrong.status, body: wrong.body });
    expect(await pendingMessages(base)).toBe(2);

    const dropped = await drop(base, '79161234567', { authorization: `Bearer ${TOKEN}` });
    expect(dropped).toMatchObject({ status: 200, body: { success: true, phone: '79161234567', deleted: 2 } });
    expect(await pendingMessages(base)).toBe(0);
  });

  it('answers 403 and says why while ADMIN_TOKEN is unset, as the admin routes do', async () => {
    const { base } = await start();
    expect((await post(base, { phone: '79161234567', message: 'one' })).status).toBe(202);
    const refused = await drop(base, '79161234567', { authorization: `Bearer ${TOKEN}` });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: 'Forbidden', code: 'WAR_ERR_ADMIN_DISABLED', message: expect.stringContaining('ADMIN_TOKEN is not set') });
    expect(await pendingMessages(base)).toBe(1);
  });
});

describe('HTTP edge limits', () => {
  it('cuts a request whose body trickles in at HTTP_BODY_TIMEOUT_MS, with a 408, and keeps serving', async () => {
    const { base, port } = await start({ HTTP_BODY_TIMEOUT_MS: '500' });
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (chunk: string) => (answer += chunk));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));

    const sentAt = Date.now();
    socket.write('POST /webhook/whatsapp/batched HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    // A byte every 200 ms: the connection is never idle, only slow.
    const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
    try {
      const closedAt = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 10_000))]);
      const elapsed = closedAt - sentAt;
      expect(elapsed).toBeGreaterThanOrEqual(400);
      expect(elapsed).toBeLessThan(5_000);
    } finally {
      clearInterval(trickle);
    }
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'Request Timeout', code: 'WAR_ERR_REQUEST_TIMEOUT', message: expect.any(String) });
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
  });

  it('refuses connections beyond HTTP_MAX_CONNECTIONS while the open ones keep working, and serves a new one once one closes', async () => {
    const { port } = await start({ HTTP_MAX_CONNECTIONS: '2', HTTP_KEEP_ALIVE_TIMEOUT_MS: '60000' });
    const first = new RawConnection(port);
    const second = new RawConnection(port);
    expect(await first.get('/health/live')).toBe('HTTP/1.1 200 OK');
    expect(await second.get('/health/live')).toBe('HTTP/1.1 200 OK');

    // Both are now idle keep-alive connections holding the two slots.
    const third = new RawConnection(port);
    expect(await third.get('/health/live')).toBeUndefined();
    await third.closed;

    expect(await first.get('/health/live')).toBe('HTTP/1.1 200 OK');
    expect(await second.get('/health/live')).toBe('HTTP/1.1 200 OK');

    first.socket.end();
    await first.closed;
    // The server counts the slot free once its side of the socket has closed too.
    await waitFor(async () => {
      const next = new RawConnection(port);
      const status = await next.get('/health/live');
      if (status === undefined) return false;
      return status === 'HTTP/1.1 200 OK';
    }, 10_000, 'a new connection to be served');
    expect(await second.get('/health/live')).toBe('HTTP/1.1 200 OK');
  });
});

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('HTTP edge config', () => {
  it('has the documented defaults', () => {
    const { config, effective } = loadConfig({});
    expect(config.http).toEqual({ bodyTimeoutMs: 10_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000, maxConnections: 1_024 });
    expect(effective).toMatchObject({ HTTP_BODY_TIMEOUT_MS: 10_000, HTTP_HEADERS_TIMEOUT_MS: 10_000, HTTP_KEEP_ALIVE_TIMEOUT_MS: 72_000, HTTP_MAX_CONNECTIONS: 1_024 });
  });

  it.each([
    ['HTTP_BODY_TIMEOUT_MS', 'soon', /HTTP_BODY_TIMEOUT_MS must be an integer between 100 and 3600000, got "soon"/],
    ['HTTP_BODY_TIMEOUT_MS', '0', /HTTP_BODY_TIMEOUT_MS must be between 100 and 3600000, got 0/],
    ['HTTP_HEADERS_TIMEOUT_MS', '1.5', /HTTP_HEADERS_TIMEOUT_MS must be an integer/],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', '-1', /HTTP_KEEP_ALIVE_TIMEOUT_MS must be between 100 and/],
    ['HTTP_MAX_CONNECTIONS', 'lots', /HTTP_MAX_CONNECTIONS must be an integer between 0 and 1000000, got "lots"/],
    ['HTTP_MAX_CONNECTIONS', '-1', /HTTP_MAX_CONNECTIONS must be between 0 and 1000000, got -1/],
  ])('names %s when its value is bad (%s)', (name, value, problem) => {
    expect(problemsOf({ [name]: value })).toMatch(problem);
  });

  it('refuses a headers timeout longer than the body timeout, naming both', () => {
    expect(problemsOf({ HTTP_BODY_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '2000' })).toMatch(
      /HTTP_HEADERS_TIMEOUT_MS must be at most HTTP_BODY_TIMEOUT_MS \(1000\), got 2000/,
    );
  });

  it('lets an unset headers timeout follow a shorter body timeout, and takes 0 as no connection cap', () => {
    const { config, effective } = loadConfig({ HTTP_BODY_TIMEOUT_MS: '500', HTTP_MAX_CONNECTIONS: '0' });
    expect(config.http).toMatchObject({ bodyTimeoutMs: 500, headersTimeoutMs: 500, maxConnections: 0 });
    expect(effective.HTTP_HEADERS_TIMEOUT_MS).toBe(500);
  });
});
