import type { AlertNotification, AlertView } from '../../actors/alerts/alert.js';

/** One firing alert, as a notification lists it; `overrides` change what a test is about. */
export function testAlert(overrides: Partial<AlertView> = {}): AlertView {
  return {
    fingerprint: 'f1',
    rule: 'whatsapp session down',
    severity: 'critical',
    labels: { session: 'salon1' },
    summary: 'session salon1 is not connected',
    status: 'firing',
    startsAt: '2024-05-01T10:00:00.000Z',
    endsAt: null,
    count: 1,
    ...overrides,
  };
}

/** A firing notification of `alerts` (its rule and group are the first alert's unless overridden). */
export function testNotification(alerts: readonly AlertView[], overrides: Partial<AlertNotification> = {}): AlertNotification {
  const rule = alerts[0]?.rule ?? 'whatsapp session down';
  return { status: 'firing', groupKey: rule, rule, alerts, sentAt: '2024-05-01T10:00:30.000Z', id: 'n1', ...overrides };
}
