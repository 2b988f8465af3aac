#!/usr/bin/env node
// The `wa-runtime` command: runs the compiled CLI (npm run build, or npm start, makes dist/);
// before a build, the TypeScript sources through tsx (a dependency), a little slower to start.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (existsSync(cli)) {
  await import(cli.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli.ts', import.meta.url).href);
}
