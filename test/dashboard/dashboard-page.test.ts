import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { createLogger } from '../../src/logging/logger.js';
import { createLogRings } from '../../src/logging/log-ring.js';
import { Runtime } from '../../src/runtime.js';
import { sessionPaths } from '../../src/tree-paths.js';
import { testConfig } from '../support/config.js';
import { ADMIN_TOKEN as FAKE_ADMIN_TOKEN, startFakeSession } from '../support/fake-session-runtime.js';
import { silentLogger } from '../support/logger.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';
import { WaServer } from '../support/wa-server.js';

/**
 * The dashboard page (GET /dashboard) end to end: real headless Chromium (Debian's
 * `chromium`, driven by playwright-core) against a real in-process Runtime. Screenshots of
 * each state go to test-results/dashboard/.
 */

/** The browser's globals as the page.evaluate callbacks below use them (this project compiles without the DOM lib). */
interface PageElement {
  readonly id: string;
  readonly tagName: string;
  readonly textContent: string | null;
  readonly complete?: boolean;
  readonly naturalWidth?: number;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  readonly activeElement: PageElement | null;
  readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number };
};

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-results', 'dashboard');
const TOKEN = 'dashboard-admin-token-7c1e9a4f2b6d';
const LONG = 30_000;

let browser: Browser;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: the dashboard tests drive a real browser. Install Debian's package (apt-get install -y chromium) or point CHROMIUM_PATH at a Chromium binary.`,
    );
  }
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Everything the page did wrong: console errors, uncaught exceptions, failed or refused requests, requests leaving the runtime. */
interface Watch {
  readonly problems: string[];
  readonly requests: string[];
}

