import type { StreamRecord } from '../../../stream/types.ts';
import { decodeInto, type StoredBatch } from '../../../stream/batch-codec.ts';
import type { PartitionStmts } from './catalog.ts';

/** The last batch a reader decoded: a consumer reading a large batch in several polls reads its row once. */
export interface BatchCache {
  batch: StoredBatch | undefined;
}

/**
 * Appends to `out` up to `max` records of one partition from offset `from` on (the first retained one if `from` is
 * below them), in offset order; returns how many.
 */
export function readRecords(stmts: PartitionStmts, topic: string, partition: number, from: number, max: number, out: StreamRecord[], cache?: BatchCache): number {
  let got = 0;
  let pos = from;
  const cached = cache?.batch;
  if (cached && pos >= cached.base && pos <= cached.last) {
    got = decodeInto(topic, partition, cached, pos, max, out);
    pos = out[out.length - 1]!.offset + 1;
    if (got >= max) return got;
  }
  for (const [base, last, ts, data] of stmts.batchesFrom.iterate(pos) as IterableIterator<[number, number, number, Buffer]>) {
    if (last < pos) continue;
    const b: StoredBatch = { base, last, ts, data };
    if (cache) cache.batch = b;
    const n = decodeInto(topic, partition, b, pos, max - got, out);
    got += n;
    pos = last + 1;
    if (got >= max) break;
  }
  return got;
}
