/**
 * fsyncs per second of the SQLite store under the direct-ingest load: fsync-child.ts runs
 * under `strace -f --seccomp-bpf -ttt -y -e trace=fsync,fdatasync` (only those two calls
 * stop the process, so the load runs at close to its own speed), and each call is counted
 * in the window it falls in (the timed ingest, or the drain of its batches after it) and
 * by file (the WAL, the database, other: e.g. the directory when the WAL is created).
 *
 * What to expect: in WAL mode, synchronous=normal fsyncs only at checkpoints (the WAL, then
 * the database; SQLite checkpoints when the WAL passes 1,000 pages), synchronous=full also
 * fsyncs the WAL at every commit, and the store commits once per event-loop turn (all the
 * appends of that turn together).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Figure } from '../support/suite.js';
import type { FsyncChildConfig, FsyncChildReport } from './fsync-child.js';
import { runNodeChild } from './node-child.js';

export interface FsyncPlan {
  readonly warmupMessages: number;
  readonly messages: number;
  readonly callers: number;
  readonly windowMs: number;
  readonly drainTimeoutMs: number;
}

interface Counted {
  total: number;
  wal: number;
  db: number;
  other: number;
}

const CALL = /^\d+\s+(\d+\.\d+)\s+(?:fsync|fdatasync)\(\d+(?:<([^>]*)>)?/;

export function straceProblem(): string | undefined {
  const probe = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `no strace (${probe.error?.message ?? probe.stderr.trim()}): apt-get install strace`;
  return undefined;
}

function tally(lines: readonly string[], from: number, to: number): Counted {
  const counted: Counted = { total: 0, wal: 0, db: 0, other: 0 };
  for (const line of lines) {
    const match = CALL.exec(line);
    if (!match) continue;
    const atMs = Number(match[1]) * 1_000;
    if (atMs < from || atMs >= to) continue;
    const file = match[2] ?? '';
    counted.total++;
    if (file.endsWith('-wal')) counted.wal++;
    else if (file.endsWith('.sqlite')) counted.db++;
    else counted.other++;
  }
  return counted;
}

export async function sqliteFsyncs(plan: FsyncPlan, synchronous: 'normal' | 'full', warmupRun: number, run: number): Promise<Figure> {
  const problem = straceProblem();
  if (problem) return { kind: 'skipped', reason: problem };
  const dir = mkdtempSync(join(tmpdir(), 'war-bench-strace-'));
  const out = join(dir, 'strace.txt');
  try {
    const config: FsyncChildConfig = { synchronous, warmupRun, run, deadlineMs: 170_000, ...plan };
    const report = await runNodeChild<FsyncChildReport>({
      base: import.meta.url,
      module: './fsync-child.js',
      args: [JSON.stringify(config)],
      wrapper: ['strace', '-f', '--seccomp-bpf', '-qq', '-ttt', '-y', '-e', 'trace=fsync,fdatasync', '-o', out],
      timeoutMs: 180_000,
    });
    const lines = readFileSync(out, 'utf8').split('\n');
    const ingest = tally(lines, report.ingestFrom, report.ingestTo);
    const drained = tally(lines, report.ingestTo, report.drainTo);
    const whole = tally(lines, 0, Number.POSITIVE_INFINITY);
    const ingestS = (report.ingestTo - report.ingestFrom) / 1_000;
    const drainS = (report.drainTo - report.ingestTo) / 1_000;
    const perSec = ingest.total / ingestS;
    return {
      kind: 'value',
      value: perSec,
      unit: 'fsyncs/s',
      text:
        `${perSec.toFixed(perSec >= 100 ? 0 : 1)} fsyncs/s (${ingest.total} in ${ingestS.toFixed(2)} s of ingest at ${Math.round(report.msgsPerSec / 1_000)}k msgs/s under strace; ` +
        `WAL ${ingest.wal}, db ${ingest.db}); drain ${(drained.total / drainS).toFixed(1)}/s`,
      extra: {
        synchronous,
        messages: report.messages,
        ingestS: Math.round(ingestS * 1_000) / 1_000,
        msgsPerSecUnderStrace: Math.round(report.msgsPerSec),
        ingestFsyncs: ingest.total,
        ingestWal: ingest.wal,
        ingestDb: ingest.db,
        ingestOther: ingest.other,
        fsyncsPer1kMessages: Math.round((ingest.total / report.messages) * 1_000 * 100) / 100,
        drainS: Math.round(drainS * 1_000) / 1_000,
        drainFsyncs: drained.total,
        drainWal: drained.wal,
        drainDb: drained.db,
        wholeProcessFsyncs: whole.total,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
