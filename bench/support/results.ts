import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MachineInfo } from './machine.js';
import type { SuiteResult } from './suite.js';

export interface SuiteReport extends SuiteResult {
  suite: string;
  title: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  machine: MachineInfo;
}

/** `bench/results/` of the repository, whether running from `bench/*.ts` (tsx) or `dist/bench/*.js`. */
export function resultsDir(): string {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../results/', here) : new URL('../../../bench/results/', here);
  return fileURLToPath(url);
}

/** Writes `<suite>-<timestamp>.json` and `<suite>-latest.json`; returns both paths. */
export function writeReport(report: SuiteReport): string[] {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  // ISO 8601 with ':' replaced, so the name is valid on every file system.
  const stamp = report.startedAt.replace(/:/g, '-');
  const body = `${JSON.stringify(report, null, 2)}\n`;
  const paths = [`${dir}${report.suite}-${stamp}.json`, `${dir}${report.suite}-latest.json`];
  for (const path of paths) writeFileSync(path, body);
  return paths;
}
