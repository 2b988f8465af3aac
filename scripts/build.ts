/**
 * `npm start` runs compiled JavaScript: worker threads then start in ~35 ms instead of the
 * ~190 ms a TypeScript loader costs each of them. esbuild transpiles file by file (no
 * bundle), keeping the layout, so module paths of thread actors stay valid under dist/.
 * Type checking is `npm run typecheck`; this step only strips types.
 */
import { build } from 'esbuild';
import { copyFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

// test/support: the local servers (a Telegram Bot API, an n8n sink) the benchmarks drive too.
const ROOTS = ['src', 'supervisor', 'actors', 'bench', 'test/support'];
const OUT = 'dist';

function collect(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'results' && name !== 'node_modules') collect(path, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const started = performance.now();
rmSync(OUT, { recursive: true, force: true });
const entryPoints = ROOTS.flatMap((root) => collect(root, []));
await build({
  entryPoints,
  outdir: OUT,
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
// The dashboard's page (GET /dashboard): its script and style bundled and minified for the
// browser, its HTML copied; the runtime serves them from here, nothing comes from a CDN.
const PAGE = 'src/http/dashboard/page';
await build({
  entryPoints: [join(PAGE, 'app.js'), join(PAGE, 'app.css')],
  outdir: join(OUT, PAGE),
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  logLevel: 'warning',
});
copyFileSync(join(PAGE, 'index.html'), join(OUT, PAGE, 'index.html'));
process.stdout.write(`built ${entryPoints.length} files into ${OUT}/ in ${Math.round(performance.now() - started)} ms\n`);
