import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type LoadedConfig } from '../../src/config/config.js';

const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh DATA_DIR: runtimes in parallel test files never share a store file or a spill. */
export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wa-runtime-data-'));
  made.push(dir);
  return dir;
}

/** A runtime's config for a test: an ephemeral port and its own DATA_DIR. */
export function testConfig(env: Record<string, string | undefined> = {}): LoadedConfig {
  return loadConfig({ PORT: '0', DATA_DIR: tempDataDir(), ...env });
}
