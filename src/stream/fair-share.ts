import type { StreamRecord } from './types.ts';

/**
 * One poll's records from the partitions that have some, shared fairly: `max` is split evenly between the ready
 * partitions (what one leaves over goes to the others on the next round), starting from a rotating partition so that
 * none is always served first. Every stream implementation's consumer polls through this; only how a partition
 * hands over its records differs (`takeFrom`: up to `n` records of partition `p`, and whether it has more).
 */
export function fairShare(
  ready: readonly number[],
  rotation: number,
  max: number,
  takeFrom: (partition: number, n: number) => { records: readonly StreamRecord[]; more: boolean },
): StreamRecord[] {
  if (ready.length === 0) return [];
  const sorted = [...ready].sort((a, b) => a - b);
  const first = rotation % sorted.length;
  let order = [...sorted.slice(first), ...sorted.slice(0, first)];
  const out: StreamRecord[] = [];
  let remaining = max;
  while (remaining > 0 && order.length > 0) {
    const share = Math.max(1, Math.ceil(remaining / order.length));
    const again: number[] = [];
    for (const p of order) {
      if (remaining <= 0) break;
      const { records, more } = takeFrom(p, Math.min(share, remaining));
      for (const r of records) out.push(r);
      remaining -= records.length;
      if (more) again.push(p);
    }
    order = again;
  }
  return out;
}
