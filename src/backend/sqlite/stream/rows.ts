import type { StreamRecord } from '../../../stream/types.ts';
import { decodeInto, type StoredBatch } from '../../../stream/batch-codec.ts';
import type { PartitionStmts } from './catalog.ts';

/** The last batch a reader decoded: a consumer reading a large batch in several polls reads its row once. */
export interface BatchCache {
  batch: StoredBatch | undefined;
}

/**
 * A batch this connection appended, kept after its commit: the consumers of the publishing thread (the alert worker and
 * the live map beside ingestion in one process) read what was just written from here instead of reading the row back
 * and decoding it once each. Its records are decoded once, by the first reader, and shared: records are never
 * modified by their readers. Offsets of a partition are assigned in order by whoever appends, so the batch holding an
 * offset is the same whether read from here or from the table; a batch another process appended in between is read
 * from the table.
 */
export interface TailBatch extends StoredBatch {
  records: StreamRecord[] | undefined;
}

/** Records a partition's tail keeps at most (each batch whole): ~1.6 s of a partition at 10,000 reports/s over 8, ~1 MB of values. */
export const TAIL_RECORDS = 2048;
/**
 * Batches older than this are read from the table: the tail serves readers that keep up. It also bounds what another
 * process's retention could have deleted meanwhile (this connection's own retention trims the tail: trimTail).
 */
export const TAIL_MAX_AGE_MS = 30_000;

/** Whether a tail batch is young enough to be read from memory at `now` (older ones are read from the table). */
const servable = (b: TailBatch, now: number): boolean => b.ts >= now - TAIL_MAX_AGE_MS;

/**
 * Keeps a committed batch at the end of its partition's tail, dropping the oldest beyond TAIL_RECORDS and those older
 * than TAIL_MAX_AGE_MS (never served from here: without the age bound a quiet topic's partition, alerts or incidents at
 * a few records a second, held its last 2,048 records for minutes; a 10-minute soak at ~6,700 reports/s had 5,462
 * tail batches holding 41.5 MiB of buffers, docs/benchmarks.md "Memory").
 */
export function keepTail(stmts: PartitionStmts, batch: StoredBatch, now = Date.now()): void {
  const tail = stmts.tail;
  tail.push({ base: batch.base, last: batch.last, ts: batch.ts, data: batch.data, records: undefined });
  stmts.tailHeld += batch.last - batch.base + 1;
  while (tail.length > 1 && stmts.tailHeld > TAIL_RECORDS) dropOldest(stmts);
  while (tail.length > 0 && !servable(tail[0]!, now)) dropOldest(stmts);
}

/** Forgets the tail's batches that start before `end` (retention deleted, or is deleting, them). */
export function trimTail(stmts: PartitionStmts, end: number): void {
  const tail = stmts.tail;
  while (tail.length > 0 && tail[0]!.base < end) dropOldest(stmts);
}

/** Removes the tail's oldest batch, keeping `tailHeld` its record count. */
function dropOldest(stmts: PartitionStmts): void {
  const dropped = stmts.tail.shift()!;
  stmts.tailHeld -= dropped.last - dropped.base + 1;
}

function tailBatchAt(stmts: PartitionStmts, pos: number): TailBatch | undefined {
  const tail = stmts.tail;
  for (let i = tail.length - 1; i >= 0; i--) {
    const b = tail[i]!;
    if (pos >= b.base && pos <= b.last) return servable(b, Date.now()) ? b : undefined;
    if (b.last < pos) return undefined;
  }
  return undefined;
}

/** Appends the tail's records from `pos` on while the tail holds them; returns how many. */
function readTail(stmts: PartitionStmts, topic: string, partition: number, pos: number, max: number, out: StreamRecord[]): number {
  let got = 0;
  for (let b = tailBatchAt(stmts, pos); b !== undefined && got < max; b = tailBatchAt(stmts, pos)) {
    if (b.records === undefined) {
      const records: StreamRecord[] = [];
      decodeInto(topic, partition, b, b.base, b.last - b.base + 1, records);
      b.records = records;
    }
    const from = pos - b.base;
    const n = Math.min(max - got, b.records.length - from);
    for (let i = from; i < from + n; i++) out.push(b.records[i]!);
    got += n;
    pos += n;
  }
  return got;
}

/**
 * Appends to `out` up to `max` records of one partition from offset `from` on (the first retained one if `from` is
 * below them), in offset order; returns how many. The publishing connection's tail first, then the table.
 */
export function readRecords(stmts: PartitionStmts, topic: string, partition: number, from: number, max: number, out: StreamRecord[], cache?: BatchCache, end?: number): number {
  let got = readTail(stmts, topic, partition, from, max, out);
  // `end`: the partition's next offset as the caller last read it; nothing to ask the table for past it.
  if (got >= max || (end !== undefined && from + got >= end)) return got;
  let pos = from + got;
  const cached = cache?.batch;
  if (cached && pos >= cached.base && pos <= cached.last) {
    got += decodeInto(topic, partition, cached, pos, max - got, out);
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
