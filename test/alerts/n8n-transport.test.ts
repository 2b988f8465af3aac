import { afterEach, describe, expect, it } from 'vitest';
import type { AlertNotification } from '../../actors/alerts/alert.js';
import type { ChannelTransport, SendOutcome } from '../../actors/alerts/channels/channel.js';
import { n8nTransport, type N8nTransportOptions } from '../../actors/alerts/channels/n8n-transport.js';
import { listeningSink } from '../support/n8n-sink.js';
import { freePort } from '../support/net.js';
import { testAlert, testNotification } from '../support/alert-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function notification(id: string): AlertNotification {
  const alert = testAlert({ fingerprint: 'abc123', rule: 'redis down', labels: { check: 'redis' }, summary: 'redis ping failed', startsAt: '2024-05-01T10:03:00.000Z', count: 2 });
  return testNotification([alert], { sentAt: '2024-05-01T10:04:00.000Z', id });
}

function transportFor(options: N8nTransportOptions): ChannelTransport {
  const transport = n8nTransport(options);
  cleanups.push(() => transport.close?.());
  return transport;
}

const send = (transport: ChannelTransport, n: AlertNotification): Promise<SendOutcome> => transport.send(n, new AbortController().signal);

describe('n8n transport (real undici against a local webhook)', () => {
  it('POSTs the notification as JSON with its Idempotency-Key', async () => {
    const { sink, url } = await listeningSink(cleanups);
    const transport = transportFor({ webhookUrl: url });
    expect(await send(transport, notification('n-1'))).toEqual({ kind: 'sent' });
    expect(sink.received).toHaveLength(1);
    const [request] = sink.received;
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe('n-1');
    expect(request?.url).toBe('/hook');
    expect(request?.body).toEqual({
      status: 'firing',
      groupKey: 'redis down',
      alerts: [{ fingerprint: 'abc123', rule: 'redis down', severity: 'critical', labels: { check: 'redis' }, summary: 'redis ping failed', startsAt: '2024-05-01T10:03:00.000Z', endsAt: null }],
      sentAt: '2024-05-01T10:04:00.000Z',
    });
  });

  it('rejects a 4xx with its status and the first 200 characters of its body', async () => {
    const { sink, url } = await listeningSink(cleanups);
    const transport = transportFor({ webhookUrl: url });
    const body = `${'a'.repeat(200)}${'b'.repeat(300)}`;
    sink.failNext(1, 400, { body });
    expect(await send(transport, notification('n-1'))).toEqual({ kind: 'rejected', error: `n8n webhook answered 400: ${'a'.repeat(200)}` });
    sink.failNext(1, 404);
    expect((await send(transport, notification('n-2'))).kind).toBe('rejected');
    // The connection survived both answers: the bodies were read to the end.
    expect(await send(transport, notification('n-3'))).toEqual({ kind: 'sent' });
  });

  it('retries a 5xx and the "not now" 4xx, honouring Retry-After in seconds or as a date, up to 5 minutes', async () => {
    const { sink, url } = await listeningSink(cleanups);
    const now = Date.parse('2024-05-01T10:00:00.000Z');
    const transport = transportFor({ webhookUrl: url, now: () => now });
    sink.failNext(1, 503, { headers: { 'retry-after': '7' } });
    expect(await send(transport, notification('n'))).toEqual({ kind: 'retry', error: 'n8n webhook answered 503: {"ok":false}', afterMs: 7_000 });
    sink.failNext(1, 429, { headers: { 'retry-after': 'Wed, 01 May 2024 10:00:42 GMT' } });
    expect(await send(transport, notification('n'))).toMatchObject({ kind: 'retry', afterMs: 42_000 });
    sink.failNext(1, 503, { headers: { 'retry-after': '86400' } });
    expect(await send(transport, notification('n'))).toMatchObject({ kind: 'retry', afterMs: 300_000 });
    for (const status of [500, 502, 408, 409, 425]) {
      sink.failNext(1, status);
      const outcome = await send(transport, notification('n'));
      expect(outcome.kind, `status ${status}`).toBe('retry');
      expect(outcome).not.toHaveProperty('afterMs');
    }
    expect(sink.attempts.map((attempt) => attempt.headers['idempotency-key'])).toEqual(Array(8).fill('n'));
  });

  it('retries when the webhook is unreachable or too slow, and stops at once when aborted', async () => {
    const port = await freePort();
    const down = transportFor({ webhookUrl: `http://127.0.0.1:${port}/hook` });
    expect(await send(down, notification('n'))).toMatchObject({ kind: 'retry', error: expect.stringContaining('ECONNREFUSED') });

    const { sink, url } = await listeningSink(cleanups);
    const slow = transportFor({ webhookUrl: url, headersTimeoutMs: 200 });
    sink.failNext(1, 'hang');
    const started = Date.now();
    expect(await send(slow, notification('n'))).toMatchObject({ kind: 'retry', error: expect.stringContaining('UND_ERR_HEADERS_TIMEOUT') });
    expect(Date.now() - started).toBeLessThan(5_000);

    sink.failNext(1, 'hang');
    const controller = new AbortController();
    const sending = transportFor({ webhookUrl: url, headersTimeoutMs: 30_000 }).send(notification('n'), controller.signal);
    while (sink.held === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    expect(await sending).toEqual({ kind: 'retry', error: 'aborted' });
  });

  it('keeps the URL query and credentials out of errors, and sends the credentials as Basic auth', async () => {
    const { sink, url } = await listeningSink(cleanups);
    const secretUrl = new URL(url);
    secretUrl.username = 'alerts';
    secretUrl.password = 's3cr3t-pass';
    secretUrl.search = '?token=q-secret-123';
    const transport = transportFor({ webhookUrl: secretUrl.href });
    // A webhook that echoes what it was asked (as error pages do).
    sink.failNext(1, 400, { body: `bad request to ${secretUrl.href} token=q-secret-123` });
    const outcome = await send(transport, notification('n'));
    expect(outcome.kind).toBe('rejected');
    const text = JSON.stringify(outcome);
    for (const secret of ['s3cr3t-pass', 'q-secret-123', secretUrl.href]) expect(text).not.toContain(secret);
    expect(text).toContain('<redacted>');
    expect(sink.attempts[0]?.url).toBe('/hook?token=q-secret-123');
    expect(sink.attempts[0]?.headers.authorization).toBe(`Basic ${Buffer.from('alerts:s3cr3t-pass').toString('base64')}`);

    const port = await freePort();
    const unreachable = transportFor({ webhookUrl: `http://alerts:s3cr3t-pass@127.0.0.1:${port}/hook?token=q-secret-123` });
    const refused = JSON.stringify(await send(unreachable, notification('n')));
    expect(refused).not.toContain('s3cr3t-pass');
    expect(refused).not.toContain('q-secret-123');
  });

  it('sends again after close (a restarted channel actor reuses its transport)', async () => {
    const { sink, url } = await listeningSink(cleanups);
    const transport = transportFor({ webhookUrl: url });
    expect(await send(transport, notification('a'))).toEqual({ kind: 'sent' });
    await transport.close?.();
    expect(await send(transport, notification('b'))).toEqual({ kind: 'sent' });
    expect(sink.received.map((request) => request.headers['idempotency-key'])).toEqual(['a', 'b']);
  });
});
