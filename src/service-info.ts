import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  name: string;
  version: string;
}

/** The project's package.json, found upward from this file (works from src/ and from dist/src/). */
export function readPackageInfo(from: string = import.meta.url): PackageInfo {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as Partial<PackageInfo>;
      if (pkg.name && pkg.version) return { name: pkg.name, version: pkg.version };
    }
    const parent = dirname(dir);
    if (parent === dir) return { name: 'wa-actor-runtime', version: '0.0.0' };
    dir = parent;
  }
}