async function openPage(base: string, options: { token?: string; width?: number } = {}): Promise<{ page: Page; context: BrowserContext; watch: Watch }> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 900 } });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const watch: Watch = { problems: [], requests: [] };
  const origin = new URL(base).origin;
  page.on('console', (message) => {
    if (message.type() === 'error') watch.problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => watch.problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    watch.requests.push(request.url());
    if (!request.url().startsWith('data:') && !request.url().startsWith('blob:') && new URL(request.url()).origin !== origin) {
      watch.problems.push(`a request outside the runtime: ${request.url()}`);
    }
  });
  page.on('requestfailed', (request) => watch.problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  page.on('response', (response) => {
    if (response.status() >= 400) watch.problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${base}/dashboard`);
  if (options.token) {
    await page.getByLabel('Admin token').fill(options.token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.waitForSelector('#access[data-access="admin"]', { timeout: LONG });
    // The page dropped its anonymous stream on purpose, to follow it again with the token: that one abort is expected.
    const abort = watch.problems.indexOf(`request failed: ${base}/dashboard/events net::ERR_ABORTED`);
    if (abort >= 0) watch.problems.splice(abort, 1);
  }
  return { page, context, watch };
}

const row = (path: string) => `[data-path="${path}"]`;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function startRuntime(env: Record<string, string> = {}, level = 'info') {
  const rings = createLogRings(200);
  const logger = createLogger({ level, rings, destination: { write: () => undefined } });
  const runtime = new Runtime({
    loaded: testConfig({ PORT: '0', ADMIN_TOKEN: TOKEN, METRICS_PROCESS: 'false', ...env }),
    logger,
    logs: rings,
    handlerRunner: () => new InlineRunner(() => undefined),
  });
  await runtime.start();
  cleanups.push(() => runtime.shutdown());
  const address = await runtime.httpAddress();
  return { runtime, logger, base: `http://127.0.0.1:${address?.port}` };
}

describe('the dashboard page in headless Chromium', () => {
  it('loads with no failed request and no console error, shows /monitors/memory running, and fits a 375 px phone', async () => {
    const { base } = await startRuntime();
    const { page, watch } = await openPage(base);
    const memory = page.locator(row('/monitors/memory'));
    await memory.waitFor({ timeout: LONG });
    await page.waitForSelector(`${row('/monitors/memory')}[data-status="running"]`, { timeout: LONG });
    // Status as text, not colour alone.
    await expect(memory.locator('[data-status-text]').textContent()).resolves.toContain('running');
    await page.waitForSelector('#conn[data-conn="live"]', { timeout: LONG });
    await page.waitForSelector('[data-check="memory"]', { timeout: LONG });
    // An uptime counting forward on the page, between frames.
    const uptime = async () => (await memory.locator('[data-uptime]').textContent()) ?? '';
    const before = await uptime();
    await waitFor(async () => (await uptime()) !== before, 10_000, 'the uptime to count forward');
    // Keyboard: Tab reaches the token input (after the skip link); the tree's toggles are real buttons.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token');
    // Collapsible: /monitors folds its children away (by keyboard) and back.
    await page.getByRole('button', { name: 'Collapse /monitors' }).focus();
    await page.keyboard.press('Enter');
    await memory.waitFor({ state: 'hidden', timeout: LONG });
    await page.getByRole('button', { name: 'Expand /monitors' }).click();
    await memory.waitFor({ state: 'visible', timeout: LONG });
    // No admin controls without the token.
    expect(await page.locator(`${row('/monitors/memory')} button.act`).isVisible()).toBe(false);
    await shot(page, '01-loaded');

    // A phone: no horizontal scroll at 375 px.
    const phone = await openPage(base, { width: 375 });
    await phone.page.waitForSelector(`${row('/monitors/memory')}[data-status="running"]`, { timeout: LONG });
    const widths = await phone.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    await shot(phone.page, '02-phone-375');


    expect(watch.problems).toEqual([]);
    expect(phone.watch.problems).toEqual([]);
    // Nothing but the page, its two assets and the stream.
    expect(new Set(watch.requests.map((url) => new URL(url).pathname))).toEqual(new Set(['/dashboard', '/dashboard/app.css', '/dashboard/app.js', '/dashboard/events']));
  });

  it('shows an admin restart made by another client within one second of its answer', async () => {
    const { base, logger } = await startRuntime();
    const { page, watch } = await openPage(base, { token: TOKEN });
    const restarts = page.locator(`${row('/monitors/memory')} [data-restarts]`);
    await page.waitForSelector(`${row('/monitors/memory')}[data-status="running"]`, { timeout: LONG });
    expect(await restarts.textContent()).toBe('0');
    // A token holder sees the restart buttons and the logs.
    expect(await page.getByRole('button', { name: 'Restart /monitors/memory' }).isVisible()).toBe(true);
    logger.warn({ code: 'WAR_ERR_EXAMPLE' }, 'a warning the operator should see');
    await page.locator('#logs li', { hasText: 'a warning the operator should see' }).waitFor({ timeout: LONG });

    const response = await fetch(`${base}/admin/restart`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: '/monitors/memory' }),
    });
    expect(response.status).toBe(200);
    await response.json();
    const answered = Date.now();
    await page.waitForFunction(
      (selector) => document.querySelector(selector)?.textContent === '1',
      `${row('/monitors/memory')} [data-restarts]`,
      { timeout: 1_000, polling: 20 },
    );
    const shownAfterMs = Date.now() - answered;
    process.stdout.write(`dashboard: an admin restart reached the page ${shownAfterMs} ms after its answer\n`);
    expect(shownAfterMs).toBeLessThan(1_000);
    await shot(page, '03-after-admin-restart');

    // The page's own button: confirm, then the operation's result is shown.
    await page.getByRole('button', { name: 'Restart /monitors/queue' }).click();
    await page.waitForSelector('#result[data-result="ok"]', { timeout: LONG });
    expect(await page.locator('#result').textContent()).toContain('Restart /monitors/queue: done');
    await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === '1', `${row('/monitors/queue')} [data-restarts]`, { timeout: LONG });
    await page.getByRole('button', { name: /^Recover batches/ }).click();
    await page.waitForFunction(() => /^Recover batches.*: (done|failed)/.test(document.querySelector('#result')?.textContent ?? ''), undefined, { timeout: LONG });
    expect(await page.locator('#result').getAttribute('data-result')).toBe('ok');
    await shot(page, '04-operation-result');
    expect(watch.problems).toEqual([]);
  });

  it('shows a crash-looping WhatsApp socket as backing_off with a countdown to its next restart', async () => {
    const server = await WaServer.start('drop');
    cleanups.push(() => server.close());
    const authDir = mkdtempSync(join(tmpdir(), 'wa-auth-dash-'));
    cleanups.push(() => rmSync(authDir, { recursive: true, force: true }));
    const { base, runtime } = await startRuntime({
      WA_SESSIONS: 's1',
      WA_WEBSOCKET_URL: server.url,
      WA_AUTH_DIR: authDir,
      BACKOFF_INITIAL_MS: '20000',
      BACKOFF_MAX_MS: '120000',
    }, 'silent');
    const socket = sessionPaths('s1').socket;
    await waitFor(() => nodeAt(runtime.system.snapshot(), socket)?.status === 'backing_off', 60_000, 'the socket backing off');
    const { page, watch } = await openPage(base);
    await page.waitForSelector(`${row(socket)}[data-status="backing_off"]`, { timeout: LONG });
    const countdown = page.locator(`${row(socket)} [data-countdown]`);
    await countdown.waitFor({ timeout: LONG });
    const first = await countdown.textContent();
    expect(first).toMatch(/^restart in \d+ s$/);
    expect(await page.locator(`${row(socket)} [data-status-text]`).textContent()).toContain('backing off');
    expect(await page.locator(`${row(socket)} .error`).textContent()).toContain('WAR_ERR_WA_CLOSED');
    // It counts down on the page.
    await waitFor(async () => (await countdown.textContent()) !== first, 5_000, 'the countdown to move');
    const left = Number(/(\d+) s/.exec((await countdown.textContent()) ?? '')?.[1]);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(25);
    await page.locator('#session-s1').waitFor({ timeout: LONG });
    await shot(page, '05-backing-off');
    expect(watch.problems).toEqual([]);
  }, 120_000);

  it("renders a pairing session's QR as an image for a token holder, and not without the token", async () => {
    const session = await startFakeSession();
    cleanups.push(() => session.close());
    session.fake.current.showQr('2@dashboard-qr-1');
    await waitFor(async () => (await session.info()).status === 'pairing', LONG, 'the session pairing');

    const anonymous = await openPage(session.base);
    await anonymous.page.waitForSelector('#session-s1[data-status="pairing"]', { timeout: LONG });
    await anonymous.page.locator('#qr-s1', { hasText: 'needs the admin token' }).waitFor({ timeout: LONG });
    expect(await anonymous.page.locator('#qr-s1 img').count()).toBe(0);
    await shot(anonymous.page, '06-pairing-without-token');

    const operator = await openPage(session.base, { token: FAKE_ADMIN_TOKEN });
    await operator.page.waitForSelector('#session-s1[data-status="pairing"]', { timeout: LONG });
    const image = operator.page.locator('#qr-s1 img');
    await image.waitFor({ timeout: LONG });
    await operator.page.waitForFunction(() => {
      const img = document.querySelector('#qr-s1 img');
      return img !== null && img.complete === true && (img.naturalWidth ?? 0) > 0;
    }, undefined, { timeout: LONG });
    expect(await image.getAttribute('src')).toMatch(/^blob:/);
    const first = await image.getAttribute('src');
    // Baileys rotates the QR: the page follows.
    session.fake.current.showQr('2@dashboard-qr-2');
    await waitFor(async () => (await image.getAttribute('src')) !== first, LONG, 'the rotated QR');
    await shot(operator.page, '07-pairing-qr');
    // The token went in a header only, never in a URL.
    expect(operator.watch.requests.filter((url) => url.includes(FAKE_ADMIN_TOKEN))).toEqual([]);
    expect(anonymous.watch.problems).toEqual([]);
    expect(operator.watch.problems).toEqual([]);
  });

  it('summarises a batchers supervisor of 10,000 conversations, and searches it', async () => {
    const { base, runtime } = await startRuntime({ BATCH_STORE: 'memory', BATCH_WINDOW_MS: '600000', BATCH_MAX_AGE_MS: '1200000' });
    const conversations = 10_000;
    for (let i = 0; i < conversations; i++) {
      await runtime.ingest.accept({ sessionId: 'default', phone: `7916${String(i).padStart(7, '0')}`, text: `hello ${i}` });
    }
    await waitFor(() => nodeAt(runtime.system.snapshot(), '/batchers')?.children.length === conversations, 60_000, '10,000 batchers');
    const { page, watch } = await openPage(base);
    const summary = page.locator(`${row('/batchers')} [data-dynamic-summary]`);
    await summary.waitFor({ timeout: LONG });
    await page.waitForFunction(
      (n) => document.querySelector('[data-path="/batchers"] [data-dynamic-summary]')?.getAttribute('data-children') === String(n),
      conversations,
      { timeout: LONG },
    );
    expect(await summary.textContent()).toMatch(/10000 children: 10000 running/);
    expect(await page.locator('[data-path]').count()).toBeLessThan(100);
    await page.locator('[data-batching="pendingConversations"]', { hasText: '10000' }).waitFor({ timeout: LONG });
    await shot(page, '08-batchers-summary');

    // Expanded, it is a search box, never 10,000 rows.
    await page.getByRole('button', { name: 'Search children' }).click();
    const search = page.getByLabel('Search conversations');
    await expect(search.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await page.locator('[data-dynamic-count]', { hasText: 'of 10000 matching' }).waitFor({ timeout: LONG });
    expect(await page.locator('[data-child-path]').count()).toBeLessThanOrEqual(50);
    await search.fill('79160009999');
    await page.locator('[data-dynamic-count]', { hasText: 'showing 1 of 1 matching, 10000 in all' }).waitFor({ timeout: LONG });
    expect(await page.locator('[data-child-path]').count()).toBe(1);
    expect(await page.locator('[data-path]').count()).toBeLessThan(100);
    await shot(page, '09-batchers-search');
    expect(watch.problems).toEqual([]);
  }, 180_000);
});

