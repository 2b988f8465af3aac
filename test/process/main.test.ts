import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startMain as startProcess } from '../support/main-process.js';

const startMain = (env: Record<string, string>) => startProcess(env, children);

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('process entry point', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`serves /health, then on ${signal} stops accepting, stops the tree in order and exits 0`, async () => {
      const main = startMain({ PORT: '0', LOG_LEVEL: 'debug' });
      const port = await main.port();
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      main.child.kill(signal);
      expect(await main.exited).toBe(0);
      expect(main.stdout()).toContain('"msg":"stopped"');
      // Reverse start order: the HTTP server (started last) stops first.
      const stopped = main
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"msg":"child stopped"'))
        .map((line) => (JSON.parse(line) as { child: string }).child);
      expect(stopped.indexOf('/http')).toBe(0);
      expect(stopped.indexOf('/monitors/memory')).toBeLessThan(stopped.indexOf('/monitors'));
      expect(stopped.indexOf('/monitors')).toBeGreaterThan(0);
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    });
  }

  it('refuses to start on an invalid config, naming the variable, with exit code 78', async () => {
    const main = startMain({ PORT: 'eighty', BACKOFF_MAX_ATTEMPTS: '0' });
    expect(await main.exited).toBe(78);
    expect(main.stderr()).toContain('PORT must be an integer between 0 and 65535, got "eighty"');
    expect(main.stderr()).toContain('BACKOFF_MAX_ATTEMPTS must be between 1 and');
  });
});
