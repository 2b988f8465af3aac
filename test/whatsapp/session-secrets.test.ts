import { BufferJSON, DisconnectReason, initAuthCreds } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { CREDS } from '../../actors/whatsapp/auth-store.js';
import { ADMIN_TOKEN, post, startFakeSession, type FakeSession } from '../support/fake-session-runtime.js';
import { captureLogger } from '../support/logger.js';
import { waitFor } from '../support/wait.js';

let session: FakeSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

describe('WhatsApp credentials', () => {
  it('never appear in logs, health output, /sessions or /metrics, through pairing, traffic and a logout', async () => {
    const creds = initAuthCreds();
    const secrets = [creds.noiseKey.private, creds.signedIdentityKey.private, creds.signedPreKey.keyPair.private].map((key) => Buffer.from(key).toString('base64'));
    secrets.push(creds.advSecretKey);
    const { logger, text } = captureLogger('trace');
    session = await startFakeSession({
      logger,
      env: { LOG_LEVEL: 'trace' },
      seedAuth: (store) => store.write(new Map([[CREDS, JSON.stringify(creds, BufferJSON.replacer)]])),
    });
    session.fake.current.showQr();
    await session.open();
    await post(`${session.base}/sessions/s1/send`, { to: '79161234567', text: 'hi' });
    await waitFor(() => session?.fake.sent.length === 1, 5_000, 'sent');
    session.fake.current.closeWith(DisconnectReason.loggedOut);
    await waitFor(async () => (await session?.info())?.status === 'logged_out', 5_000, 'logged_out');
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const outputs = await Promise.all(
      ['/health', '/health/extended', '/health/tree', '/sessions', '/sessions/s1', '/metrics', '/sessions/s1/qr'].map(async (path) => (await fetch(`${session?.base}${path}`, { headers: auth })).text()),
    );
    const everything = [...outputs, text()].join('\n');
    expect(everything).toContain('logged_out');
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(everything).not.toContain(ADMIN_TOKEN);
  });
});
