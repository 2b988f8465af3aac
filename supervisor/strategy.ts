export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/**
 * Which children restart when the child at `failedIndex` (in start order) fails:
 * itself; every child; or itself and every child started after it.
 * Returns indices in start order.
 */
export function restartSet(strategy: Strategy, childCount: number, failedIndex: number): number[] {
  switch (strategy) {
    case 'one_for_one':
      return [failedIndex];
    case 'one_for_all':
      return range(0, childCount);
    case 'rest_for_one':
      return range(failedIndex, childCount);
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}
