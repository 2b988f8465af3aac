import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldAt, judgeAnswer } from '../../actors/monitors/canary/canary-probe.js';
import { canaryReport, canaryStatus, INITIAL_CANARY_STATE, nextCanaryState, type CanaryState } from '../../actors/monitors/canary/canary-rule.js';

const gatus = { failureThreshold: 3, successThreshold: 2 };

function run(results: readonly boolean[], thresholds = gatus): CanaryState[] {
  const states: CanaryState[] = [];
  let state = INITIAL_CANARY_STATE;
  for (const success of results) states.push((state = nextCanaryState(state, success, thresholds)));
  return states;
}

describe("the canary's Gatus rule", () => {
  it('starts up, warns while failing, goes down at the third failure in a row and comes back at the second success', () => {
    const states = run([false, false, false, true, true]);
    expect(states.map(canaryStatus)).toEqual(['warn', 'warn', 'critical', 'critical', 'ok']);
    expect(states[2]).toEqual({ up: false, failuresInARow: 3, successesInARow: 0 });
    expect(states[3]).toEqual({ up: false, failuresInARow: 0, successesInARow: 1 });
    expect(canaryStatus(INITIAL_CANARY_STATE)).toBe('ok');
  });

  it('a success breaks a run of failures, and a failure breaks a run of successes', () => {
    expect(run([false, false, true, false, false]).map(canaryStatus)).toEqual(['warn', 'warn', 'ok', 'warn', 'warn']);
    expect(run([false, false, false, true, false, true]).map(canaryStatus)).toEqual(['warn', 'warn', 'critical', 'critical', 'critical', 'critical']);
  });

  it('for any results, down exactly when the last run of failures reached the threshold before a run of successes did', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), (results, failureThreshold, successThreshold) => {
        const thresholds = { failureThreshold, successThreshold };
        let up = true;
        let run = 0;
        let last: boolean | undefined;
        let state = INITIAL_CANARY_STATE;
        for (const success of results) {
          run = success === last ? run + 1 : 1;
          last = success;
          if (!success && run >= failureThreshold) up = false;
          if (success && run >= successThreshold) up = true;
          state = nextCanaryState(state, success, thresholds);
          expect(state.up).toBe(up);
          expect(success ? state.successesInARow : state.failuresInARow).toBe(run);
        }
      }),
    );
  });

  it('says status code or error and response time; the data carries the (redacted) URL and the runs', () => {
    const at = new Date(0);
    const target = { name: 'booking', url: 'https://[redacted]@booking.example/health' };
    const down = canaryReport(target, { up: false, failuresInARow: 3, successesInARow: 0 }, { statusCode: 503, responseTimeMs: 12, failure: 'HTTP 503' }, gatus, at);
    expect(down).toMatchObject({
      status: 'critical',
      message: 'booking is down (3 failures in a row): HTTP 503 (12 ms)',
      data: { url: target.url, statusCode: 503, responseTimeMs: 12, failuresInARow: 3, successesInARow: 0 },
    });
    const ok = canaryReport(target, INITIAL_CANARY_STATE, { statusCode: 200, responseTimeMs: 4, failure: undefined }, gatus, at);
    expect(ok).toMatchObject({ status: 'ok', message: 'booking: HTTP 200 (4 ms)' });
    const failing = canaryReport(target, { up: true, failuresInARow: 1, successesInARow: 0 }, { statusCode: null, responseTimeMs: 5000, failure: 'timed out' }, gatus, at);
    expect(failing).toMatchObject({ status: 'warn', message: 'booking failing (1 of 3 before down): timed out (5000 ms)', data: { statusCode: null } });
    const recovering = canaryReport(target, { up: false, failuresInARow: 0, successesInARow: 1 }, { statusCode: 200, responseTimeMs: 3, failure: undefined }, gatus, at);
    expect(recovering.message).toBe('booking is down, recovering (1 of 2 successes): HTTP 200 (3 ms)');
  });
});

describe("the canary's judgement of an answer", () => {
  const expect200 = { field: 'status', value: 'ok' };

  it('fails at 400 and above, passes below (a redirect is answered as it is)', () => {
    expect(judgeAnswer(200, undefined, undefined)).toBeUndefined();
    expect(judgeAnswer(302, undefined, undefined)).toBeUndefined();
    expect(judgeAnswer(400, undefined, undefined)).toBe('HTTP 400');
    expect(judgeAnswer(503, '{"status":"ok"}', expect200)).toBe('HTTP 503');
  });

  it('compares the expected field as text, by dotted path, and says what it found', () => {
    expect(judgeAnswer(200, '{"status":"ok"}', expect200)).toBeUndefined();
    expect(judgeAnswer(200, '{"status":"degraded"}', expect200)).toBe('HTTP 200, field status is "degraded" (expected "ok")');
    expect(judgeAnswer(200, '{"state":"ok"}', expect200)).toBe('HTTP 200, field status missing (expected "ok")');
    expect(judgeAnswer(200, '<html>', expect200)).toMatch(/not JSON/);
    expect(judgeAnswer(200, '{"checks":{"db":{"up":true}}}', { field: 'checks.db.up', value: 'true' })).toBeUndefined();
    expect(judgeAnswer(200, '{"checks":{"db":{"up":false}}}', { field: 'checks.db.up', value: 'true' })).toMatch(/is "false"/);
    expect(judgeAnswer(200, '{"score":100}', { field: 'score', value: '100' })).toBeUndefined();
    expect(fieldAt({ items: [{ ok: 1 }] }, 'items.0.ok')).toEqual({ present: true, value: 1 });
    expect(fieldAt({ a: null }, 'a.b')).toEqual({ present: false });
    expect(fieldAt({}, 'toString')).toEqual({ present: false });
  });
});
