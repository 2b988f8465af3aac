/** A span as an operator reads it in a check's message: `850 ms`, `45 s`, `5 min`, `2.5 h`, `3 d`. */
export function durationText(ms: number): string {
  const abs = Math.max(0, ms);
  if (abs < 1_000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${trim(abs / 1_000)} s`;
  if (abs < 3_600_000) return `${trim(abs / 60_000)} min`;
  if (abs < 172_800_000) return `${trim(abs / 3_600_000)} h`;
  return `${trim(abs / 86_400_000)} d`;
}

/** One decimal at most, none when it is zero: `5 min`, not `5.0 min`. */
function trim(value: number): string {
  return String(Math.round(value * 10) / 10);
}
