import { describe, expect, it } from 'vitest';
import { baileysLogger, DecryptErrorLog, routeConsole } from '../../actors/whatsapp/decrypt-error-log.js';
import { captureLogger } from '../support/logger.js';

describe('Bad MAC and decrypt errors', () => {
  it('are all counted but logged at most N per window, then one line says how many were held back', () => {
    const { logger, lines } = captureLogger('debug');
    let now = 0;
    const log = new DecryptErrorLog(logger, () => now, { perWindow: 3, windowMs: 60_000 });
    const baileys = baileysLogger(logger, log);
    for (let i = 0; i < 10_000; i++) baileys.error({ err: new Error('Bad MAC'), key: { id: `m${i}` } }, 'failed to decrypt message');
    for (let i = 0; i < 500; i++) baileys.warn({ err: new Error('No matching sessions found for message') }, 'failed to decrypt message');
    expect(log.counts).toEqual({ badMac: 10_000, decrypt: 500, suppressed: 10_497 });
    expect(lines()).toHaveLength(3);
    now = 60_000;
    baileys.error({ err: new Error('Bad MAC') }, 'failed to decrypt message');
    const after = lines().map((line) => JSON.parse(line) as { msg: string; suppressed?: number });
    expect(after).toHaveLength(5);
    expect(after[3]).toMatchObject({ msg: 'decrypt errors held back in the last window', suppressed: 10_497 });
    // Everything else Baileys logs passes through untouched.
    baileys.child({ class: 'socket' }).info({ x: 1 }, 'connected to WA');
    expect(lines().at(-1)).toContain('connected to WA');
  });

  it("route libsignal's console output in the session thread through the limiter, never printing its arguments", () => {
    const { logger, lines } = captureLogger('debug');
    const log = new DecryptErrorLog(logger, () => 0, { perWindow: 1, windowMs: 60_000 });
    const target = { console: { ...console } as Console };
    const restore = routeConsole(target, { logger, decryptErrors: log });
    for (let i = 0; i < 100; i++) target.console.error('Session error:Error: Bad MAC', 'Error: Bad MAC\n    at stack');
    target.console.info('Closing session:', { privKey: 'key-material-must-not-leak' });
    expect(log.counts.badMac).toBe(100);
    expect(lines()).toHaveLength(2);
    expect(lines().join('\n')).not.toContain('key-material-must-not-leak');
    restore();
    expect(target.console.error).toBe(console.error);
  });

  it('sessions sharing a thread share one router: the storm stays bounded, lines are marked shared, and console comes back when the last leaves', () => {
    const first = captureLogger('debug');
    const second = captureLogger('debug');
    const firstLog = new DecryptErrorLog(first.logger, () => 0, { perWindow: 2, windowMs: 60_000 });
    const secondLog = new DecryptErrorLog(second.logger, () => 0, { perWindow: 2, windowMs: 60_000 });
    const target = { console: { ...console } as Console };
    const leaveFirst = routeConsole(target, { logger: first.logger, decryptErrors: firstLog });
    const routedError = target.console.error;
    const leaveSecond = routeConsole(target, { logger: second.logger, decryptErrors: secondLog });
    expect(target.console.error).toBe(routedError);
    for (let i = 0; i < 50; i++) target.console.error('Session error:Error: Bad MAC');
    expect(firstLog.counts.badMac + secondLog.counts.badMac).toBe(50);
    expect(first.lines().length + second.lines().length).toBe(2);
    expect(first.lines()[0]).toContain('"sharedThread":true');
    leaveFirst();
    // The one left owns the thread's console again, unmarked.
    target.console.error('Session error:Error: Bad MAC');
    expect(secondLog.counts.badMac).toBe(1);
    leaveSecond();
    expect(target.console.error).toBe(console.error);
    leaveSecond();
    expect(target.console.error).toBe(console.error);
  });
});
