import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalisePath, parseCommand, validateCommand } from '../../actors/ops-bot/commands.js';
import { parseDuration } from '../../src/operations/human-units.js';
import { Confirmations } from '../../actors/ops-bot/confirmations.js';
import { escapeHtml, MESSAGE_BUDGET, paginate, TELEGRAM_MESSAGE_LIMIT } from '../../actors/ops-bot/render.js';

describe('parseCommand', () => {
  it('takes each command, /cmd@thisbot, and refuses what does not fit with its usage', () => {
    expect(parseCommand('/status')).toEqual({ type: 'command', command: { kind: 'status' } });
    expect(parseCommand('/STATUS@Ops_Bot', 'ops_bot')).toEqual({ type: 'command', command: { kind: 'status' } });
    expect(parseCommand('/status@other_bot', 'ops_bot')).toEqual({ type: 'other_bot', name: 'status' });
    expect(parseCommand('/logs')).toEqual({ type: 'command', command: { kind: 'logs', limit: 50 } });
    expect(parseCommand('/logs 5000')).toEqual({ type: 'command', command: { kind: 'logs', limit: 5000 } });
    expect(parseCommand('/logs 5001')).toMatchObject({ type: 'usage', name: 'logs' });
    expect(parseCommand('/logs -1')).toMatchObject({ type: 'usage', name: 'logs' });
    expect(parseCommand('/restart http/')).toEqual({ type: 'command', command: { kind: 'restart', path: '/http' } });
    expect(parseCommand('/restart')).toMatchObject({ type: 'usage', name: 'restart' });
    expect(parseCommand('/restart /a /b')).toMatchObject({ type: 'usage', name: 'restart' });
    expect(parseCommand('/restart /a//b')).toMatchObject({ type: 'usage', name: 'restart' });
    expect(parseCommand('/recover batches')).toEqual({ type: 'command', command: { kind: 'recover', request: { type: 'batches' } } });
    expect(parseCommand('/recover all')).toEqual({ type: 'command', command: { kind: 'recover', request: { type: 'all' } } });
    expect(parseCommand('/recover company 962302')).toEqual({ type: 'command', command: { kind: 'recover', request: { type: 'company', company: '962302' } } });
    expect(parseCommand('/recover whatsapp salon1')).toEqual({ type: 'command', command: { kind: 'recover', request: { type: 'whatsapp', sessionId: 'salon1', mode: 'reconnect' } } });
    expect(parseCommand('/recover whatsapp salon1 --repair')).toMatchObject({ command: { request: { mode: 'repair' } } });
    expect(parseCommand('/recover whatsapp salon1 --pair +79161234567')).toMatchObject({ command: { request: { mode: 'pair', phone: '79161234567' } } });
    expect(parseCommand('/recover whatsapp salon1 --repair --pair')).toMatchObject({ type: 'usage' });
    expect(parseCommand('/recover whatsapp salon1 --rm')).toMatchObject({ type: 'usage' });
    expect(parseCommand('/recover whatsapp')).toMatchObject({ type: 'usage' });
    expect(parseCommand('/recover batches now')).toMatchObject({ type: 'usage' });
    expect(parseCommand('/recover redis')).toMatchObject({ type: 'usage' });
    expect(parseCommand('/silence whatsapp session down 2h maintenance window')).toEqual({
      type: 'command',
      command: { kind: 'silence', matchers: [{ name: 'rule', value: 'whatsapp session down' }], durationMs: 7_200_000, comment: 'maintenance window' },
    });
    expect(parseCommand('/silence session=~salon.* 30m')).toMatchObject({ command: { matchers: [{ name: 'session', value: 'salon.*', isRegex: true }], durationMs: 1_800_000 } });
    expect(parseCommand('/silence 2h')).toMatchObject({ type: 'usage', name: 'silence' });
    expect(parseCommand('/silence rule')).toMatchObject({ type: 'usage', name: 'silence' });
    expect(parseCommand('/status now')).toMatchObject({ type: 'usage' });
    expect(parseCommand('/rm -rf /')).toEqual({ type: 'unknown', name: 'rm' });
    expect(parseCommand('hello')).toEqual({ type: 'not_command' });
    expect(parseCommand('/start')).toEqual({ type: 'command', command: { kind: 'help' } });
  });

  it('durations and paths', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('0m')).toBeUndefined();
    expect(parseDuration('soon')).toBeUndefined();
    expect(normalisePath('/')).toBe('/');
    expect(normalisePath('whatsapp/salon1/')).toBe('/whatsapp/salon1');
    expect(normalisePath('/a\u0000b')).toBeUndefined();
  });

  it('validates against the tree, the sessions and the companies', () => {
    const scope = { hasPath: (path: string) => path === '/http', sessions: ['salon1'], companies: ['962302'] };
    expect(validateCommand({ kind: 'restart', path: '/http' }, scope)).toBeUndefined();
    expect(validateCommand({ kind: 'restart', path: '/nope' }, scope)).toContain('no actor at /nope');
    expect(validateCommand({ kind: 'restart', path: '/' }, scope)).toContain('root cannot be restarted');
    expect(validateCommand({ kind: 'recover', request: { type: 'whatsapp', sessionId: 'x' } }, scope)).toContain('no session "x"');
    expect(validateCommand({ kind: 'recover', request: { type: 'company', company: '1' } }, scope)).toContain('no company "1"');
    expect(validateCommand({ kind: 'recover', request: { type: 'company', company: '962302' } }, scope)).toBeUndefined();
  });
});

