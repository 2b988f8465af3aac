/**
 * Memory per pending conversation (see memory-child.ts), as a SizeFigure: for ours the
 * Node heap growth minus the text (with the memory store the text lives in the heap; with
 * Redis it lives in Redis, and Redis's growth minus the text is added; with SQLite it lives
 * in the file, whose growth is kept beside the figure, not in it: it is disk, not memory,
 * and SQLite's page cache is bounded, seen in RSS); for the baselines
 * Redis's growth minus the text (their process keeps nothing per pending conversation).
 */
import type { SizeFigure } from '../support/suite.js';
import type { ContenderKind } from './contender.js';
import type { FootprintConfig, FootprintReport } from './memory-child.js';
import { runNodeChild } from './node-child.js';

export async function memoryFootprint(kind: ContenderKind, redisUrl: string, prefix: string, run: number, conversations: number): Promise<SizeFigure> {
  const config: FootprintConfig = { kind, redisUrl, prefix, run, conversations };
  const report = await runNodeChild<FootprintReport>({
    base: import.meta.url,
    module: './memory-child.js',
    args: [JSON.stringify(config)],
    execArgv: ['--expose-gc'],
    timeoutMs: 120_000,
  });
  const text = report.textBytes;
  const redis = report.redisPerConversation ?? 0;
  const parts =
    kind === 'memory'
      ? [{ name: 'heap', bytes: report.heapPerConversation - text }]
      : kind === 'sqlite'
        ? [{ name: 'heap', bytes: report.heapPerConversation }]
        : kind === 'redis'
          ? [
              { name: 'heap', bytes: report.heapPerConversation },
              { name: 'Redis', bytes: redis - text },
            ]
          : [{ name: 'Redis', bytes: redis - text }];
  return {
    kind: 'size',
    bytes: Math.round(parts.reduce((sum, part) => sum + part.bytes, 0)),
    parts: parts.map((part) => ({ name: part.name, bytes: Math.round(part.bytes) })),
    extra: {
      conversations: report.conversations,
      textBytesSubtracted: text,
      heapPerConversation: Math.round(report.heapPerConversation),
      rssPerConversation: Math.round(report.rssPerConversation),
      ...(report.redisPerConversation !== null ? { redisPerConversation: Math.round(report.redisPerConversation) } : {}),
      ...(report.diskPerConversation !== null ? { diskPerConversation: Math.round(report.diskPerConversation) } : {}),
      pendingChecked: report.pendingChecked,
    },
  };
}
