import { afterEach, describe, expect, it } from 'vitest';
import { whatsappMonitor, type SessionSource, type WhatsAppMonitorStatus } from '../../actors/monitors/whatsapp/whatsapp-monitor.js';
import type { SessionInfo } from '../../actors/whatsapp/session-protocol.js';
import type { SessionStatus } from '../../actors/whatsapp/session-status.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { RuntimeEvent } from '../../src/events/runtime-events.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { local } from '../../supervisor/child-spec.js';
import { captureLogger, silentLogger } from '../support/logger.js';
import { nodeAt, startSystem } from '../support/system.js';

const INTERVAL_MS = 10_000;
const DOWN_MS = 60_000;

/**
 * What the gateways would answer, set by the test: the monitor's sampling side. (The whole
 * path through real gateways and a real socket is test/monitors/whatsapp-runtime.test.ts.)
 */
class GatewayAnswers implements SessionSource {
  readonly #infos = new Map<string, SessionInfo | undefined>();
  constructor(readonly ids: readonly string[]) {
    for (const id of ids) this.set(id, 'open');
  }

  set(id: string, status: SessionStatus, extra: { lastCloseCode?: number; alert?: string; decryptErrors?: number } = {}): void {
    // Only the fields the monitor reads matter here; the gateway's info has more (asserted as a whole by the gateway's tests).
    this.#infos.set(id, {
      id,
      status,
      lastCloseCode: extra.lastCloseCode ?? null,
      alert: extra.alert ?? null,
      decryptErrors: { badMac: extra.decryptErrors ?? 0, decrypt: 0, suppressed: 0 },
    } as SessionInfo);
  }

  silence(id: string): void {
    this.#infos.set(id, undefined);
  }

  async sample(): Promise<{ id: string; info: SessionInfo | undefined }[]> {
    return this.ids.map((id) => ({ id, info: this.#infos.get(id) }));
  }
}

const systems: { shutdown(): Promise<void> }[] = [];
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown();
});

async function startMonitor(ids: string[], setUp?: (answers: GatewayAnswers) => void) {
  const answers = new GatewayAnswers(ids);
  setUp?.(answers);
  const checks = new HealthChecks();
  const events = new EventBus<RuntimeEvent>(silentLogger());
  const log = captureLogger('info');
  const { system, clock } = await startSystem(
    [{ kind: 'actor', id: 'whatsapp', behaviour: local(() => whatsappMonitor({ sessions: answers, events, intervalMs: INTERVAL_MS, waDownAlertMs: DOWN_MS, decryptErrorsWarnPerMinute: 60, checks })) }],
    { logger: log.logger },
  );
  systems.push(system);
  await clock.advanceAsync(0);
  const status = (id: string) => checks.get(`whatsapp:${id}`)?.status;
  /** A gateway's status change, as it publishes it; the answers to the next sample follow it. */
  const change = async (id: string, previous: SessionStatus, next: SessionStatus, closeCode: number | null = null, alert: string | null = null) => {
    answers.set(id, next, { ...(closeCode === null ? {} : { lastCloseCode: closeCode }), ...(alert === null ? {} : { alert }) });
    events.publish({ type: 'session', sessionId: id, at: clock.now(), previous, status: next, closeCode, alert });
    await clock.advanceAsync(0);
  };
  return { answers, checks, events, log, system, clock, status, change };
}

