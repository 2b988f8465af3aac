import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../support/config.js';
import { Runtime } from '../../src/runtime.js';
import { silentLogger } from '../support/logger.js';
import { startMain } from '../support/main-process.js';
import { waitFor } from '../support/wait.js';

/** Outside the repo, with no package.json anywhere above it that says what a .ts file is. */
const dir = mkdtempSync(join(tmpdir(), 'handlers-'));
const children: ChildProcess[] = [];
let runtime: Runtime | undefined;

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await runtime?.shutdown();
  runtime = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function handlerFile(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

describe('HANDLER_MODULE is checked at start', () => {
  const broken: [string, () => string, RegExp][] = [
    ['a missing file', () => join(dir, 'not-there.mjs'), /HANDLER_MODULE ".*not-there\.mjs" does not exist/],
    ['a syntax error', () => handlerFile('syntax.mjs', 'export default function (batch) { return [\n'), /HANDLER_MODULE ".*syntax\.mjs" does not load: SyntaxError/],
    ['no function exported', () => handlerFile('nothing.mjs', 'export const answer = 42;\n'), /HANDLER_MODULE ".*nothing\.mjs" exports no handler function.*it exports answer/],
    ['a TypeScript file with a type error in syntax', () => handlerFile('bad.ts', 'export default (batch: { text: string } => [];\n'), /HANDLER_MODULE ".*bad\.ts" does not load/],
    ['a package that is not installed', () => 'no-such-handler-package', /HANDLER_MODULE "no-such-handler-package" cannot be found/],
  ];
  for (const [what, make, message] of broken) {
    it(`${what}: start-up stops with exit 78 and a message naming HANDLER_MODULE`, async () => {
      const main = startMain({ PORT: '0', HANDLER_MODULE: make() }, children);
      expect(await main.exited).toBe(78);
      expect(main.stderr()).toMatch(message);
    });
  }
});

describe('TypeScript handlers load from anywhere on disk', () => {
  for (const extension of ['ts', 'mts', 'cts'] as const) {
    it(`a .${extension} handler in a directory with no package.json handles batches`, async () => {
      const out = join(dir, `handled-${extension}.txt`);
      const source =
        extension === 'cts'
          ? `const { appendFileSync } = require('node:fs');\nconst handle = (batch: { text: string }): unknown[] => { appendFileSync(${JSON.stringify(out)}, batch.text + '\\n'); return []; };\nmodule.exports = { handle };\n`
          : `import { appendFileSync } from 'node:fs';\ninterface Batch { readonly text: string }\nexport default function handle(batch: Batch): unknown[] {\n  appendFileSync(${JSON.stringify(out)}, batch.text + '\\n');\n  return [];\n}\n`;
      const module = handlerFile(`handler.${extension}`, source);
      runtime = new Runtime({
        loaded: testConfig({ PORT: '0', HANDLER_MODULE: module, BATCH_WINDOW_MS: '30', BATCH_MAX_AGE_MS: '30', PIPELINE_CONCURRENCY: '1', METRICS_PROCESS: 'false' }),
        logger: silentLogger(),
      });
      await runtime.start();
      const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
      const response = await fetch(`${base}/webhook/whatsapp/batched`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone: '79161234567', message: `hello from ${extension}` }),
      });
      expect(response.status).toBe(202);
      await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').includes(`hello from ${extension}`), 30_000, `the .${extension} handler to run`);
    });
  }
});
