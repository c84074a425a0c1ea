import type { StartPosition } from '../../../stream/types.ts';
import { firstAtOrAfter, type PartitionStmts } from './catalog.ts';

export interface PartitionBounds {
  /** Lowest retained offset (== next when the partition is empty). */
  earliest: number;
  /** Offset the next append gets. */
  next: number;
}

export function boundsOf(stmts: PartitionStmts, next: number): PartitionBounds {
  const min = stmts.earliest.get() as number | null;
  return { earliest: min ?? next, next };
}

/**
 * The offset of the first record to read for a start position. Time positions use a binary search: append times are
 * made monotonic per partition at publish (all records of a batch share one), and retention only removes a prefix, so
 * offsets [earliest, next) are contiguous and sorted by time.
 */
export function resolveStart(stmts: PartitionStmts, bounds: PartitionBounds, position: StartPosition): number {
  if (position === 'earliest') return bounds.earliest;
  if (position === 'latest') return bounds.next;
  if ('offset' in position) {
    if (!Number.isFinite(position.offset)) throw new RangeError(`offset must be a finite number, got ${position.offset}`);
    return Math.max(0, Math.ceil(position.offset));
  }
  if (!('time' in position) || !Number.isFinite(position.time)) throw new RangeError('start position must be earliest, latest, {offset} or {time}');
  let lo = bounds.earliest;
  let hi = bounds.next;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const row = firstAtOrAfter(stmts, mid);
    if (!row) { hi = mid; continue; }
    const [off, ts] = row;
    if (ts >= position.time) hi = Math.min(mid, off);
    else lo = off + 1;
  }
  return lo;
}
