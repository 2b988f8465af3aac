import { DisconnectReason } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { CheckResult } from '../../src/health/health-checks.js';
import { startFakeSession, type FakeSession } from '../support/fake-session-runtime.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';

let session: FakeSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

const STEP_MS = 500;

describe('the whatsapp monitor in the runtime, over a real gateway and a socket on a fake WhatsApp', () => {
  it('/health shows whatsapp:s1 from the monitor: ok when open, warn while reconnecting, critical at WA_DOWN_ALERT_MS, ok again when open', async () => {
    const clock = new ManualClock(Date.parse('2026-11-23T12:00:00Z'));
    const s = await startFakeSession({ clock });
    session = s;
    const check = async (): Promise<CheckResult | undefined> => ((await (await fetch(`${s.base}/health`)).json()) as { checks: Record<string, CheckResult> }).checks['whatsapp:s1'];
    expect(nodeAt(s.runtime.system.snapshot(), '/monitors/whatsapp')?.status).toBe('running');

    await s.open();
    await waitFor(async () => (await check())?.status === 'ok', 10_000, 'whatsapp:s1 ok');

    s.fake.current.closeWith(DisconnectReason.connectionClosed);
    const warned = await waitFor(async () => {
      const current = await check();
      return current?.status === 'warn' ? current : undefined;
    }, 10_000, 'whatsapp:s1 warn');
    expect(warned).toMatchObject({ data: { status: 'reconnecting', lastCloseCode: DisconnectReason.connectionClosed } });
    const downSince = Number(warned.data?.downSinceMs);
    expect(downSince).toBe(clock.now());

    // Reconnecting (the socket restarts after its backoff and stays connecting) right up to the limit...
    while (clock.now() < downSince + 60_000 - STEP_MS) {
      await clock.advanceAsync(STEP_MS);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect((await check())?.status).toBe('warn');
    expect(s.fake.sockets.length).toBeGreaterThan(1);
    // ...and critical at it.
    await clock.advanceAsync(STEP_MS);
    const critical = await waitFor(async () => {
      const current = await check();
      return current?.status === 'critical' ? current : undefined;
    }, 10_000, 'whatsapp:s1 critical');
    expect(critical.message).toMatch(/^session s1 not open for 60 s \((connecting|reconnecting), last close 428\)$/);
    expect(critical.since).toBe(new Date(downSince + 60_000).toISOString());

    s.fake.current.open();
    await waitFor(async () => (await check())?.status === 'ok', 10_000, 'whatsapp:s1 ok again');
  });
});