describe('paginate', () => {
  const unescape = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

  it('every message, escaped and wrapped, stays within the budget, split at line boundaries, nothing lost', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', '&', '<', '>', ' ', 'é', '😀'), maxLength: 9_000 }), { maxLength: 60 }), fc.boolean(), (lines, pre) => {
        const messages = paginate({ header: '<b>head</b>', lines, pre });
        for (const message of messages) expect(message.length).toBeLessThanOrEqual(MESSAGE_BUDGET);
        expect(MESSAGE_BUDGET).toBeLessThan(TELEGRAM_MESSAGE_LIMIT);
        const bodies = messages.map((message, index) => {
          let body = index === 0 ? message.replace(/^<b>head<\/b>\n?/, '') : message;
          if (pre && body.length > 0) {
            expect(body.startsWith('<pre>') && body.endsWith('</pre>')).toBe(true);
            body = body.slice(5, -6);
          }
          expect(body).not.toMatch(/<(?!\/?pre>)/);
          return unescape(body);
        });
        const nonEmpty = bodies.filter((body, index) => !(index === 0 && body === '' && lines.length === 0));
        // Long lines are cut into pieces that join back up; otherwise lines are whole.
        expect(nonEmpty.join('\n').replace(/\n/g, '')).toBe(lines.join('').replace(/\n/g, ''));
      }),
      { numRuns: 60 },
    );
  });

  it('cuts a line longer than a message into pieces, never inside an escape', () => {
    const messages = paginate({ lines: ['&'.repeat(10_000), 'short'], pre: true });
    expect(messages.length).toBe(13);
    expect(messages.join('').match(/&amp;/g)).toHaveLength(10_000);
    expect(messages.at(-1)).toContain('short');
    for (const message of messages) {
      expect(message.length).toBeLessThanOrEqual(MESSAGE_BUDGET);
      expect(message).toMatch(/^<pre>(&amp;)*(\nshort)?<\/pre>$/);
    }
  });

  it('escapes the three characters Telegram requires', () => {
    expect(escapeHtml('<b>&</b>')).toBe('&lt;b&gt;&amp;&lt;/b&gt;');
  });
});

describe('confirmations', () => {
  it('count once, from the asking chat, before they expire', () => {
    const confirmations = new Confirmations<string>({ ttlMs: 1_000 });
    const pending = confirmations.ask('1', 'restart /http', 'restart /http', 0);
    const [confirm, cancel] = confirmations.keyboard(pending).inline_keyboard[0]!.map((button) => (button as { callback_data: string }).callback_data);
    expect(Buffer.byteLength(confirm!)).toBeLessThanOrEqual(64);
    expect(confirmations.press(confirm, '2', 10)).toEqual({ kind: 'foreign' });
    expect(confirmations.press('ok:guessed-nonce-123', '1', 10)).toEqual({ kind: 'expired' });
    expect(confirmations.press('rm -rf', '1', 10)).toEqual({ kind: 'unknown' });
    pending.messageId = 5;
    expect(confirmations.press(confirm, '1', 10, 6)).toEqual({ kind: 'foreign' });
    expect(confirmations.press(confirm, '1', 10, 5)).toMatchObject({ kind: 'confirmed' });
    expect(confirmations.press(confirm, '1', 20, 5)).toEqual({ kind: 'expired' });
    expect(confirmations.press(cancel, '1', 20, 5)).toEqual({ kind: 'expired' });

    const late = confirmations.ask('1', 'x', 'x', 0);
    expect(confirmations.expire(late.nonce, 999)).toBeUndefined();
    expect(confirmations.press(`ok:${late.nonce}`, '1', 1_000)).toEqual({ kind: 'expired' });
    expect(confirmations.size).toBe(0);
  });
});
