import { isDwError } from '../errors/index.ts';
import type { LakeTable, LakeWriter, PendingBatch, ProtocolStep, StagedBatch } from '../lake/index.ts';
import type { Stream, StreamConsumer, StreamRecord } from '../stream/types.ts';
import type { Logger } from '../util/log.ts';
import { recordArchiveBatch } from '../metrics/record.ts';

/** What a protocol-step hook is told about the batch. */
export interface BatchInfo {
  table: LakeTable;
  partition: number;
  /** The offset range the batch covers (from just after the checkpoint to its last record). */
  firstOffset: number;
  lastOffset: number;
  records: number;
}

export type StepHook = (step: ProtocolStep, batch: BatchInfo) => void | Promise<void>;

export interface TopicArchiverOptions {
  stream: Stream;
  consumer: StreamConsumer;
  writer: LakeWriter;
  table: LakeTable;
  maxBatchRecords: number;
  maxBatchAgeMs: number;
  logger: Logger;
  onStep: StepHook | undefined;
}

export interface TopicStats {
  rowsWritten: number;
  filesWritten: number;
  batchesWritten: number;
  rejected: number;
  /** Records at or below a partition's checkpoint, already in the lake, skipped. */
  skipped: number;
  /** Buffers dropped because the partition went to another member. */
  buffersDropped: number;
  recoveries: number;
  lastFlushMs: number;
  lastFlushAt: number;
  /**
   * Time spent in each step of the flushes so far, ms (wall clock; the steps of docs/lake-format.md, "Commit
   * protocol"): what a batch costs beyond its rows, for the benchmarks' account of the archive.
   */
  flushStepMs: Record<ProtocolStep, number>;
}

/** A TopicStats with nothing counted yet. */
export function emptyTopicStats(): TopicStats {
  return {
    rowsWritten: 0, filesWritten: 0, batchesWritten: 0, rejected: 0, skipped: 0, buffersDropped: 0, recoveries: 0, lastFlushMs: 0, lastFlushAt: 0,
    flushStepMs: { staged: 0, 'marker-written': 0, checkpointed: 0, 'stream-committed': 0, cleaned: 0 },
  };
}

interface PartitionState {
  /** Last offset durably in the lake (the lake's checkpoint), if any. */
  checkpoint: number | undefined;
  /** Highest offset received: a lower one means the stream re-delivers (the partition was lost and retaken). */
  lastSeen: number;
  buffer: StreamRecord[];
  /** When the oldest buffered record arrived (epoch ms). */
  since: number;
  /** A decided batch to complete, exactly this range, before anything else (its writer died or was fenced off). */
  pending: PendingBatch | undefined;
  /** A flush failed or was superseded after its decision may have been written: recover before the next one. */
  resync: boolean;
}

/**
 * Archives one topic into one lake table: buffers records per partition, writes a batch when a partition has
 * maxBatchRecords records or its oldest one is maxBatchAgeMs old, and commits the stream offset only once the
 * batch is durable in the lake (commit protocol, src/lake/commit.ts). Exactly-once per partition comes from the
 * lake: batch ranges tile the partition's offsets (each starts right after the checkpoint), a range is decided once
 * (put-if-absent), a decided batch left incomplete by a crash is completed by the next owner with exactly that range,
 * and records at or below the checkpoint are skipped.
 */
export class TopicArchiver {
  readonly stats: TopicStats = emptyTopicStats();
  private readonly o: TopicArchiverOptions;
  private readonly partitions = new Map<number, PartitionState>();
  /** Serializes intake and flushes: the poll loop, flush() and stop() all touch the buffers. */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(opts: TopicArchiverOptions) {
    this.o = opts;
  }

  get consumer(): StreamConsumer {
    return this.o.consumer;
  }

  buffered(): number {
    let n = 0;
    for (const s of this.partitions.values()) n += s.buffer.length;
    return n;
  }

