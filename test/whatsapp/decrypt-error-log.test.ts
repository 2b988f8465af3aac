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
    const restore = routeConsole(target, logger, log);
    for (let i = 0; i < 100; i++) target.console.error('Session error:Error: Bad MAC', 'Error: Bad MAC\n    at stack');
    target.console.info('Closing session:', { privKey: 'key-material-must-not-leak' });
    expect(log.counts.badMac).toBe(100);
    expect(lines()).toHaveLength(2);
    expect(lines().join('\n')).not.toContain('key-material-must-not-leak');
    restore();
    expect(target.console.error).toBe(console.error);
  });
});
