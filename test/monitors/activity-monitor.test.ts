import { afterEach, describe, expect, it } from 'vitest';
import { activityCheck, classifyActivity } from '../../actors/monitors/activity/activity-monitor.js';
import { ManualClock } from '../../src/clock.js';
import { walkTree } from '../../supervisor/tree-node.js';
import { post, startFakeSession, type FakeSession } from '../support/fake-session-runtime.js';
import { waitFor } from '../support/wait.js';
import { waMessage } from '../support/wa-messages.js';

const IDLE_MS = 3_600_000;
const NOW = Date.parse('2026-11-23T12:00:00Z');
const MIN = 60_000;

describe('classifyActivity', () => {
  const activity = (lastReceivedAt: number | null, lastSentAt: number | null, watchedSince = NOW - 10 * IDLE_MS) => ({ sessionId: 's1', lastReceivedAt, lastSentAt, watchedSince });

  it('is ok while messages go both ways within the idle time', () => {
    const report = classifyActivity(activity(NOW - 5 * MIN, NOW - MIN), IDLE_MS, NOW);
    expect(report).toMatchObject({ status: 'ok', message: 'session s1: last received 5 min ago, last sent 1 min ago' });
    expect(report.data).toEqual({
      session: 's1',
      lastReceivedAt: new Date(NOW - 5 * MIN).toISOString(),
      lastSentAt: new Date(NOW - MIN).toISOString(),
      receivedIdleMs: 5 * MIN,
      sentIdleMs: MIN,
      idleMs: IDLE_MS,
    });
  });

  it('warns after the idle time without a message received, or sent, and says which', () => {
    expect(classifyActivity(activity(NOW - IDLE_MS, NOW - MIN), IDLE_MS, NOW)).toMatchObject({
      status: 'warn',
      message: 'session s1: nothing received for 1 h (last sent 1 min ago) (ACTIVITY_IDLE_MS 1 h)',
    });
    expect(classifyActivity(activity(NOW - MIN, NOW - 2 * IDLE_MS), IDLE_MS, NOW)).toMatchObject({
      status: 'warn',
      message: 'session s1: nothing sent for 2 h (last received 1 min ago) (ACTIVITY_IDLE_MS 1 h)',
    });
    expect(classifyActivity(activity(NOW - 3 * IDLE_MS, NOW - 2 * IDLE_MS), IDLE_MS, NOW)).toMatchObject({
      status: 'warn',
      message: 'session s1: nothing received for 3 h and nothing sent for 2 h (ACTIVITY_IDLE_MS 1 h)',
    });
    expect(classifyActivity(activity(NOW - IDLE_MS + 1, NOW - MIN), IDLE_MS, NOW).status).toBe('ok');
  });

  it('counts a session with no message yet as idle since it has been watched, not since 1970', () => {
    expect(classifyActivity(activity(null, null, NOW - 10 * MIN), IDLE_MS, NOW)).toMatchObject({ status: 'ok', message: 'session s1: last received none yet, last sent none yet' });
    const quiet = classifyActivity(activity(null, NOW - MIN, NOW - IDLE_MS), IDLE_MS, NOW);
    expect(quiet).toMatchObject({ status: 'warn', message: 'session s1: nothing received for 1 h (last sent 1 min ago) (ACTIVITY_IDLE_MS 1 h)' });
    expect(quiet.data).toMatchObject({ lastReceivedAt: null, receivedIdleMs: IDLE_MS });
  });
});

describe('activity monitor on a runtime with a WhatsApp session', () => {
  let session: FakeSession | undefined;
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });

  it('is not started unless ACTIVITY_IDLE_MS is set: a quiet night is not an incident', async () => {
    session = await startFakeSession();
    const paths = [...walkTree(session.runtime.system.snapshot())].map((node) => node.path);
    expect(paths).toContain('/monitors/queue');
    expect(paths).not.toContain('/monitors/activity');
    expect(session.runtime.checks.get(activityCheck('s1'))).toBeUndefined();
  });

  it('warns for a session with nothing received and nothing sent, then only for the direction still quiet, then not', async () => {
    const clock = new ManualClock(NOW);
    session = await startFakeSession({ clock, env: { ACTIVITY_IDLE_MS: String(IDLE_MS), MONITOR_INTERVAL_MS: String(MIN) } });
    const s = session;
    await s.open();
    const check = () => s.runtime.checks.get(activityCheck('s1'));
    await waitFor(() => check()?.status === 'ok', 10_000, 'the first round');
    expect(check()?.message).toBe('session s1: last received none yet, last sent none yet');

    /** The clock moves a minute (one round) at a time, real I/O settling between. */
    const step = async (count: number) => {
      for (let i = 0; i < count; i++) {
        await clock.advanceAsync(MIN);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    await step(60);
    expect(check()).toMatchObject({ status: 'warn', message: 'session s1: nothing received for 1 h and nothing sent for 1 h (ACTIVITY_IDLE_MS 1 h)' });

    // A client writes: the inbox is alive, the outbox still quiet.
    s.fake.current.deliver([waMessage({ message: { conversation: 'Запишите на стрижку' } })]);
    await waitFor(async () => (await s.info()).last_received_at !== null, 5_000, 'the message received');
    expect((await s.info()).last_received_at).toBe(new Date(clock.now()).toISOString());
    await step(1);
    expect(check()).toMatchObject({ status: 'warn', message: 'session s1: nothing sent for 1 h (last received 1 min ago) (ACTIVITY_IDLE_MS 1 h)' });
    expect(check()?.data).toMatchObject({ receivedIdleMs: MIN, sentIdleMs: 61 * MIN, lastSentAt: null });

    // The operator answers: both ways alive again.
    expect((await post(`${s.base}/sessions/s1/send`, { to: '+7 916 123-45-67', text: 'Записала вас на 18:00' })).status).toBe(202);
    await waitFor(() => s.fake.sent.length === 1, 5_000, 'the reply sent');
    await waitFor(async () => (await s.info()).last_sent_at !== null, 5_000, 'the send recorded');
    await step(1);
    expect(check()).toMatchObject({ status: 'ok', message: 'session s1: last received 2 min ago, last sent 1 min ago' });
    expect(check()?.data).toMatchObject({ session: 's1', receivedIdleMs: 2 * MIN, sentIdleMs: MIN, idleMs: IDLE_MS });
  });
});
