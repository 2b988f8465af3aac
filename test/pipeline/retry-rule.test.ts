import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHandlerFailure, isHandlerFailure, toHandlerFailure } from '../../actors/pipeline/handler-failure.js';
import { honoursRetryAfter, isPermanentStatus, parseRetryAfter, RETRY_AFTER_MAX_MS, retryRule, type RetryPolicy } from '../../actors/pipeline/retry-rule.js';
import { DownstreamError, errorCode } from '../../src/errors.js';

const policy = (maxAttempts: number, retryInitialMs: number, retryMaxMs: number): RetryPolicy => ({ maxAttempts, retryInitialMs, retryMaxMs });
const policies = fc.record({
  maxAttempts: fc.integer({ min: 1, max: 20 }),
  retryInitialMs: fc.integer({ min: 1, max: 10_000 }),
  retryMaxMs: fc.integer({ min: 1, max: 600_000 }),
});
const backoff = (p: RetryPolicy, attempt: number): number => Math.min(p.retryInitialMs * 2 ** (attempt - 1), p.retryMaxMs);

describe('retryRule', () => {
  it('retries an ordinary failure after min(initial * 2^(attempt-1), max) until maxAttempts attempts have failed', () => {
    fc.assert(
      fc.property(policies, fc.integer({ min: 1, max: 25 }), (p, attempt) => {
        const decision = retryRule(new Error('boom'), attempt, p);
        if (attempt >= p.maxAttempts) expect(decision).toEqual({ kind: 'dead_letter', why: `failed ${attempt} attempts (PIPELINE_MAX_ATTEMPTS ${p.maxAttempts})` });
        else expect(decision).toEqual({ kind: 'retry', delayMs: backoff(p, attempt) });
      }),
    );
  });

  it('dead-letters a permanent failure at once, whatever the attempt and Retry-After', () => {
    fc.assert(
      fc.property(policies, fc.integer({ min: 1, max: 25 }), fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: undefined }), (p, attempt, retryAfterMs) => {
        const error = new DownstreamError('webhook answered 400: nope', { status: 400, bodyStart: 'nope', permanent: true, retryAfterMs });
        expect(retryRule(error, attempt, p)).toEqual({ kind: 'dead_letter', why: 'refused for good (HTTP 400), not retried' });
      }),
    );
    expect(retryRule(Object.assign(new Error('unknown client'), { permanent: true }), 1, policy(5, 10, 100))).toEqual({
      kind: 'dead_letter',
      why: 'refused for good (the handler said so), not retried',
    });
  });

  it('waits at least the Retry-After (up to RETRY_AFTER_MAX_MS), never less than the backoff', () => {
    fc.assert(
      fc.property(policies, fc.integer({ min: 1, max: 25 }), fc.double({ min: 0.001, max: 10_000_000, noNaN: true }), (p, attempt, retryAfterMs) => {
        fc.pre(attempt < p.maxAttempts);
        const decision = retryRule(Object.assign(new Error('busy'), { retryAfterMs }), attempt, p);
        expect(decision.kind).toBe('retry');
        if (decision.kind !== 'retry') return;
        expect(decision.delayMs).toBeGreaterThanOrEqual(backoff(p, attempt));
        expect(decision.delayMs).toBeGreaterThanOrEqual(Math.min(retryAfterMs, RETRY_AFTER_MAX_MS));
        expect(decision.delayMs).toBeLessThanOrEqual(Math.max(backoff(p, attempt), RETRY_AFTER_MAX_MS));
        expect(Number.isInteger(decision.delayMs)).toBe(true);
      }),
    );
    expect(retryRule(Object.assign(new Error('busy'), { retryAfterMs: 2_000 }), 1, policy(5, 20, 100))).toEqual({ kind: 'retry', delayMs: 2_000 });
    expect(retryRule(Object.assign(new Error('busy'), { retryAfterMs: 3_600_000 }), 1, policy(5, 20, 100))).toEqual({ kind: 'retry', delayMs: RETRY_AFTER_MAX_MS });
  });

  it('ignores signals that are not what they claim (a handler bug is retried with plain backoff)', () => {
    for (const retryAfterMs of [Number.NaN, -5, 0, Infinity, '2000', null]) {
      expect(retryRule(Object.assign(new Error('x'), { retryAfterMs }), 1, policy(5, 20, 100))).toEqual({ kind: 'retry', delayMs: 20 });
    }
    for (const permanent of ['true', 1, {}]) {
      expect(retryRule(Object.assign(new Error('x'), { permanent }), 1, policy(5, 20, 100)).kind).toBe('retry');
    }
    expect(retryRule('a string', 2, policy(5, 20, 100))).toEqual({ kind: 'retry', delayMs: 40 });
    expect(retryRule(undefined, 5, policy(5, 20, 100)).kind).toBe('dead_letter');
  });
});