/**
 * A pass-through HTTP proxy in front of the runtime that can cut the page's event stream
 * (as a flaky network would), and records the Last-Event-ID each stream request carried.
 */
async function cuttingProxy(target: string) {
  const streams = new Set<ServerResponse>();
  const lastEventIds: (string | undefined)[] = [];
  const server = createServer((incoming, response) => {
    if ((incoming.url ?? '').startsWith('/dashboard/events')) {
      const header = incoming.headers['last-event-id'];
      lastEventIds.push(typeof header === 'string' ? header : undefined);
      streams.add(response);
      response.on('close', () => streams.delete(response));
    }
    const upstream = request(new URL(incoming.url ?? '/', target), { method: incoming.method, headers: incoming.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    response.on('close', () => upstream.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lastEventIds,
    streams: () => streams.size,
    cut: () => {
      for (const response of streams) response.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the page after its stream breaks', () => {
  it('reconnects after about a second with Last-Event-ID and gets the deltas it missed', async () => {
    const { base: direct } = await startRuntime();
    const proxy = await cuttingProxy(direct);
    cleanups.push(() => proxy.close());
    const { page } = await openPage(proxy.base);
    await page.waitForSelector(`${row('/monitors/memory')}[data-status="running"]`, { timeout: LONG });
    await page.waitForSelector('#conn[data-last-event-id]', { timeout: LONG });
    // Ids are `<boot>-<n>`: the frame number is the part after the dash.
    const frameNumber = (id: string | null | undefined): number => Number(id?.split('-')[1]);
    const seen = frameNumber(await page.locator('#conn').getAttribute('data-last-event-id'));
    expect(proxy.lastEventIds).toEqual([undefined]);

    proxy.cut();
    await page.waitForSelector('#conn[data-conn="reconnecting"]', { timeout: LONG });
    // A change while the page is away (the runtime itself is reached directly).
    const restarted = await fetch(`${direct}/admin/restart`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: '/monitors/memory' }),
    });
    expect(restarted.status).toBe(200);
    const cutAt = Date.now();
    await page.waitForSelector('#conn[data-conn="live"]', { timeout: LONG });
    await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === '1', `${row('/monitors/memory')} [data-restarts]`, { timeout: LONG });
    expect(Date.now() - cutAt).toBeLessThan(10_000);
    expect(proxy.lastEventIds).toHaveLength(2);
    expect(frameNumber(proxy.lastEventIds[1])).toBeGreaterThanOrEqual(seen);
    // Resumed from the ring (the missed deltas), not answered with a fresh snapshot.
    const stats = (await (await fetch(`${direct}/dashboard/stats`)).json()) as { resumed: number; resnapshotted: number; clients: number };
    expect(stats).toMatchObject({ resumed: 1, resnapshotted: 0, clients: 1 });
    await shot(page, '10-after-reconnect');
  });
});

describe('a dashboard behind DASHBOARD_TOKEN', () => {
  it('asks for a token, and follows the stream once one is given', async () => {
    const reader = 'dashboard-reader-token-5e8d1c3b';
    const { base } = await startRuntime({ DASHBOARD_TOKEN: reader });
    const context = await browser.newContext();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    await page.goto(`${base}/dashboard`);
    await page.waitForSelector('#conn[data-conn="unauthorized"]', { timeout: LONG });
    await page.getByLabel('Admin token').fill(reader);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.waitForSelector(`${row('/monitors/memory')}[data-status="running"]`, { timeout: LONG });
    // A reader, not an admin: no buttons, no logs.
    expect(await page.locator('#access').getAttribute('data-access')).toBe('read');
    expect(await page.locator('#logs-section').isVisible()).toBe(false);
    // Kept in sessionStorage: a reload follows the stream again.
    await page.reload();
    await page.waitForSelector(`${row('/monitors/memory')}[data-status="running"]`, { timeout: LONG });
  });
});
