#!/usr/bin/env node
// The `wa-runtime` command: runs the compiled CLI (npm run build makes dist/).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('wa-runtime: dist/ is missing; run `npm run build` in the project first\n');
  process.exit(1);
}
await import(cli.href);
