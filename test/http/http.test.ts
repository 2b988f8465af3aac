import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../support/config.js';
import { Runtime } from '../../src/runtime.js';
import { walkTree, type TreeNode } from '../../supervisor/tree-node.js';
import { captureLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'admin-token-7f3c9a1be2d44c0e';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
});

async function startRuntime(env: Record<string, string> = {}) {
  const capture = captureLogger('debug');
  runtime = new Runtime({ loaded: testConfig({ PORT: '0', ...env }), logger: capture.logger });
  await runtime.start();
  const address = await runtime.httpAddress();
  if (!address) throw new Error('http did not bind');
  const base = `http://127.0.0.1:${address.port}`;
  return { base, logs: capture.text };
}

const getJson = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } }).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
  }));

const NODE_KEYS = ['path', 'kind', 'status', 'restarts', 'lastError', 'nextRestartAt', 'uptimeMs', 'mailbox', 'placement', 'children'];

describe('HTTP contract', () => {
  it('GET /health has the contract fields and real checks', async () => {
    const { base } = await startRuntime();
    const { status, body } = await getJson(`${base}/health`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'healthy', service: 'wa-actor-runtime', health_score: 100 });
    expect(typeof body.version).toBe('string');
    expect(typeof body.uptime_seconds).toBe('number');
    expect(new Date(body.timestamp as string).toISOString()).toBe(body.timestamp);
    expect(body.checks).toMatchObject({ tree: { status: 'ok' }, memory: { status: 'ok' } });
  });

  it('GET /health/tree shows the tree (root, store, pipeline, batchers, recovery, monitors, alerts, http) with every node field', async () => {
    const { base } = await startRuntime();
    const { status, body } = await getJson(`${base}/health/tree`);
    expect(status).toBe(200);
    const tree = body.tree as TreeNode;
    const paths = [...walkTree(tree)].map((node) => node.path);
    expect(paths).toEqual(['/', '/store', '/pipeline', '/batchers', '/recovery', '/monitors', '/monitors/memory', '/monitors/queue', '/monitors/restarts', '/monitors/event-loop', '/alerts', '/alerts/notifier', '/http']);
    for (const node of walkTree(tree)) {
      for (const key of NODE_KEYS) expect(node, `${node.path} lacks ${key}`).toHaveProperty(key);
      expect(node.status).toBe('running');
      expect(Object.keys(node.mailbox).sort()).toEqual(['depth', 'dropped', 'processed']);
    }
    expect(tree.kind).toBe('supervisor');
    const memory = [...walkTree(tree)].find((node) => node.path === '/monitors/memory');
    expect(memory?.detail).toMatchObject({ status: 'ok' });
  });

  it('GET /health/live and /health/ready answer 200 while the tree is up', async () => {
    const { base } = await startRuntime();
    expect((await getJson(`${base}/health/live`)).status).toBe(200);
    expect(await getJson(`${base}/health/ready`)).toEqual({ status: 200, body: { ready: true, reasons: [] } });
  });

  it('GET /health/extended has sessions, totals and the effective config with secrets redacted', async () => {
    const { base } = await startRuntime({ ADMIN_TOKEN: TOKEN, BACKOFF_INITIAL_MS: '1500' });
    const { status, body } = await getJson(`${base}/health/extended`);
    expect(status).toBe(200);
    expect(body.sessions).toEqual({});
    expect(body.totals).toMatchObject({ messages_sent_24h: 0, messages_received_24h: 0, errors_24h: 0, actors: 9 });
    expect(body.config).toMatchObject({ ADMIN_TOKEN: '[redacted]', BACKOFF_INITIAL_MS: 1500, PORT: 0, HOST: '127.0.0.1' });
  });

  it('GET /metrics speaks the Prometheus text format with bounded labels', async () => {
    const { base } = await startRuntime();
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/^runtime_actor_messages_processed_total\{path="\/monitors\/memory"\} [1-9]/m);
    expect(text).toMatch(/^runtime_actors\{status="running"\} 13$/m);
    expect(text).toMatch(/^runtime_health_score 100$/m);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('unknown routes get a JSON 404', async () => {
    const { base } = await startRuntime();
    expect(await getJson(`${base}/nope`)).toEqual({
      status: 404,
      body: { error: 'Not Found', code: 'WAR_ERR_NOT_FOUND', message: 'no route GET /nope' },
    });
  });
});

