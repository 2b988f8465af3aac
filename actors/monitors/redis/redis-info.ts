/** The fields of one `INFO` section (`name:value` lines; `#` lines are headings). */
export function parseInfo(text: string): ReadonlyMap<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** What `INFO memory` says of memory: bytes in use, and the ceiling (0: no maxmemory set). */
export interface RedisMemory {
  readonly usedBytes: number;
  readonly maxBytes: number;
  readonly policy: string | null;
}

export function redisMemory(info: ReadonlyMap<string, string>): RedisMemory | undefined {
  const used = Number(info.get('used_memory'));
  if (!Number.isFinite(used)) return undefined;
  const max = Number(info.get('maxmemory') ?? '0');
  return { usedBytes: used, maxBytes: Number.isFinite(max) ? max : 0, policy: info.get('maxmemory_policy') ?? null };
}
