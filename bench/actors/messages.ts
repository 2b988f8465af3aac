/**
 * The message shapes every throughput bench sends, ours and yardsticks alike: one fresh
 * small object per message (a shared constant would let structured clone send it once
 * per batch by back-reference, flattering every cross-thread figure).
 */
export interface Inc {
  readonly type: 'inc';
  readonly seq: number;
}

export interface Count {
  readonly type: 'count';
}

export type CounterMessage = Inc | Count;

export function inc(seq: number): Inc {
  return { type: 'inc', seq };
}

export const COUNT: Count = Object.freeze({ type: 'count' });

export interface Ping {
  readonly type: 'ping';
  readonly seq: number;
}

export function ping(seq: number): Ping {
  return { type: 'ping', seq };
}
