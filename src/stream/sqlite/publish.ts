import type Database from 'better-sqlite3';
import { partitionOf, type OutgoingRecord, type PublishAck } from '../types.ts';
import type { TopicCatalog, TopicMeta } from './catalog.ts';
import type { Db } from './schema.ts';

interface Job {
  meta: TopicMeta;
  records: readonly OutgoingRecord[];
  resolve: (acks: PublishAck[]) => void;
  reject: (e: unknown) => void;
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
  private readonly dedupClaim: Database.Statement;
  private readonly dedupGet: Database.Statement;
  private readonly runJobs: (jobs: Job[], now: number) => { acks: PublishAck[][]; topics: Set<string> };

  constructor(private readonly db: Db, private readonly catalog: TopicCatalog, private readonly onCommit: (topics: Set<string>) => void) {
    this.selectHeads = db.prepare('SELECT partition, next_off, last_ts, bytes FROM heads WHERE topic_id = ?').raw(true);
    this.updateHead = db.prepare('UPDATE heads SET next_off = ?, last_ts = ?, bytes = ? WHERE topic_id = ? AND partition = ?');
    this.selectWindow = db.prepare('SELECT dedup_window_ms FROM topics WHERE id = ?').pluck(true);
    // Claims the id for this publish unless a claim younger than the window exists (changes = 0 then).
    this.dedupClaim = db.prepare(`INSERT INTO dedup (topic_id, id, partition, off, ts) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (topic_id, id) DO UPDATE SET partition = excluded.partition, off = excluded.off, ts = excluded.ts WHERE dedup.ts < ?`);
    this.dedupGet = db.prepare('SELECT partition, off FROM dedup WHERE topic_id = ? AND id = ?').raw(true);
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
    let result: { acks: PublishAck[][]; topics: Set<string> };
    try {
      result = this.runJobs(jobs, Date.now());
    } catch (e) {
      for (const j of jobs) j.reject(e);
      return;
    }
    for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(result.acks[i]!);
    this.onCommit(result.topics);
  }

  private apply(jobs: Job[], now: number): { acks: PublishAck[][]; topics: Set<string> } {
    const writes = new Map<number, TopicWrite>();
    const acks: PublishAck[][] = [];
    for (const job of jobs) {
      let w = writes.get(job.meta.id);
      if (!w) { w = this.load(job.meta); writes.set(job.meta.id, w); }
      acks.push(this.append(w, job.records, now));
    }
    const topics = new Set<string>();
    for (const w of writes.values()) {
      for (let p = 0; p < w.touched.length; p++) {
        if (w.touched[p]) this.updateHead.run(w.next[p], w.lastTs[p], w.bytes[p], w.meta.id, p);
      }
      topics.add(w.meta.name);
    }
    return { acks, topics };
  }

  private load(meta: TopicMeta): TopicWrite {
    const n = meta.partitions;
    const w: TopicWrite = { meta, next: new Array<number>(n).fill(0), lastTs: new Array<number>(n).fill(0), bytes: new Array<number>(n).fill(0), touched: new Array<boolean>(n).fill(false), window: 0 };
    for (const [p, next, lastTs, bytes] of this.selectHeads.all(meta.id) as [number, number, number, number][]) {
      w.next[p] = next;
      w.lastTs[p] = lastTs;
      w.bytes[p] = bytes;
    }
    w.window = (this.selectWindow.get(meta.id) as number | null) ?? 0;
    return w;
  }

  private append(w: TopicWrite, records: readonly OutgoingRecord[], now: number): PublishAck[] {
    const { meta, next, lastTs, bytes, touched } = w;
    const topicId = meta.id;
    const partitions = meta.partitions;
    const dedupCutoff = now - w.window;
    const acks: PublishAck[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const p = partitionOf(r.key, partitions);
      const off = next[p]!;
      if (w.window > 0 && r.id !== undefined) {
        if (this.dedupClaim.run(topicId, r.id, p, off, now, dedupCutoff).changes === 0) {
          const [dp, doff] = this.dedupGet.get(topicId, r.id) as [number, number];
          acks[i] = { partition: dp, offset: doff, duplicate: true };
          continue;
        }
      }
      // Append times never go backwards within a partition, so time positions can be found by binary search.
      const ts = now > lastTs[p]! ? now : lastTs[p]!;
      const v = r.value;
      const buf = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      this.catalog.partitionStmts(meta, p).insert.run(off, ts, r.key, buf, headersText(r.headers));
      next[p] = off + 1;
      lastTs[p] = ts;
      bytes[p] = bytes[p]! + v.byteLength;
      touched[p] = true;
      acks[i] = { partition: p, offset: off, duplicate: false };
    }
    return acks;
  }
}

function headersText(h: OutgoingRecord['headers']): string | null {
  if (h === undefined) return null;
  for (const _ in h) return JSON.stringify(h);
  return null;
}
