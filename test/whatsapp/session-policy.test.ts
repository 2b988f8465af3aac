import { DisconnectReason } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { CREDS, HALT, keyName } from '../../actors/whatsapp/auth-store.js';
import { CLEAR_SESSIONS_AFTER_500S } from '../../actors/whatsapp/close-codes.js';
import { ManualClock } from '../../src/clock.js';
import { post, S1, startFakeSession, type FakeSession } from '../support/fake-session-runtime.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';

let session: FakeSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

async function startSession() {
  const clock = new ManualClock(Date.parse('2026-11-23T12:00:00Z'));
  session = await startFakeSession({ clock });
  return { ...session, clock, system: session.runtime.system };
}

type Session = Awaited<ReturnType<typeof startSession>>;

const PATHS = S1;

async function openSession(s: Session): Promise<void> {
  await s.open();
}

/**
 * Moves the manual clock in 500 ms steps, letting real I/O (the auth files) settle between
 * steps, until `done`: one big jump would also run past the start timeout of a socket
 * whose start is still reading its files.
 */
async function advanceUntil(s: Session, done: () => boolean, what: string, maxMs = 300_000): Promise<void> {
  for (let elapsed = 0; !done(); elapsed += 500) {
    if (elapsed > maxMs) throw new Error(`${what} did not happen within ${maxMs} ms of clock`);
    await s.clock.advanceAsync(500);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('the close-code rule, applied by the session actor', () => {
  it.each([
    [DisconnectReason.timedOut, 'timedOut'],
    [DisconnectReason.connectionClosed, 'connectionClosed'],
    [DisconnectReason.badSession, 'badSession'],
    [DisconnectReason.unavailableService, 'unavailableService'],
  ])('%i (%s) restarts the socket after its backoff delay, shown in the tree', async (code, name) => {
    const session = await startSession();
    await openSession(session);
    session.fake.current.closeWith(code);
    await waitFor(() => session.socketNode()?.status === 'backing_off', 5_000, 'backing_off');
    const node = session.socketNode();
    expect(node?.lastError).toMatchObject({ code: 'WAR_ERR_WA_CLOSED', message: `WhatsApp connection closed: ${code} ${name}` });
    expect(node?.nextRestartAt).not.toBeNull();
    const info = await session.info();
    expect(info).toMatchObject({ status: 'reconnecting', lastCloseCode: code, lastCloseReason: name });
    expect(info.nextRetryAt).toBe(node?.nextRestartAt);
    const gateway = nodeAt(session.system.snapshot(), PATHS.gateway);
    expect(gateway?.detail).toMatchObject({ status: 'reconnecting', lastCloseCode: code, nextRetryAt: node?.nextRestartAt });

    // Not before the delay (BACKOFF_INITIAL_MS 3 s, jitter adds up to 20 %)...
    const delayMs = Date.parse(node?.nextRestartAt ?? '') - session.clock.now();
    expect(delayMs).toBeGreaterThanOrEqual(3_000);
    expect(delayMs).toBeLessThanOrEqual(3_600);
    await session.clock.advanceAsync(delayMs - 1);
    expect(session.fake.sockets).toHaveLength(1);
    // ...and at it.
    await session.clock.advanceAsync(1);
    await waitFor(() => session.fake.sockets.length === 2, 5_000, 'a second socket');
    await waitFor(() => session.socketNode()?.status === 'running');
    expect(session.socketNode()?.restarts).toBe(1);
    expect(session.fake.maxLive).toBe(1);
  });

  it('515 (restartRequired) reconnects at once, in place, without a restart', async () => {
    const session = await startSession();
    session.fake.current.showQr();
    session.fake.current.closeWith(DisconnectReason.restartRequired);
    await waitFor(() => session.fake.sockets.length === 2, 5_000, 'an immediate second socket');
    expect(session.socketNode()).toMatchObject({ status: 'running', restarts: 0 });
    await openSession(session);
    expect((await session.info()).lastCloseCode).toBe(515);
    expect(session.fake.maxLive).toBe(1);
  });

  it('401 right after a 515 is retried once; a second 401 logs out and drops the credentials', async () => {
    const session = await startSession();
    const store = session.store();
    session.fake.current.showQr();
    await store.write(new Map([[keyName('pre-key', '1'), '{"x":1}']]));
    session.fake.current.closeWith(DisconnectReason.restartRequired);
    await waitFor(() => session.fake.sockets.length === 2, 5_000, 'the socket after 515');
    session.fake.current.closeWith(DisconnectReason.loggedOut);
    await waitFor(() => session.fake.sockets.length === 3, 5_000, 'the one retry of the 401');
    expect(session.socketNode()?.restarts).toBe(0);
    session.fake.current.closeWith(DisconnectReason.loggedOut);
    await waitFor(async () => (await session.info()).status === 'logged_out', 5_000, 'logged_out');
    const info = await session.info();
    expect(info.alert).toMatch(/paired again/);
    await waitFor(async () => (await store.read(keyName('pre-key', '1'))) === undefined, 5_000, 'the credentials dropped');
    await session.clock.advanceAsync(120_000);
    expect(session.fake.sockets).toHaveLength(3);
    const health = (await (await fetch(`${session.base}/health`)).json()) as { checks: Record<string, { status: string }> };
    expect(health.checks['whatsapp:s1']?.status).toBe('critical');
  });

  it('401 on an established session halts at once (no retry), logged_out', async () => {
    const session = await startSession();
    await openSession(session);
    session.fake.current.closeWith(DisconnectReason.loggedOut);
    await waitFor(async () => (await session.info()).status === 'logged_out', 5_000, 'logged_out');
    await session.clock.advanceAsync(120_000);
    expect(session.fake.sockets).toHaveLength(1);
    expect(session.socketNode()).toMatchObject({ status: 'running', restarts: 0 });
  });

  it.each([
    [DisconnectReason.forbidden, 'forbidden', true],
    [DisconnectReason.multideviceMismatch, 'multidevice_mismatch', false],
    [DisconnectReason.connectionReplaced, 'replaced', true],
  ])('%i halts as %s, alerted, and never reconnects by itself (credentials kept: %s)', async (code, status, keptCredentials) => {
    const session = await startSession();
    await openSession(session);
    await session.store().write(new Map([[CREDS, '{"registered":true}']]));
    session.fake.current.closeWith(code);
    await waitFor(async () => (await session.info()).status === status, 5_000, status);
    expect((await session.info()).alert).toBeTruthy();
    await session.clock.advanceAsync(300_000);
    expect(session.fake.sockets).toHaveLength(1);
    await waitFor(async () => ((await session.store().read(CREDS)) !== undefined) === keptCredentials, 5_000, 'the credentials kept or dropped');
    // The halt is recorded with the auth state: it outlives any restart.
    const marker = await waitFor(() => session.store().read(HALT), 5_000, 'the halt marker');
    expect(JSON.parse(marker)).toMatchObject({ status, code });
    const tree = (await (await fetch(`${session.base}/health/tree`)).json()) as { tree: Parameters<typeof nodeAt>[0] };
    expect(nodeAt(tree.tree, PATHS.gateway)?.detail).toMatchObject({ status, lastCloseCode: code });
  });

  it('a halted session whose socket is restarted (a thread death, an operator) stays down until a pairing request', async () => {
    const session = await startSession();
    await openSession(session);
    session.fake.current.closeWith(DisconnectReason.connectionReplaced);
    await waitFor(async () => (await session.info()).status === 'replaced', 5_000, 'replaced');
    const restart = await post(`${session.base}/admin/restart`, { path: PATHS.socket });
    expect(restart.status).toBe(200);
    await advanceUntil(session, () => (session.socketNode()?.uptimeMs ?? 0) >= 10_000, 'ten seconds of the new incarnation');
    expect(session.fake.sockets).toHaveLength(1);
    expect((await session.info()).status).toBe('replaced');
    expect((await post(`${session.base}/sessions/s1/pair`, {})).status).toBe(200);
    await waitFor(() => session.fake.sockets.length === 2, 5_000, 'the socket after the pairing request');
    await openSession(session);
    expect((await session.info()).alert).toBeNull();
  });

  it.each([['the whole session subtree', '/whatsapp/s1'], ['the gateway alone', '/whatsapp/s1/gateway'], ['all of whatsapp', '/whatsapp']])(
    'a halted session stays halted when %s is restarted',
    async (_what, path) => {
      const session = await startSession();
      await openSession(session);
      session.fake.current.closeWith(DisconnectReason.forbidden);
      await waitFor(async () => (await session.store().read(HALT)) !== undefined, 5_000, 'the halt recorded');
      expect((await post(`${session.base}/admin/restart`, { path })).status).toBe(200);
      await waitFor(async () => (await session.info().catch(() => undefined))?.status === 'forbidden', 5_000, 'forbidden again');
      await advanceUntil(session, () => (nodeAt(session.system.snapshot(), PATHS.socket)?.uptimeMs ?? 0) >= 10_000, 'ten seconds of the restarted socket');
      expect(session.fake.sockets).toHaveLength(1);
      expect((await session.info()).alert).toMatch(/banned or restricted/);
    },
  );

  it('408 while pairing means the QR expired: no reconnect until a new pairing request, then exactly one socket', async () => {
    const session = await startSession();
    session.fake.current.showQr('2@first');
    await waitFor(async () => (await session.info()).status === 'pairing');
    expect(session.qrs).toEqual(['2@first']);
    const qr = await post(`${session.base}/sessions/s1/qr`, {});
    expect(qr.status).toBe(404); // GET only
    const shown = (await (await fetch(`${session.base}/sessions/s1/qr?format=json`, { headers: { authorization: 'Bearer test-admin-token-0123456789' } })).json()) as { qr: string };
    expect(shown.qr).toBe('2@first');
    expect(session.gatewayNode()?.detail).toMatchObject({ status: 'pairing' });
    const auth = { authorization: 'Bearer test-admin-token-0123456789' };
    expect((await fetch(`${session.base}/sessions/s1/qr?format=json`)).status).toBe(401);
    const svg = await fetch(`${session.base}/sessions/s1/qr?format=svg`, { headers: auth });
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(await svg.text()).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const png = await fetch(`${session.base}/sessions/s1/qr`, { headers: { ...auth, accept: 'image/png' } });
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer()).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const text = await fetch(`${session.base}/sessions/s1/qr?format=text`, { headers: auth });
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await text.text()).toMatch(/[█▀▄]/);
    expect((await fetch(`${session.base}/sessions/s1/qr?format=gif`, { headers: auth })).status).toBe(400);
    session.fake.current.closeWith(DisconnectReason.timedOut);
    await waitFor(async () => (await session.info()).status === 'awaiting_pairing', 5_000, 'awaiting_pairing');
    await session.clock.advanceAsync(300_000);
    expect(session.fake.sockets).toHaveLength(1);
    expect((await fetch(`${session.base}/sessions/s1/qr`, { headers: { authorization: 'Bearer test-admin-token-0123456789' } })).status).toBe(404);

    // Two pairing requests at once: single flight, one socket.
    const [first, second] = await Promise.all([post(`${session.base}/sessions/s1/pair`, {}), post(`${session.base}/sessions/s1/pair`, {})]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(session.fake.sockets).toHaveLength(2);
    expect(session.fake.maxLive).toBe(1);
  });

  it(`clears the Signal sessions after ${CLEAR_SESSIONS_AFTER_500S} consecutive 500s, keeping the credentials`, async () => {
    const session = await startSession();
    const store = session.store();
    await store.write(new Map([[CREDS, '{"registered":true}'], [keyName('session', '79161234567.0'), '"s"'], [keyName('pre-key', '7'), '"k"']]));
    for (let round = 1; round <= CLEAR_SESSIONS_AFTER_500S; round++) {
      session.fake.current.closeWith(DisconnectReason.badSession);
      await waitFor(() => session.socketNode()?.status === 'backing_off', 5_000, `backing_off #${round}`);
      if (round < CLEAR_SESSIONS_AFTER_500S) expect(await store.read(keyName('session', '79161234567.0'))).toBe('"s"');
      await advanceUntil(session, () => session.fake.sockets.length === round + 1, `socket #${round + 1}`);
    }
    expect(await store.read(keyName('session', '79161234567.0'))).toBeUndefined();
    expect(await store.read(keyName('pre-key', '7'))).toBe('"k"');
    expect(await store.read(CREDS)).toBe('{"registered":true}');
  });

  it('never has two sockets: close events arriving while a reconnect is under way open one successor', async () => {
    const session = await startSession();
    session.fake.closeDelayMs = 100;
    const first = session.fake.current;
    first.closeWith(DisconnectReason.restartRequired);
    first.closeWith(DisconnectReason.restartRequired);
    await waitFor(() => session.fake.sockets.length === 2, 5_000, 'the successor');
    await openSession(session);
    // A 515 on an open socket, and a pairing request racing the reconnect it causes.
    session.fake.current.closeWith(DisconnectReason.restartRequired);
    const pairing = post(`${session.base}/sessions/s1/pair`, {});
    await waitFor(() => session.fake.sockets.length === 3, 5_000, 'the third socket');
    expect((await pairing).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(session.fake.sockets).toHaveLength(3);
    expect(session.fake.maxLive).toBe(1);
  });

  it('a second 515 before the connection opened backs off instead of reconnecting in a loop', async () => {
    const session = await startSession();
    session.fake.current.closeWith(DisconnectReason.restartRequired);
    await waitFor(() => session.fake.sockets.length === 2, 5_000, 'the immediate reconnect');
    session.fake.current.closeWith(DisconnectReason.restartRequired);
    await waitFor(() => session.socketNode()?.status === 'backing_off', 5_000, 'backing_off');
    expect(session.fake.sockets).toHaveLength(2);
    await advanceUntil(session, () => session.fake.sockets.length === 3, 'the socket after the backoff');
  });

  it('a pairing code by phone number, and 409 once connected', async () => {
    const session = await startSession();
    session.fake.current.showQr();
    const paired = await post(`${session.base}/sessions/s1/pair`, { phone: '+7 916 123-45-67' });
    expect(paired).toEqual({ status: 200, body: { status: 'pairing', code: 'ABCD1234' } });
    expect(session.fake.current.pairingCodeFor).toBe('79161234567');
    await openSession(session);
    const again = await post(`${session.base}/sessions/s1/pair`, { phone: '79161234567' });
    expect(again).toMatchObject({ status: 409, body: { code: 'WAR_ERR_WA_ALREADY_PAIRED' } });
    expect((await post(`${session.base}/sessions/s1/pair`, { phone: 'call me' })).status).toBe(400);
    expect((await post(`${session.base}/sessions/s1/pair`, {}, null)).status).toBe(401);
    // No body at all, with or without a JSON content type, is a pairing request without a phone.
    const auth = { authorization: 'Bearer test-admin-token-0123456789' };
    const bare = await fetch(`${session.base}/sessions/s1/pair`, { method: 'POST', headers: auth });
    const emptyJson = await fetch(`${session.base}/sessions/s1/pair`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' } });
    expect([bare.status, emptyJson.status]).toEqual([409, 409]);
  });
});