describe('admin API', () => {
  it('answers 403 with the reason while ADMIN_TOKEN is unset', async () => {
    const { base } = await startRuntime();
    const { status, body } = await post(`${base}/admin/restart`, JSON.stringify({ path: '/monitors/memory' }), { authorization: `Bearer ${TOKEN}` });
    expect(status).toBe(403);
    expect(body.message).toContain('ADMIN_TOKEN is not set');
  });

  it('answers 401 without a token and with a wrong one', async () => {
    const { base } = await startRuntime({ ADMIN_TOKEN: TOKEN });
    const body = JSON.stringify({ path: '/monitors/memory' });
    const missing = await post(`${base}/admin/restart`, body);
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('WAR_ERR_UNAUTHORIZED');
    const wrong = await post(`${base}/admin/restart`, body, { authorization: 'Bearer not-the-token-at-all' });
    expect(wrong.status).toBe(401);
    // Unauthenticated callers learn nothing about the body's validity.
    expect((await post(`${base}/admin/restart`, '{nope')).status).toBe(401);
  });

  it('restarts the actor at {path} with the right token: 200, and the tree counts the restart', async () => {
    const { base } = await startRuntime({ ADMIN_TOKEN: TOKEN });
    const { status, body } = await post(`${base}/admin/restart`, JSON.stringify({ path: '/monitors/memory' }), { authorization: `Bearer ${TOKEN}` });
    expect(status).toBe(200);
    expect(body).toEqual({ ok: true, restarted: '/monitors/memory' });
    const tree = (await getJson(`${base}/health/tree`)).body.tree as TreeNode;
    const memory = [...walkTree(tree)].find((node) => node.path === '/monitors/memory');
    expect(memory).toMatchObject({ status: 'running', restarts: 1 });
  });

  it('restarting the HTTP server itself answers 202, then the server comes back', async () => {
    const { base } = await startRuntime({ ADMIN_TOKEN: TOKEN });
    const { status } = await post(`${base}/admin/restart`, JSON.stringify({ path: '/http' }), { authorization: `Bearer ${TOKEN}` });
    expect(status).toBe(202);
    await waitFor(async () => {
      const address = await runtime?.httpAddress();
      if (!address) return undefined;
      const tree = (await getJson(`http://127.0.0.1:${address.port}/health/tree`)).body.tree as TreeNode;
      return tree.children.find((node) => node.path === '/http')?.restarts === 1;
    });
  });

  const bad: [string, string, RegExp][] = [
    ['malformed JSON', '{"path": ', /not valid JSON/],
    ['an empty body', '', /empty/i],
    ['no path', '{}', /must have required property 'path'/],
    ['a path that is not a string', '{"path": 42}', /path must be string/],
    ['a path without a leading slash', '{"path": "monitors"}', /must match pattern/],
    ['an unknown property', '{"path": "/http", "force": true}', /additional properties/],
  ];
  for (const [what, body, message] of bad) {
    it(`answers 400 for ${what}, saying what was wrong`, async () => {
      const { base } = await startRuntime({ ADMIN_TOKEN: TOKEN });
      const response = await post(`${base}/admin/restart`, body, { authorization: `Bearer ${TOKEN}` });
      expect(response.status).toBe(400);
      expect(response.body.message).toMatch(message);
      expect((await getJson(`${base}/health`)).body.status).toBe('healthy');
    });
  }

  it('answers 404 for a path that is not in the tree and 400 for the root', async () => {
    const { base } = await startRuntime({ ADMIN_TOKEN: TOKEN });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await post(`${base}/admin/restart`, '{"path": "/nowhere"}', auth)).status).toBe(404);
    const root = await post(`${base}/admin/restart`, '{"path": "/"}', auth);
    expect(root.status).toBe(400);
    expect(root.body.message).toContain('root cannot be restarted');
  });
});

describe('secrets', () => {
  it('no secret appears in any health output, in /metrics, or in the log', async () => {
    const { base, logs } = await startRuntime({ ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'trace' });
    await post(`${base}/admin/restart`, JSON.stringify({ path: '/monitors/memory' }), { authorization: `Bearer ${TOKEN}` });
    await post(`${base}/admin/restart`, JSON.stringify({ path: '/monitors/memory' }), { authorization: `Bearer wrong-${TOKEN}` });
    for (const path of ['/health', '/health/live', '/health/ready', '/health/tree', '/health/extended', '/metrics']) {
      const text = await (await fetch(`${base}${path}`)).text();
      expect(text, path).not.toContain(TOKEN);
    }
    await runtime?.shutdown();
    runtime = undefined;
    expect(logs()).not.toContain(TOKEN);
    expect(logs().length).toBeGreaterThan(0);
  });
});
