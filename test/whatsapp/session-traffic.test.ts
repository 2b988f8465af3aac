import { DisconnectReason } from '@whiskeysockets/baileys';
import { baileysCloseError } from '../support/fake-wa-socket.js';
import { afterEach, describe, expect, it } from 'vitest';
import { post, startFakeSession, type FakeSession } from '../support/fake-session-runtime.js';
import { waitFor } from '../support/wait.js';
import { waMessage } from '../support/wa-messages.js';

let session: FakeSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

describe('inbound: messages.upsert through the session into the batchers', () => {
  it('merges a client’s texts into one batch, drops a redelivered id, and counts what it ignores', async () => {
    session = await startFakeSession({ env: { BATCH_WINDOW_MS: '150' } });
    await session.open();
    const first = waMessage({ message: { conversation: 'Запишите на стрижку меня' } });
    session.fake.current.deliver([
      first,
      waMessage({ remoteJid: '120363025246125486@g.us', participant: '79161234567@s.whatsapp.net' }),
      waMessage({ fromMe: true, message: { conversation: 'Здравствуйте!' } }),
      waMessage({ remoteJid: 'status@broadcast' }),
    ]);
    session.fake.current.deliver([first, waMessage({ message: { extendedTextMessage: { text: 'На завтра' } } })]);
    // A client known only by LID, written while the session was offline: WhatsApp hands it
    // over on reconnect as an 'append' upsert, and the phone number is resolved through the socket.
    session.fake.current.deliver([waMessage({ remoteJid: '111222333444555@lid', message: { conversation: 'В 18:00' } })], 'append');
    await waitFor(() => session?.delivered.length === 1 && session.delivered[0], 10_000, 'the batch');
    const batch = session.delivered[0];
    expect(batch).toMatchObject({ sessionId: 's1', phone: '79161234567', text: 'Запишите на стрижку меня На завтра В 18:00' });
    expect(batch?.messages[0]?.id).toBe(first.key.id);
    expect(batch?.messages).toHaveLength(3);
    const info = await session.info();
    expect(info.inbound).toMatchObject({ accepted: 3, duplicates: 1, waiting: 0, ignored: { group: 1, own: 1, status: 1 } });
    expect(info.messages_received_24h).toBe(3);
    expect(info.last_activity).not.toBeNull();
  });
});

describe('shutdown with the memory store', () => {
  it('takes in what the socket received before it closed, then flushes it with reason shutdown', async () => {
    session = await startFakeSession({ env: { BATCH_STORE: 'memory', BATCH_WINDOW_MS: '60000' } });
    await session.open();
    session.fake.current.deliver([waMessage({ message: { conversation: 'Запишите на стрижку меня' } })]);
    session.fake.current.deliver([waMessage({ message: { conversation: 'На завтра' } })]);
    const delivered = session.delivered;
    await session.close();
    session = undefined;
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ reason: 'shutdown', text: 'Запишите на стрижку меня На завтра' });
  });
});

