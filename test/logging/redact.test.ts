import fc from 'fast-check';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { REDACTED_FIELDS, redactSecrets } from '../../src/logging/redact.js';

const SECRET = 'S3CR3T-value-never-logged';

/** Objects up to three levels deep whose keys are sometimes secret names, with the secret as every secret's value. */
const logObject = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.constant(null), tie('object'), fc.array(tie('object'), { maxLength: 3 })),
  object: fc.dictionary(fc.oneof(fc.constantFrom(...REDACTED_FIELDS), fc.string({ minLength: 1, maxLength: 8 })), tie('value'), { maxKeys: 5 }),
})).object;

function withSecrets(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => withSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[key] = (REDACTED_FIELDS as readonly string[]).includes(key) ? SECRET : withSecrets(inner, depth + 1);
  return out;
}

describe('redactSecrets', () => {
  it('no secret field within two levels keeps its value; everything else is kept; the caller’s object is not changed', () => {
    fc.assert(
      fc.property(logObject, (raw) => {
        const input = withSecrets(raw, 0) as Record<string, unknown>;
        const before = JSON.stringify(input);
        const output = redactSecrets(input);
        expect(JSON.stringify(input)).toBe(before);
        // Within two levels of nesting (top, *.x, *.*.x) no secret survives.
        const check = (value: unknown, depth: number): void => {
          if (value === null || typeof value !== 'object' || depth > 2) return;
          for (const [key, inner] of Object.entries(value)) {
            if ((REDACTED_FIELDS as readonly string[]).includes(key)) expect(inner).toBe('[redacted]');
            else check(inner, depth + 1);
          }
        };
        check(output, 0);
        // Nothing without a secret is copied.
        if (!before.includes(SECRET)) expect(output).toBe(input);
      }),
    );
  });

  it('the logger redacts fields, nested fields, headers, error properties and child bindings; an unset secret shows as null', () => {
    const chunks: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk: Buffer, _e, done) => (chunks.push(chunk.toString()), done()) }) });
    const error = Object.assign(new Error('boom'), { token: SECRET });
    logger.info({ token: SECRET, config: { ADMIN_TOKEN: SECRET, REDIS_URL: undefined }, req: { headers: { authorization: `Bearer ${SECRET}`, cookie: SECRET } }, err: error }, 'one');
    class Options {
      constructor(readonly token: string) {}
    }
    logger.child({ password: SECRET, actor: '/x', config: { token: SECRET } }).child({ nested: { apiKey: SECRET }, options: new Options(SECRET) }).warn('two');
    const text = chunks.join('');
    expect(text).not.toContain(SECRET);
    const [one, two] = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    expect(one).toMatchObject({ token: '[redacted]', config: { ADMIN_TOKEN: '[redacted]', REDIS_URL: null }, req: { headers: { authorization: '[redacted]', cookie: '[redacted]' } }, err: { message: 'boom', token: '[redacted]' } });
    expect(two).toMatchObject({ password: '[redacted]', actor: '/x', config: { token: '[redacted]' }, nested: { apiKey: '[redacted]' }, options: { token: '[redacted]' }, msg: 'two' });
    chunks.length = 0;
    logger.info({ deep: { opts: new Options(SECRET) }, list: [{ secret: SECRET }], bytes: Buffer.from('abc') }, 'four');
    expect(chunks.join('')).not.toContain(SECRET);
    // An error without a secret is printed by pino's serializer as before.
    chunks.length = 0;
    logger.error({ err: new Error('plain') }, 'three');
    expect(JSON.parse(chunks.join(''))).toMatchObject({ err: { type: 'Error', message: 'plain', stack: expect.stringContaining('Error: plain') } });
  });
});
