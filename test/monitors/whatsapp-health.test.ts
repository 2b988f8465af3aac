import { describe, expect, it } from 'vitest';
import { DecryptRate } from '../../actors/monitors/whatsapp/decrypt-rate.js';
import { classifyDecrypt, classifySession, escalationAt, type SessionView } from '../../actors/monitors/whatsapp/session-health.js';

const thresholds = { waDownAlertMs: 60_000, decryptErrorsWarnPerMinute: 60 };
const T0 = 1_700_000_000_000;
const view = (patch: Partial<SessionView>): SessionView => ({ id: 'salon1', status: 'open', lastCloseCode: null, alert: null, downSince: undefined, decryptErrorsPerMinute: 0, ...patch });

describe("a WhatsApp session's check", () => {
  it('is ok when open', () => {
    expect(classifySession(view({}), T0, thresholds)).toMatchObject({
      status: 'ok',
      message: 'session salon1 is open',
      data: { status: 'open', lastCloseCode: null, downSinceMs: null, downForMs: 0, decryptErrorsPerMinute: 0 },
    });
  });

  it.each(['connecting', 'reconnecting', 'pairing', 'awaiting_pairing'] as const)('warns while %s for less than WA_DOWN_ALERT_MS, then is critical', (status) => {
    const down = view({ status, lastCloseCode: 428, downSince: T0 });
    expect(classifySession(down, T0 + 59_999, thresholds)).toMatchObject({ status: 'warn', message: `session salon1 is ${status} (not open for 59 s, last close 428)` });
    expect(classifySession(down, T0 + 62_000, thresholds)).toMatchObject({
      status: 'critical',
      message: `session salon1 not open for 62 s (${status}, last close 428)`,
      data: { status, lastCloseCode: 428, downSinceMs: T0, downForMs: 62_000 },
    });
    expect(escalationAt(down, thresholds)).toBe(T0 + 60_000);
  });

  it('is critical at once when halted or given up, with the alert text', () => {
    for (const status of ['logged_out', 'forbidden', 'multidevice_mismatch', 'replaced', 'gave_up'] as const) {
      const halted = view({ status, downSince: T0, alert: `${status} alert` });
      expect(classifySession(halted, T0, thresholds)).toMatchObject({ status: 'critical', message: `session salon1: ${status} alert` });
      expect(escalationAt(halted, thresholds)).toBeUndefined();
    }
    expect(classifySession(view({ status: 'logged_out', downSince: T0 }), T0, thresholds).message).toBe('session salon1 is logged_out');
  });

  it('says so when the gateway has never answered', () => {
    const unknown = view({ status: 'unknown', downSince: T0 });
    expect(classifySession(unknown, T0 + 1_000, thresholds)).toMatchObject({ status: 'warn', message: 'session salon1 is of unknown status (not open for 1 s)' });
    expect(classifySession(unknown, T0 + 60_000, thresholds)).toMatchObject({ status: 'critical', message: 'session salon1 not open for 60 s (status unknown: its gateway has not answered)' });
  });

  it('warns on a decrypt-error rate at the threshold in a check of its own, whatever the session status', () => {
    expect(classifyDecrypt(view({ decryptErrorsPerMinute: 59 }), T0, thresholds).status).toBe('ok');
    expect(classifyDecrypt(view({ decryptErrorsPerMinute: 60 }), T0, thresholds)).toMatchObject({ status: 'warn', message: 'session salon1: 60 decrypt errors per minute (warning at 60)', data: { decryptErrorsPerMinute: 60 } });
    expect(classifySession(view({ decryptErrorsPerMinute: 500 }), T0, thresholds).status).toBe('ok');
    expect(classifySession(view({ status: 'reconnecting', downSince: T0, decryptErrorsPerMinute: 500 }), T0 + 1_000, thresholds).message).toBe('session salon1 is reconnecting (not open for 1 s)');
    expect(classifyDecrypt(view({ status: 'reconnecting', downSince: T0, decryptErrorsPerMinute: 500 }), T0 + 1_000, thresholds).status).toBe('warn');
  });
});

describe('the decrypt-error rate', () => {
  it('is the growth of the counter over the last minute, scaled to a minute', () => {
    const rate = new DecryptRate();
    expect(rate.perMinute()).toBe(0);
    rate.record(T0, 1_000);
    expect(rate.perMinute()).toBe(0);
    rate.record(T0 + 10_000, 1_100);
    expect(rate.perMinute()).toBe(600);
    for (let i = 2; i <= 12; i++) rate.record(T0 + i * 10_000, 1_100);
    // A minute of no new errors: the storm is over.
    expect(rate.perMinute()).toBe(0);
    expect(rate.size).toBeLessThanOrEqual(8);
  });

  it('starts again from zero when the counter goes down (the gateway restarted)', () => {
    const rate = new DecryptRate();
    rate.record(T0, 5_000);
    rate.record(T0 + 10_000, 30);
    expect(rate.perMinute()).toBe(180);
  });

  it('stays bounded however long it runs', () => {
    const rate = new DecryptRate();
    for (let i = 0; i < 100_000; i++) rate.record(T0 + i * 1_000, i * 2);
    expect(rate.size).toBeLessThanOrEqual(62);
    expect(rate.perMinute()).toBe(120);
  });
});
