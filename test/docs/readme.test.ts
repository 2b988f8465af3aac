import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VARIABLE_NAMES } from '../../src/config/config.js';
import { ERROR_CODES } from '../../src/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The README is the one complete list of variables and codes: it must not drift from the code. */
describe('README', () => {
  it('lists every configuration variable in its configuration table', () => {
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## HTTP API'));
    const missing = VARIABLE_NAMES.filter((name) => !table.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('lists every error code with the status it answers with', () => {
    const missing = Object.entries(ERROR_CODES).filter(([code, { status }]) => !readme.includes(`| \`${code}\` | ${status} |`));
    expect(missing.map(([code]) => code)).toEqual([]);
  });

  it('starts with the two commands a new user runs and names no file a clone lacks', () => {
    expect(readme.split('\n').slice(0, 6).join('\n')).toMatch(/npm install && npm start[\s\S]*npm test/);
    expect(readme).not.toMatch(/shared\/DESIGN|\bissue \d/i);
  });
});