describe('outbound: the per-session send queue', () => {
  it('keeps order across a reconnect and a failed send, retrying with the same message id', async () => {
    session = await startFakeSession({ env: { BACKOFF_INITIAL_MS: '300', BACKOFF_MAX_MS: '1000' } });
    await session.open();
    const send = (text: string) => post(`${session?.base}/sessions/s1/send`, { to: '+7 916 123-45-67', text });
    for (const text of ['1', '2', '3']) expect((await send(text)).status).toBe(202);
    await waitFor(() => session?.fake.sent.length === 3, 5_000, 'three sent');

    session.fake.current.closeWith(DisconnectReason.connectionClosed);
    await waitFor(async () => (await session?.info())?.status === 'reconnecting', 5_000, 'reconnecting');
    const queued = await send('4');
    expect(queued).toMatchObject({ status: 202, body: { queued: true, queueDepth: 1 } });
    await send('5');
    await send('6');
    expect(session.gatewayNode()?.detail).toMatchObject({ status: 'reconnecting', sendQueue: 3 });
    expect((await session.info()).queue).toMatchObject({ depth: 3 });
    expect(session.fake.sent).toHaveLength(3);

    // The next socket opens after the backoff; its first send fails once and is retried.
    session.fake.sendFailures.push(new Error('Connection Closed'));
    await waitFor(() => session?.fake.sockets.length === 2, 5_000, 'the second socket');
    await session.open();
    await waitFor(() => session?.fake.sent.length === 6, 10_000, 'all six sent');
    expect(session.fake.sent.map((sent) => sent.text)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(session.fake.sent.map((sent) => sent.socket)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(new Set(session.fake.sent.map((sent) => sent.messageId)).size).toBe(6);
    expect(session.fake.sent.every((sent) => sent.jid === '79161234567@s.whatsapp.net')).toBe(true);
    expect(queued.body.id).toBe(session.fake.sent[3]?.messageId);
    const triesOf4 = session.fake.attempts.filter((attempt) => attempt.text === '4');
    expect(triesOf4.map((attempt) => attempt.messageId)).toEqual([queued.body.id, queued.body.id]);
    const info = await session.info();
    expect(info).toMatchObject({ messages_sent_24h: 6, queue: { depth: 0, failed: 0 } });
    expect(info.errors_24h).toBe(1);
    const metrics = await (await fetch(`${session.base}/metrics`)).text();
    expect(metrics).toMatch(/^runtime_whatsapp_messages_24h\{session="s1",direction="sent"\} 6$/m);
    expect(metrics).toMatch(/^runtime_whatsapp_session_open\{session="s1"\} 1$/m);
    expect(metrics).toMatch(/^runtime_whatsapp_session_status\{session="s1",status="open"\} 1$/m);
    expect(metrics).toMatch(/^runtime_whatsapp_last_close_code\{session="s1"\} 428$/m);
    expect(metrics).toMatch(/^runtime_whatsapp_send_queue_depth\{session="s1"\} 0$/m);
  });

  it('a send that dies with the connection (Baileys\' 428 Boom) waits for the next socket without using up an attempt', async () => {
    session = await startFakeSession({ env: { WA_SEND_ATTEMPTS: '1', BACKOFF_INITIAL_MS: '200' } });
    await session.open();
    session.fake.sendFailures.push(baileysCloseError(DisconnectReason.connectionClosed));
    await post(`${session.base}/sessions/s1/send`, { to: '79161234567', text: 'survives' });
    await waitFor(() => session?.fake.attempts.length === 1, 5_000, 'the failed attempt');
    session.fake.current.closeWith(DisconnectReason.connectionClosed);
    await waitFor(() => session?.fake.sockets.length === 2, 5_000, 'the next socket');
    await session.open();
    await waitFor(() => session?.fake.sent.length === 1, 5_000, 'sent on the next socket');
    expect(session.fake.sent[0]).toMatchObject({ text: 'survives', socket: 2 });
    expect((await session.info()).queue).toMatchObject({ depth: 0, failed: 0 });
  });

  it('a gateway restarted on its own learns the socket is open and keeps sending', async () => {
    session = await startFakeSession();
    await session.open();
    expect((await post(`${session.base}/admin/restart`, { path: '/whatsapp/s1/gateway' })).status).toBe(200);
    await waitFor(async () => (await session?.info())?.status === 'open', 5_000, 'open again in the new gateway');
    await post(`${session.base}/sessions/s1/send`, { to: '79161234567', text: 'after the restart' });
    await waitFor(() => session?.fake.sent.length === 1, 5_000, 'sent');
    expect(session.fake.sockets).toHaveLength(1);
  });

  it('gives up on a message only after WA_SEND_ATTEMPTS failures, and goes on with the next', async () => {
    session = await startFakeSession({ env: { WA_SEND_ATTEMPTS: '2' } });
    await session.open();
    session.fake.sendFailures.push(new Error('boom 1'), new Error('boom 2'));
    await post(`${session.base}/sessions/s1/send`, { to: '79161234567', text: 'doomed' });
    await post(`${session.base}/sessions/s1/send`, { to: '79161234567', text: 'next' });
    await waitFor(() => session?.fake.sent.length === 1, 10_000, 'the next message');
    expect(session.fake.sent[0]?.text).toBe('next');
    expect((await session.info()).queue).toMatchObject({ depth: 0, failed: 1 });
  });

  it('carries the pipeline’s replies to the client', async () => {
    session = await startFakeSession({ env: { BATCH_WINDOW_MS: '100' }, handle: () => [{ type: 'reply', text: 'Записала вас на завтра в 18:00 к Бари' }] });
    await session.open();
    session.fake.current.deliver([waMessage({ message: { conversation: 'Запишите на завтра в 18:00 к Бари' } })]);
    await waitFor(() => session?.fake.sent.length === 1, 10_000, 'the reply');
    expect(session.fake.sent[0]).toMatchObject({ jid: '79161234567@s.whatsapp.net', text: 'Записала вас на завтра в 18:00 к Бари' });
  });

  it('answers bad input with 400, an unknown session with 404, a full queue with 503, and no token with 401', async () => {
    session = await startFakeSession({ env: { WA_SEND_QUEUE_MAX: '2' } });
    const url = `${session.base}/sessions/s1/send`;
    expect(await post(url, { to: 'call me', text: 'hi' })).toMatchObject({ status: 400, body: { code: 'WAR_ERR_WA_BAD_REQUEST', message: expect.stringMatching(/not a phone number/) } });
    expect(await post(url, { to: '79161234567' })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/text/) } });
    expect(await post(url, { to: '79161234567', text: '  ' })).toMatchObject({ status: 400, body: { message: 'text must have a visible character' } });
    expect(await post(`${session.base}/sessions/nope/send`, { to: '79161234567', text: 'hi' })).toMatchObject({ status: 404, body: { code: 'WAR_ERR_WA_UNKNOWN_SESSION' } });
    expect(await post(url, { to: '79161234567', text: 'hi' }, null)).toMatchObject({ status: 401 });
    // Not open yet: messages wait, up to the bound.
    expect((await post(url, { to: '79161234567', text: 'a' })).status).toBe(202);
    expect((await post(url, { to: '79161234567', text: 'b' })).status).toBe(202);
    const full = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin-token-0123456789' }, body: JSON.stringify({ to: '79161234567', text: 'c' }) });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('5');
    await session.open();
    await waitFor(() => session?.fake.sent.length === 2, 5_000, 'the two queued');
    expect(session.socketNode()?.restarts).toBe(0);
    expect(session.gatewayNode()?.restarts).toBe(0);
  });
});
