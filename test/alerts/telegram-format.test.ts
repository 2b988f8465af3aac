import { describe, expect, it } from 'vitest';
import type { AlertNotification, AlertView } from '../../actors/alerts/alert.js';
import { escapeHtml, renderTelegram, TELEGRAM_MESSAGE_MAX } from '../../actors/alerts/channels/telegram-format.js';
import { testAlert, testNotification } from '../support/alert-fixtures.js';

function alert(overrides: Partial<AlertView> = {}): AlertView {
  return testAlert({ startsAt: '2024-05-01T10:03:27.512Z', ...overrides });
}

function notification(alerts: AlertView[], overrides: Partial<AlertNotification> = {}): AlertNotification {
  return testNotification(alerts, { groupKey: 'g', sentAt: '2024-05-01T10:04:00.000Z', ...overrides });
}

describe('Telegram message format', () => {
  it('titles a firing group with the number of alerts firing, then one line per alert with labels, summary, first seen and count', () => {
    const parts = renderTelegram(
      notification([
        alert({ labels: { session: 'salon1' } }),
        alert({ fingerprint: 'f2', labels: { session: 'salon2' }, summary: 'session salon2 is not connected', count: 3 }),
        alert({ fingerprint: 'f3', labels: { session: 'salon3' }, status: 'resolved', endsAt: '2024-05-01T10:09:59.000Z' }),
      ]),
    );
    expect(parts).toHaveLength(1);
    const lines = (parts[0] as string).split('\n');
    expect(lines[0]).toBe('<b>[FIRING:2] whatsapp session down</b>');
    expect(lines[1]).toBe('• session=salon1 · session salon1 is not connected · since 2024-05-01T10:03Z');
    expect(lines[2]).toBe('• session=salon2 · session salon2 is not connected · since 2024-05-01T10:03Z ×3');
    expect(lines[3]).toBe('✓ session=salon3 · session salon1 is not connected · since 2024-05-01T10:03Z · resolved 2024-05-01T10:09Z');
  });

  it('titles a resolved group [RESOLVED]', () => {
    const [text] = renderTelegram(notification([alert({ status: 'resolved', endsAt: '2024-05-01T11:00:00.000Z' })], { status: 'resolved' }));
    expect(text?.split('\n')[0]).toBe('<b>[RESOLVED] whatsapp session down</b>');
    expect(text).toContain('resolved 2024-05-01T11:00Z');
  });

  it('escapes &, < and > everywhere, so only its own <b> is a tag', () => {
    expect(escapeHtml('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    const [text] = renderTelegram(
      notification([alert({ labels: { url: 'http://x/?a=1&b=<2>' }, summary: '<script>alert("x")</script> & more' })], { rule: 'canary <down> & out' }),
    );
    expect(text).toContain('<b>[FIRING:1] canary &lt;down&gt; &amp; out</b>');
    expect(text).toContain('url=http://x/?a=1&amp;b=&lt;2&gt;');
    expect(text).toContain('&lt;script&gt;alert("x")&lt;/script&gt; &amp; more');
    const tags = (text as string).match(/<[^>]*>/g);
    expect(tags).toEqual(['<b>', '</b>']);
    // Every & left starts an entity.
    expect((text as string).replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
  });

  it('splits a 6,000-line notification into parts of at most 4096 characters, on line boundaries, in order', () => {
    const alerts = Array.from({ length: 6_000 }, (_, i) => alert({ fingerprint: `f${i}`, labels: { session: `s${i}` }, summary: `line ${i} <&>` }));
    const parts = renderTelegram(notification(alerts));
    expect(parts.length).toBeGreaterThan(20);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(TELEGRAM_MESSAGE_MAX);
    const lines = parts.flatMap((part) => part.split('\n'));
    expect(lines).toHaveLength(6_001);
    expect(lines[0]).toBe('<b>[FIRING:6000] whatsapp session down</b>');
    lines.slice(1).forEach((line, i) => expect(line).toBe(`• session=s${i} · line ${i} &lt;&amp;&gt; · since 2024-05-01T10:03Z`));
    // Only the first part carries a tag, and it carries both ends of it.
    expect(parts[0]?.startsWith('<b>')).toBe(true);
    for (const part of parts.slice(1)) expect(part).not.toMatch(/<\/?b>/);
    // Parts are packed: the next part's first line would not have fitted.
    for (let i = 0; i + 1 < parts.length; i++) {
      const next = (parts[i + 1] as string).split('\n')[0] as string;
      expect((parts[i] as string).length + 1 + next.length).toBeGreaterThan(TELEGRAM_MESSAGE_MAX);
    }
  });

  it('cuts a line longer than a message without cutting an entity or an emoji in half', () => {
    const summary = `${'&'.repeat(3_000)}${'😀'.repeat(2_000)}`;
    const parts = renderTelegram(notification([alert({ summary })]));
    expect(parts.length).toBeGreaterThanOrEqual(5);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(TELEGRAM_MESSAGE_MAX);
      expect(part.replace(/&amp;/g, '')).not.toContain('&');
      expect(part).not.toMatch(/[\uD800-\uDBFF]$/);
      expect(part).not.toMatch(/^[\uDC00-\uDFFF]/);
    }
    expect(parts.join('').replace('\n', '')).toContain(`${'&amp;'.repeat(3_000)}${'😀'.repeat(2_000)}`);
  });

  it('says when a group at its cap left alerts out of the list', () => {
    const [part] = renderTelegram(notification([alert()], { omitted: 37 }));
    expect(part?.split('\n').at(-1)).toBe('… and 37 more alert signals not listed (the group is full; see GET /alerts)');
  });
});