describe('which answers are permanent', () => {
  it('every 4xx but 408, 409, 425 and 429; no 5xx, 3xx or 2xx', () => {
    for (let status = 100; status <= 599; status++) {
      const expected = status >= 400 && status < 500 && ![408, 409, 425, 429].includes(status);
      expect(isPermanentStatus(status), String(status)).toBe(expected);
    }
  });

  it('Retry-After counts on 429 and 503 only', () => {
    for (let status = 100; status <= 599; status++) expect(honoursRetryAfter(status), String(status)).toBe(status === 429 || status === 503);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 15, 12, 0, 0);

  it('reads delay-seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), now)).toBe(seconds * 1000);
      }),
    );
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter(['7', '9'], now)).toBe(7_000);
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('reads an HTTP-date in all three forms; a date in the past is 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: -100_000, max: 100_000 }), (seconds) => {
        const at = new Date(now + seconds * 1000).toUTCString();
        expect(parseRetryAfter(at, now)).toBe(Math.max(0, seconds * 1000));
      }),
    );
    expect(parseRetryAfter('Thu, 15 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 15-Jan-26 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu Jan 15 12:00:30 2026', now)).toBeDefined();
  });

  it('leaves the backoff alone for a missing or unreadable header', () => {
    for (const value of [undefined, '', '   ', [], '1.5', '-3', 'soon', 'Thu, 99 Foo 2026']) expect(parseRetryAfter(value, now), JSON.stringify(value)).toBeUndefined();
  });
});

describe('a handler failure as it crosses a thread', () => {
  it('postMessage alone drops an error subclass, its name and its fields: the reason for the tagged record', () => {
    const cloned = structuredClone(new DownstreamError('webhook answered 400: no', { status: 400, bodyStart: 'no', permanent: true }));
    expect(cloned).not.toBeInstanceOf(DownstreamError);
    expect(cloned).toMatchObject({ message: 'webhook answered 400: no' });
    expect(Object.keys(cloned)).toEqual([]);
  });

  it('the record keeps the class, the code and the signal through a structured clone', () => {
    const original = new DownstreamError('webhook answered 503: later', { status: 503, bodyStart: 'later', permanent: false, retryAfterMs: 2_000 });
    const revived = fromHandlerFailure(structuredClone(toHandlerFailure(original)));
    expect(revived).toBeInstanceOf(DownstreamError);
    expect(revived).toMatchObject({ name: 'DownstreamError', code: 'WAR_ERR_DOWNSTREAM_FAILED', message: original.message, status: 503, bodyStart: 'later', permanent: false, retryAfterMs: 2_000 });
    expect(revived.stack).toBe(original.stack);
    expect(errorCode(revived)).toBe('WAR_ERR_DOWNSTREAM_FAILED');

    const plain = Object.assign(new TypeError('bad client', { cause: new Error('inner') }), { permanent: true, code: 'ECRM' });
    const back = fromHandlerFailure(structuredClone(toHandlerFailure(plain)));
    expect(back).toMatchObject({ name: 'TypeError', message: 'bad client', permanent: true, code: 'ECRM' });
    expect((back.cause as Error).message).toBe('inner');
    expect(Object.hasOwn(back, 'retryAfterMs')).toBe(false);
    expect(isHandlerFailure([])).toBe(false);
    expect(isHandlerFailure(toHandlerFailure(plain))).toBe(true);
  });
});
