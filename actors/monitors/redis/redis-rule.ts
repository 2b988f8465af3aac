import type { StoreCounts } from '../../batcher/batch-store.js';
import type { CheckReport, CheckStatus } from '../../../src/health/health-checks.js';
import type { RedisMemory } from './redis-info.js';

export interface RedisThresholds {
  readonly pingWarnMs: number;
  /** Shares of maxmemory in use (only when maxmemory is set). */
  readonly memoryWarnRatio: number;
  readonly memoryCriticalRatio: number;
}

/** One look at Redis: it answered (with its ping time, memory and the store's counters when known), or why not. */
export type RedisSample =
  | { readonly reachable: false; readonly cause: string }
  | { readonly reachable: true; readonly pingMs: number; readonly memory: RedisMemory | undefined; readonly counts: StoreCounts | undefined };

const MB = 1024 * 1024;
const RANK: Readonly<Record<CheckStatus, number>> = { ok: 0, warn: 1, critical: 2 };

/**
 * Unreachable is critical; memory past the critical share of maxmemory is critical (writes
 * are about to be refused or keys evicted), past the warning share warns; a slow ping warns.
 * The worst finding sets the status and the message; the numbers are always in the data.
 */
export function classifyRedis(target: string, sample: RedisSample, thresholds: RedisThresholds, at: Date): CheckReport {
  const counts = sample.reachable ? sample.counts : undefined;
  const memory = sample.reachable ? sample.memory : undefined;
  const ratio = memory && memory.maxBytes > 0 ? memory.usedBytes / memory.maxBytes : undefined;
  const data = {
    target,
    reachable: sample.reachable,
    pingMs: sample.reachable ? sample.pingMs : null,
    usedMemoryMb: memory ? round(memory.usedBytes / MB, 10) : null,
    maxMemoryMb: memory && memory.maxBytes > 0 ? round(memory.maxBytes / MB, 10) : null,
    memoryRatio: ratio === undefined ? null : round(ratio, 1000),
    maxMemoryPolicy: memory?.policy ?? null,
    pendingConversations: counts?.pendingConversations ?? null,
    inFlightConversations: counts?.inFlightConversations ?? null,
    inFlightBatches: counts?.inFlightBatches ?? null,
    deadLetters: counts?.deadLetters ?? null,
    oldestPendingAt: counts?.oldestPendingAt ?? null,
  };
  if (!sample.reachable) return { status: 'critical', message: `redis unreachable: ${sample.cause}`, at: at.toISOString(), data };

  const findings: { status: CheckStatus; text: string }[] = [];
  const percent = (share: number): string => `${Math.round(share * 100)}%`;
  if (ratio !== undefined && ratio >= thresholds.memoryCriticalRatio) {
    findings.push({ status: 'critical', text: `redis memory at ${percent(ratio)} of maxmemory (critical at ${percent(thresholds.memoryCriticalRatio)})` });
  } else if (ratio !== undefined && ratio >= thresholds.memoryWarnRatio) {
    findings.push({ status: 'warn', text: `redis memory at ${percent(ratio)} of maxmemory (warning at ${percent(thresholds.memoryWarnRatio)})` });
  }
  if (sample.pingMs >= thresholds.pingWarnMs) findings.push({ status: 'warn', text: `redis ping ${sample.pingMs} ms (warning at ${thresholds.pingWarnMs} ms)` });
  const status = findings.reduce<CheckStatus>((worst, finding) => (RANK[finding.status] > RANK[worst] ? finding.status : worst), 'ok');
  const summary = `ping ${sample.pingMs} ms, memory ${memory ? `${data.usedMemoryMb} MB${ratio === undefined ? ' (no maxmemory)' : ` of ${data.maxMemoryMb} MB`}` : 'unknown'}`;
  const message = status === 'ok' ? `redis ok: ${summary}` : findings.filter((finding) => finding.status === status).map((finding) => finding.text).join('; ');
  return { status, message, at: at.toISOString(), data };
}

function round(value: number, by: number): number {
  return Math.round(value * by) / by;
}