  ownedPartitions(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b);
  }

  /** Takes in polled records and writes the batches that are due. */
  handle(records: readonly StreamRecord[]): Promise<void> {
    return this.exclusive(async () => {
      await this.syncAssignment();
      for (const r of records) await this.take(r);
      await this.flushDue(false);
    });
  }

  /** Writes every buffered record now (age and size limits aside). */
  flushAll(): Promise<void> {
    return this.exclusive(() => this.flushDue(true));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async take(r: StreamRecord): Promise<void> {
    let st = this.partitions.get(r.partition);
    if (st && r.offset <= st.lastSeen) {
      // Re-delivery from the committed offset: the partition was lost and taken again since we last looked.
      this.drop(r.partition, 're-delivered from an earlier offset');
      st = undefined;
    }
    if (!st) {
      // Polled just before a rebalance took the partition away: its new owner reads it.
      if (!this.o.consumer.assignment().includes(r.partition)) return;
      st = await this.acquire(r.partition);
    }
    st.lastSeen = r.offset;
    if (st.checkpoint !== undefined && r.offset <= st.checkpoint) {
      this.stats.skipped++;
      return;
    }
    if (st.buffer.length === 0) st.since = Date.now();
    st.buffer.push(r);
  }

  /** First record of a partition since we (re)took it: finish its interrupted batches, learn its checkpoint. */
  private async acquire(partition: number): Promise<PartitionState> {
    const { writer, table, consumer, stream, logger } = this.o;
    const rec = await writer.recover(table, partition);
    if (rec.pending || rec.pruned > 0) this.stats.recoveries++;
    const checkpoint = rec.checkpoint;
    const st: PartitionState = { checkpoint, lastSeen: -1, buffer: [], since: 0, pending: rec.pending, resync: false };
    this.partitions.set(partition, st);
    if (checkpoint !== undefined) {
      const committed = (await stream.lag(consumer.topic, consumer.group)).find((l) => l.partition === partition)?.committed ?? -1;
      if (committed < checkpoint) {
        // The lake is ahead of the group (a crash between steps 4 and 5): catch the group up and skip ahead.
        try {
          await consumer.commit([{ partition, offset: checkpoint }]);
          await consumer.seek(partition, { offset: checkpoint + 1 });
        } catch (e) {
          if (!isNotOwner(e)) throw e;
        }
      }
    }
    logger.info({ table, partition, checkpoint, pending: rec.pending }, 'archive: partition taken');
    return st;
  }

  /**
   * Forgets partitions given to another member and takes new ones, recovering their interrupted batches at once:
   * at start and after each rebalance, even for a partition with nothing new to read.
   */
  private async syncAssignment(): Promise<void> {
    const owned = this.o.consumer.assignment();
    for (const p of [...this.partitions.keys()]) if (!owned.includes(p)) this.drop(p, 'assigned to another member');
    for (const p of owned) if (!this.partitions.has(p)) await this.acquire(p);
  }

  private drop(partition: number, why: string): void {
    const st = this.partitions.get(partition);
    if (!st) return;
    if (st.buffer.length > 0) {
      this.stats.buffersDropped++;
      this.o.logger.info({ table: this.o.table, partition, records: st.buffer.length, why }, 'archive: buffer dropped, the partition\'s owner re-reads it');
    }
    this.partitions.delete(partition);
  }

  private async flushDue(all: boolean): Promise<void> {
    const now = Date.now();
    for (const [partition, st] of [...this.partitions]) {
      while (st.buffer.length >= this.o.maxBatchRecords || (st.pending && st.lastSeen >= st.pending.last)) {
        if (!(await this.flushPartition(partition, st, this.o.maxBatchRecords))) break;
      }
      if (this.partitions.get(partition) !== st) continue; // lost while writing
      if (st.buffer.length > 0 && (all || now - st.since >= this.o.maxBatchAgeMs)) await this.flushPartition(partition, st, st.buffer.length);
    }
  }

  /**
   * One batch through the commit protocol: the pending decided range if there is one (once every record of it has
   * been read), else up to `count` buffered records. True when a batch was stored and the partition is still ours.
   */
  private async flushPartition(partition: number, st: PartitionState, count: number): Promise<boolean> {
    const { writer, table } = this.o;
    if (st.resync) {
      // The failed or superseded flush either decided nothing, or decided a range that is now pending, or another
      // writer went on: the lake's checkpoint and pending batch say which.
      const rec = await writer.recover(table, partition);
      st.checkpoint = rec.checkpoint;
      st.pending = rec.pending;
      const cp = st.checkpoint;
      if (cp !== undefined) st.buffer = st.buffer.filter((r) => r.offset > cp);
      st.resync = false;
    }
    let range: { first: number; last: number };
    let n: number;
    if (st.pending) {
      if (st.lastSeen < st.pending.last) return false; // some of its records are not read yet
      const last = st.pending.last;
      range = { first: st.pending.first, last };
      n = st.buffer.findIndex((r) => r.offset > last);
      if (n < 0) n = st.buffer.length;
    } else {
      n = Math.min(count, st.buffer.length);
      if (n === 0) return false;
      range = { first: st.checkpoint === undefined ? st.buffer[0]!.offset : st.checkpoint + 1, last: st.buffer[n - 1]!.offset };
    }
    try {
      return await this.flushRecords(partition, st, n, range);
    } catch (e) {
      st.resync = true;
      throw e;
    }
  }

  private async flushRecords(partition: number, st: PartitionState, count: number, range: { first: number; last: number }): Promise<boolean> {
    const { writer, table, consumer, logger } = this.o;
    const records = st.buffer.slice(0, count);
    const started = Date.now();
    const info: BatchInfo = { table, partition, firstOffset: range.first, lastOffset: range.last, records: records.length };
    let stepStart = started;
    const step = async (s: ProtocolStep): Promise<void> => {
      const now = Date.now();
      this.stats.flushStepMs[s] += now - stepStart;
      stepStart = now;
      if (this.o.onStep) await this.o.onStep(s, info);
    };
    const batch: StagedBatch = await writer.stage(table, partition, records, range);
    await step('staged');
    if (!consumer.assignment().includes(partition)) {
      // Fenced before the decision: nothing becomes visible, the new owner writes these records.
      await writer.discard(batch);
      this.drop(partition, 'lost before commit');
      return false;
    }
    if ((await writer.writeMarker(batch)) === 'superseded') {
      // Another writer decided a different range here, or went past it: re-read the lake's state before going on.
      await writer.discard(batch);
      st.resync = true;
      logger.warn({ table, partition, first: range.first, last: range.last }, 'archive: batch superseded by another writer; re-reading the lake state');
      return false;
    }
    await step('marker-written');
    await writer.publish(batch);
    st.checkpoint = batch.lastOffset;
    st.pending = undefined;
    st.buffer = st.buffer.slice(count);
    if (st.buffer.length > 0) st.since = Date.now();
    await step('checkpointed');
    let owned = true;
    try {
      await consumer.commit([{ partition, offset: batch.lastOffset }]);
      await step('stream-committed');
    } catch (e) {
      if (!isNotOwner(e)) {
        // The lake is the record of progress; the next commit (or the next owner's recovery) catches the group up.
        logger.warn({ table, partition, err: (e as Error).message }, 'archive: stream commit failed after the batch was stored');
      } else {
        owned = false;
      }
    }
    await writer.discard(batch);
    await step('cleaned');
    this.stats.rowsWritten += batch.rows;
    this.stats.rejected += batch.rejected;
    this.stats.filesWritten += batch.files.filter((f) => f.dst.endsWith('.parquet')).length;
    this.stats.batchesWritten++;
    recordArchiveBatch({ table, files: batch.files.map((f) => ({ key: f.dst, rows: f.rows, bytes: f.bytes })) });
    this.stats.lastFlushAt = Date.now();
    this.stats.lastFlushMs = this.stats.lastFlushAt - started;
    logger.debug({ table, partition, first: info.firstOffset, last: info.lastOffset, rows: batch.rows, files: batch.files.length, ms: this.stats.lastFlushMs }, 'archive: batch stored');
    if (!owned) this.drop(partition, 'commit refused: not the owner any more');
    return owned;
  }
}

export function isNotOwner(e: unknown): boolean {
  return isDwError(e) && e.code === 'DW_STREAM_NOT_OWNER';
}
