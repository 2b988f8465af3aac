import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The URL of a module next to `base` (pass `import.meta.url`), written with its `.js`
 * name. When running from TypeScript sources (tests, tsx) the `.ts` file is named instead,
 * so the same call works before and after the build.
 */
export function siblingModule(base: string, relative: string): string {
  const url = new URL(relative, base);
  if (base.endsWith('.ts') && url.pathname.endsWith('.js')) url.pathname = `${url.pathname.slice(0, -3)}.ts`;
  return url.href;
}

/**
 * A worker pool that can only load a file (piscina) cannot run a TypeScript module from
 * sources (tests): Node 20 does not hand `--import` loaders to workers properly. This writes
 * a small ES module that registers tsx and re-exports `tsModuleUrl`'s default export, and
 * returns its path. It lives in node_modules/.cache (so `tsx` resolves from it) and is
 * content-addressed; only used from TypeScript sources.
 */
export function typeScriptWorkerShim(tsModuleUrl: string): string {
  const source = [
    "import { register } from 'tsx/esm/api';",
    'register();',
    `const loaded = await import(${JSON.stringify(tsModuleUrl)});`,
    'export default loaded.default;',
    '',
  ].join('\n');
  const dir = fileURLToPath(new URL('../../node_modules/.cache/wa-runtime/', import.meta.url));
  const file = join(dir, `worker-shim-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, source);
  }
  return file;
}
