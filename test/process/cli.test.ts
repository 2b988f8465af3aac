import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readPackageInfo } from '../../src/service-info.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 60_000 });

describe('wa-runtime', () => {
  it('prints its version and its help, and refuses an unknown command or arguments to start with exit 2', () => {
    expect(cli('version')).toMatchObject({ status: 0, stdout: `${readPackageInfo().version}\n` });
    expect(cli('help')).toMatchObject({ status: 0, stdout: expect.stringMatching(/start +run the runtime/) });
    expect(cli('frobnicate')).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
    expect(cli('start', '--port', '80')).toMatchObject({ status: 2, stderr: expect.stringContaining('configure it with environment variables') });
  });

  it('start runs the runtime, with config errors exiting 78 as npm start does', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], { cwd: root, env: { PATH: process.env.PATH ?? '', PORT: 'eighty' }, encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('PORT must be an integer');
  });
});