describe('whatsapp monitor', () => {
  it('three sessions reconnecting for WA_DOWN_ALERT_MS turn critical at that time, not before', async () => {
    const m = await startMonitor(['s1', 's2', 's3']);
    expect(['s1', 's2', 's3'].map(m.status)).toEqual(['ok', 'ok', 'ok']);

    await m.clock.advanceAsync(5_000);
    const downAt = m.clock.now();
    for (const id of ['s1', 's2', 's3']) await m.change(id, 'open', 'reconnecting', 428);
    // At once, not at the next sample.
    expect(['s1', 's2', 's3'].map(m.status)).toEqual(['warn', 'warn', 'warn']);
    expect(m.checks.get('whatsapp:s2')).toMatchObject({ message: 'session s2 is reconnecting (not open for 0 s, last close 428)', data: { status: 'reconnecting', lastCloseCode: 428, downSinceMs: downAt } });

    // The samples in between (every 10 s) keep them warning...
    await m.clock.advanceAsync(DOWN_MS - 1);
    expect(['s1', 's2', 's3'].map(m.status)).toEqual(['warn', 'warn', 'warn']);
    // ...and the escalation comes on its own timer, between two samples.
    expect((m.clock.now() + 1 - 1_700_000_000_000) % INTERVAL_MS).not.toBe(0);
    await m.clock.advanceAsync(1);
    expect(['s1', 's2', 's3'].map(m.status)).toEqual(['critical', 'critical', 'critical']);
    expect(m.checks.get('whatsapp:s1')).toMatchObject({ message: 'session s1 not open for 60 s (reconnecting, last close 428)', data: { downSinceMs: downAt, downForMs: DOWN_MS } });
    expect(m.checks.get('whatsapp:s1')?.since).toBe(new Date(downAt + DOWN_MS).toISOString());

    const status = await (m.system.lookup('/whatsapp') as ActorRef<{ type: 'status' }, WhatsAppMonitorStatus>).ask({ type: 'status' });
    expect(Object.keys(status)).toEqual(['whatsapp:s1', 'whatsapp:s2', 'whatsapp:s3']);
    expect(nodeAt(m.system.snapshot(), '/whatsapp')?.detail).toMatchObject({ sessions: 3, open: 0, critical: 3 });
  });

  it('a logout is critical at once, with the halt alert', async () => {
    const m = await startMonitor(['salon1', 'salon2']);
    await m.change('salon1', 'open', 'logged_out', 401, 'logged out: the number must be paired again');
    expect(m.checks.get('whatsapp:salon1')).toMatchObject({ status: 'critical', message: 'session salon1: logged out: the number must be paired again', data: { status: 'logged_out', lastCloseCode: 401 } });
    expect(m.status('salon2')).toBe('ok');
    // Halted stays critical through the samples; nothing escalates further.
    await m.clock.advanceAsync(5 * DOWN_MS);
    expect(m.status('salon1')).toBe('critical');
  });

  it('open resets: the next drop warns again and is critical only WA_DOWN_ALERT_MS after it', async () => {
    const m = await startMonitor(['s1']);
    await m.change('s1', 'open', 'reconnecting', 428);
    await m.clock.advanceAsync(DOWN_MS);
    expect(m.status('s1')).toBe('critical');
    await m.change('s1', 'reconnecting', 'open');
    expect(m.checks.get('whatsapp:s1')).toMatchObject({ status: 'ok', message: 'session s1 is open', data: { downSinceMs: null } });

    await m.clock.advanceAsync(35_000);
    const again = m.clock.now();
    await m.change('s1', 'open', 'connecting');
    expect(m.checks.get('whatsapp:s1')).toMatchObject({ status: 'warn', data: { downSinceMs: again } });
    await m.clock.advanceAsync(DOWN_MS - 1);
    expect(m.status('s1')).toBe('warn');
    await m.clock.advanceAsync(1);
    expect(m.status('s1')).toBe('critical');

    // Transitions only: warn, critical, ok, warn, critical.
    const lines = m.log.lines().filter((line) => line.includes('"sessionId":"s1"'));
    expect(lines.map((line) => (JSON.parse(line) as { level: number }).level)).toEqual([40, 50, 30, 40, 50]);
  });

  it('takes the status at start from the gateways, counting down from when it started watching', async () => {
    const m = await startMonitor(['s1', 's2'], (answers) => {
      answers.set('s1', 'reconnecting', { lastCloseCode: 408 });
      answers.silence('s2');
    });
    expect(m.checks.get('whatsapp:s1')).toMatchObject({ status: 'warn', message: 'session s1 is reconnecting (not open for 0 s, last close 408)' });
    expect(m.checks.get('whatsapp:s2')).toMatchObject({ status: 'warn', data: { status: 'unknown' } });
    await m.clock.advanceAsync(DOWN_MS);
    expect(m.status('s1')).toBe('critical');
    expect(m.checks.get('whatsapp:s2')).toMatchObject({ status: 'critical', message: 'session s2 not open for 60 s (status unknown: its gateway has not answered)' });
    // A missed event is caught by the next sample.
    m.answers.set('s1', 'open');
    await m.clock.advanceAsync(INTERVAL_MS);
    expect(m.status('s1')).toBe('ok');
  });

  it('a decrypt-error storm of 100,000 errors warns once and logs a bounded number of lines', async () => {
    const m = await startMonitor(['s1']);
    const storm = 100_000;
    // A minute of the storm, as the gateway's counters show it at each sample.
    for (let i = 1; i <= 6; i++) {
      m.answers.set('s1', 'open', { decryptErrors: (storm * i) / 6 });
      await m.clock.advanceAsync(INTERVAL_MS);
    }
    expect(m.checks.get('whatsapp-decrypt:s1')).toMatchObject({ status: 'warn', message: expect.stringMatching(/^session s1: \d+ decrypt errors per minute \(warning at 60\)$/) });
    expect(Number(m.checks.get('whatsapp-decrypt:s1')?.data?.decryptErrorsPerMinute)).toBeGreaterThanOrEqual(storm);
    // The session itself stays ok: it is open.
    expect(m.checks.get('whatsapp:s1')?.status).toBe('ok');
    // It calms down: a minute without new errors.
    for (let i = 0; i < 7; i++) await m.clock.advanceAsync(INTERVAL_MS);
    expect(m.status('s1')).toBe('ok');
    expect(m.checks.get('whatsapp-decrypt:s1')?.status).toBe('ok');
    expect(m.log.lines()).toHaveLength(2);
  });

  it('withdraws its checks and its subscription when stopped', async () => {
    const m = await startMonitor(['s1']);
    expect(m.events.stats.subscribers).toBe(1);
    expect(m.status('s1')).toBe('ok');
    await m.system.shutdown();
    expect(m.checks.get('whatsapp:s1')).toBeUndefined();
    expect(m.events.stats.subscribers).toBe(0);
  });
});
