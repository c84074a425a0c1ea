import type Database from 'better-sqlite3';
import { StorageFullError } from '../../../errors/index.ts';
import { partitionOf, type OutgoingRecord, type PublishAck } from '../../../stream/types.ts';
import type { PartitionStmts, TopicCatalog, TopicMeta } from './catalog.ts';
import { keepTail } from './rows.ts';
import { encodeBatch, forEachId, idAt, type BatchEntry, type StoredBatch } from '../../../stream/batch-codec.ts';
import { DedupIndex, idHash } from './dedup.ts';
import { boundsOf, resolveStart } from './positions.ts';
import type { Db } from './schema.ts';

interface Job {
  meta: TopicMeta;
  records: readonly OutgoingRecord[];
  resolve: (acks: PublishAck[]) => void;
  reject: (e: unknown) => void;
}

/** What one write transaction did: each job's acks, the topics it wrote and the batch rows it inserted. */
interface Applied {
  acks: PublishAck[][];
  topics: Set<string>;
  appended: { stmts: PartitionStmts; batch: StoredBatch }[];
}

/** Write-side state of one topic inside one transaction. */
interface TopicWrite {
  meta: TopicMeta;
  next: number[];
  lastTs: number[];
  bytes: number[];
  touched: boolean[];
  /** Dedup window in ms, 0 = no dedup. */
  window: number;
  dedup: DedupIndex | undefined;
  /** Per partition: the records this transaction appends, stored as one batch row at its end. */
  pending: BatchEntry[][];
  /** Per partition: offset of the first pending record. */
  pendingBase: number[];
  /** Batch rows read to confirm dedup candidates, per partition (a retried batch hits the same few). */
  confirmed: Map<number, StoredBatch[]>;
}

/**
 * Appends records. Publishes issued in the same event-loop turn are committed together in ONE write transaction
 * (group commit): a transaction costs far more than a row, and with synchronous=FULL each commit is an fsync.
 * A publish resolves only after that transaction committed.
 */
export class Publisher {
  private queue: Job[] = [];
  private scheduled = false;
  private readonly selectHeads: Database.Statement;
  private readonly updateHead: Database.Statement;
  private readonly selectWindow: Database.Statement;
  private readonly dedupIndexes = new Map<number, DedupIndex>();
  private readonly runJobs: (jobs: Job[], now: number) => Applied;

  constructor(private readonly db: Db, private readonly catalog: TopicCatalog, private readonly onCommit: (topics: Set<string>) => void) {
    this.selectHeads = db.prepare('SELECT partition, next_off, last_ts, bytes FROM heads WHERE topic_id = ?').raw(true);
    this.updateHead = db.prepare('UPDATE heads SET next_off = ?, last_ts = ?, bytes = ? WHERE topic_id = ? AND partition = ?');
    this.selectWindow = db.prepare('SELECT dedup_window_ms FROM topics WHERE id = ?').pluck(true);
    this.runJobs = db.transaction((jobs: Job[], now: number) => this.apply(jobs, now)).immediate as never;
  }

  publish(meta: TopicMeta, records: readonly OutgoingRecord[]): Promise<PublishAck[]> {
    for (const r of records) {
      if (typeof r.key !== 'string') throw new TypeError('record key must be a string');
      if (!(r.value instanceof Uint8Array)) throw new TypeError('record value must be a Uint8Array');
      if (r.id !== undefined && typeof r.id !== 'string') throw new TypeError('record id must be a string');
    }
    return new Promise<PublishAck[]>((resolve, reject) => {
      this.queue.push({ meta, records, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued; called by the scheduler and, synchronously, by close(). */
  flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    if (jobs.length === 0) return;
    this.queue = [];
    let result: Applied;
    try {
      this.preloadDedup(jobs);
      result = this.runJobs(jobs, Date.now());
    } catch (e) {
      // The index may hold entries of the rolled-back appends: rebuild it from the records next time.
      for (const j of jobs) this.dedupIndexes.delete(j.meta.id);
      const failure = isDiskFull(e) ? new StorageFullError(`the stream database cannot grow: ${(e as Error).message}; nothing of this publish was stored`, 5, e) : e;
      for (const j of jobs) j.reject(failure);
      return;
    }
    // Committed: this connection's consumers may read these batches from memory (rows.ts, keepTail).
    for (const a of result.appended) keepTail(a.stmts, a.batch);
    for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(result.acks[i]!);
    this.onCommit(result.topics);
  }

  private apply(jobs: Job[], now: number): Applied {
    const writes = new Map<number, TopicWrite>();
    const acks: PublishAck[][] = [];
    for (const job of jobs) {
      let w = writes.get(job.meta.id);
      if (!w) { w = this.load(job.meta, now); writes.set(job.meta.id, w); }
      acks.push(this.append(w, job.records, now));
    }
    const topics = new Set<string>();
    const appended: Applied['appended'] = [];
    for (const w of writes.values()) {
      for (let p = 0; p < w.touched.length; p++) {
        if (!w.touched[p]) continue;
        const entries = w.pending[p]!;
        let bytes = 0;
        for (const e of entries) bytes += e.value.byteLength;
        const stmts = this.catalog.partitionStmts(w.meta, p);
        const batch: StoredBatch = { base: w.pendingBase[p]!, last: w.next[p]! - 1, ts: w.lastTs[p]!, data: encodeBatch(entries) };
        stmts.insert.run(batch.base, batch.last, batch.ts, bytes, batch.data);
        appended.push({ stmts, batch });
        this.updateHead.run(w.next[p], w.lastTs[p], w.bytes[p], w.meta.id, p);
        if (w.dedup) w.dedup.indexedUpTo[p] = w.next[p]!;
      }
      topics.add(w.meta.name);
    }
    return { acks, topics, appended };
  }

  private load(meta: TopicMeta, now: number): TopicWrite {
    const n = meta.partitions;
    const w: TopicWrite = {
      meta, next: new Array<number>(n).fill(0), lastTs: new Array<number>(n).fill(0), bytes: new Array<number>(n).fill(0), touched: new Array<boolean>(n).fill(false),
      window: 0, dedup: undefined, pending: Array.from({ length: n }, () => []), pendingBase: new Array<number>(n).fill(0), confirmed: new Map(),
    };
    for (const [p, next, lastTs, bytes] of this.selectHeads.all(meta.id) as [number, number, number, number][]) {
      w.next[p] = next;
      w.lastTs[p] = lastTs;
      w.bytes[p] = bytes;
    }
    w.window = (this.selectWindow.get(meta.id) as number | null) ?? 0;
    // Inside the write transaction: indexes what other processes appended since, so the lookups below are exact.
    if (w.window > 0) w.dedup = this.dedupIndex(meta, w.window, w.next, now);
    return w;
  }

  /**
   * Builds the topic's index before the write transaction (a plain read, which does not hold up other processes'
   * writes), so that the transaction only has to catch up on the last few appends.
   */
  private preloadDedup(jobs: Job[]): void {
    for (const job of jobs) {
      if (this.dedupIndexes.has(job.meta.id) || !job.records.some((r) => r.id !== undefined)) continue;
      const window = (this.selectWindow.get(job.meta.id) as number | null) ?? 0;
      if (window <= 0) continue;
      const next = new Array<number>(job.meta.partitions).fill(0);
      for (const [p, n] of this.selectHeads.all(job.meta.id) as [number, number][]) next[p] = n;
      this.dedupIndex(job.meta, window, next, Date.now());
    }
  }

  /** The topic's dedup index, created from the records of the last window if needed, caught up to `next`. */
  private dedupIndex(meta: TopicMeta, window: number, next: number[], now: number): DedupIndex {
    let index = this.dedupIndexes.get(meta.id);
    if (!index || index.windowMs !== window) {
      index = new DedupIndex(window, meta.partitions, now);
      for (let p = 0; p < meta.partitions; p++) {
        const stmts = this.catalog.partitionStmts(meta, p);
        index.indexedUpTo[p] = resolveStart(stmts, boundsOf(stmts, next[p] ?? 0), { time: now - window });
      }
      this.dedupIndexes.set(meta.id, index);
    }
    index.rotate(now);
    for (let p = 0; p < meta.partitions; p++) {
      const from = index.indexedUpTo[p]!;
      const to = next[p] ?? 0;
      if (to <= from) continue;
      for (const [base, last, ts, data] of this.catalog.partitionStmts(meta, p).batchesFrom.iterate(from) as IterableIterator<[number, number, number, Buffer]>) {
        if (base >= to) break;
        forEachId({ base, last, ts, data }, from, (off, id) => { if (off < to) index.add(idHash(id), p, off); });
      }
      index.indexedUpTo[p] = to;
    }
    return index;
  }

  private append(w: TopicWrite, records: readonly OutgoingRecord[], now: number): PublishAck[] {
    const { meta, next, lastTs, bytes, touched, dedup } = w;
    const partitions = meta.partitions;
    const dedupCutoff = now - w.window;
    const acks: PublishAck[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const p = partitionOf(r.key, partitions);
      const off = next[p]!;
      const id = r.id;
      let hash = 0;
      if (dedup && id !== undefined) {
        hash = idHash(id);
        let original: PublishAck | undefined;
        // A hash hit is only a candidate: the record (in its batch row, or appended earlier in this transaction) must carry this id and be inside the window.
        dedup.find(hash, (dp, doff) => {
          if (!this.holds(w, dp, doff, id, dedupCutoff)) return false;
          original = { partition: dp, offset: doff, duplicate: true };
          return true;
        });
        if (original) { acks[i] = original; continue; }
      }
      // Append times never go backwards within a partition, so time positions can be found by binary search.
      const ts = now > lastTs[p]! ? now : lastTs[p]!;
      const v = r.value;
      const pending = w.pending[p]!;
      if (pending.length === 0) w.pendingBase[p] = off;
      pending.push({ key: r.key, id, headers: headersText(r.headers), value: v });
      if (hash !== 0) dedup!.add(hash, p, off);
      next[p] = off + 1;
      lastTs[p] = ts;
      bytes[p] = bytes[p]! + v.byteLength;
      touched[p] = true;
      acks[i] = { partition: p, offset: off, duplicate: false };
    }
    return acks;
  }

  /** Whether the record at (partition, offset) carries this id and was appended at or after the cutoff. */
  private holds(w: TopicWrite, partition: number, offset: number, id: string, cutoff: number): boolean {
    const pending = w.pending[partition]!;
    const base = w.pendingBase[partition]!;
    // Appended earlier in this transaction (append time: now, inside the window).
    if (pending.length > 0 && offset >= base) return offset - base < pending.length && pending[offset - base]!.id === id;
    let seen = w.confirmed.get(partition);
    let batch = seen?.find((b) => offset >= b.base && offset <= b.last);
    if (!batch) {
      const row = this.catalog.partitionStmts(w.meta, partition).batchAt.get(offset) as [number, number, number, Buffer] | undefined;
      if (!row || row[1] < offset) return false;
      batch = { base: row[0], last: row[1], ts: row[2], data: row[3] };
      if (!seen) w.confirmed.set(partition, (seen = []));
      if (seen.length >= 8) seen.shift();
      seen.push(batch);
    }
    return batch.ts >= cutoff && idAt(batch.data, offset - batch.base) === id;
  }
}

function headersText(h: OutgoingRecord['headers']): string | null {
  if (h === undefined) return null;
  for (const _ in h) return JSON.stringify(h);
  return null;
}

/**
 * SQLite's "database or disk is full" (SQLITE_FULL), or a write the OS refused for want of space: the transaction
 * was rolled back whole, so the publish is refused as DW_STORAGE_FULL (503, retry later) and nothing of it is stored.
 */
function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || (typeof code === 'string' && code.startsWith('SQLITE_IOERR') && /disk|space|full/i.test((e as Error).message));
}
