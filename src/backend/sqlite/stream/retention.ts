import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { TopicCatalog, TopicMeta } from './catalog.ts';
import { boundsOf, resolveStart } from './positions.ts';
import type { Db } from './schema.ts';

/** Rows deleted per write transaction: keeps each transaction short so publishers are never held up for long. */
const CHUNK = 5000;

/**
 * Retention by age and by size. Work is split into short write transactions with the event
 * loop yielded between them. Retention does not look at consumer groups: like Kafka, it wins over unconsumed records,
 * and a group whose position fell below the earliest retained offset continues from the earliest.
 */
export class Retention {
  private readonly deletes = new Map<string, { bytes: Database.Statement; del: Database.Statement; sizes: Database.Statement }>();
  private readonly nextOff: Database.Statement;
  private readonly topicBytes: Database.Statement;
  private readonly subBytes: Database.Statement;

  constructor(private readonly db: Db, private readonly catalog: TopicCatalog, private readonly isOpen: () => boolean) {
    this.nextOff = db.prepare('SELECT next_off FROM heads WHERE topic_id = ? AND partition = ?').pluck(true);
    this.topicBytes = db.prepare('SELECT coalesce(sum(bytes), 0) FROM heads WHERE topic_id = ?').pluck(true);
    this.subBytes = db.prepare('UPDATE heads SET bytes = bytes - ? WHERE topic_id = ? AND partition = ?');
  }

  async enforce(now: number): Promise<void> {
    for (const name of this.catalog.names()) {
      if (!this.isOpen()) return;
      const meta = this.catalog.get(name);
      const settings = this.catalog.settings(meta);
      if (settings.maxAgeMs != null) await this.byAge(meta, now - settings.maxAgeMs);
      if (settings.maxBytes != null) await this.bySize(meta, settings.maxBytes);
    }
  }

  private stmts(meta: TopicMeta, partition: number): { bytes: Database.Statement; del: Database.Statement; sizes: Database.Statement } {
    const table = this.catalog.partitionStmts(meta, partition).table;
    let s = this.deletes.get(table);
    if (!s) {
      s = {
        bytes: this.db.prepare(`SELECT coalesce(sum(length(value)), 0) FROM ${table} WHERE off >= ? AND off < ?`).pluck(true),
        del: this.db.prepare(`DELETE FROM ${table} WHERE off >= ? AND off < ?`),
        sizes: this.db.prepare(`SELECT off, ts, length(value) FROM ${table} WHERE off >= ? ORDER BY off LIMIT ${CHUNK}`).raw(true),
      };
      this.deletes.set(table, s);
    }
    return s;
  }

  /** Deletes [from, to) of a partition and keeps the byte count in step. Runs inside a transaction. */
  private deleteRange(meta: TopicMeta, partition: number, from: number, to: number): void {
    const s = this.stmts(meta, partition);
    const bytes = s.bytes.get(from, to) as number;
    s.del.run(from, to);
    this.subBytes.run(bytes, meta.id, partition);
  }

  private async byAge(meta: TopicMeta, cutoff: number): Promise<void> {
    for (let p = 0; p < meta.partitions; p++) {
      const step = this.db.transaction((): number => {
        const pstmts = this.catalog.partitionStmts(meta, p);
        const bounds = boundsOf(pstmts, this.nextOff.get(meta.id, p) as number);
        const end = Math.min(resolveStart(pstmts, bounds, { time: cutoff }), bounds.earliest + CHUNK);
        if (end <= bounds.earliest) return 0;
        this.deleteRange(meta, p, bounds.earliest, end);
        return end - bounds.earliest;
      }).immediate;
      while (this.isOpen() && step() === CHUNK) await yieldToLoop();
    }
  }

  /** Deletes the oldest records of the topic (by append time, across partitions) until its values fit in maxBytes. */
  private async bySize(meta: TopicMeta, maxBytes: number): Promise<void> {
    const step = this.db.transaction((): boolean => {
      const total = this.topicBytes.get(meta.id) as number;
      if (total <= maxBytes) return false;
      let oldest = -1;
      let oldestTs = Infinity;
      let secondTs = Infinity;
      let oldestOff = 0;
      for (let p = 0; p < meta.partitions; p++) {
        const first = this.catalog.partitionStmts(meta, p).firstAtOrAfter.get(0) as [number, number] | undefined;
        if (!first) continue;
        if (first[1] < oldestTs) { secondTs = oldestTs; oldest = p; oldestTs = first[1]; oldestOff = first[0]; }
        else if (first[1] < secondTs) secondTs = first[1];
      }
      if (oldest < 0) return false;
      const excess = total - maxBytes;
      let freed = 0;
      let end = oldestOff;
      // Take from the oldest partition while its records are not newer than any other partition's oldest.
      for (const [off, ts, len] of this.stmts(meta, oldest).sizes.all(oldestOff) as [number, number, number][]) {
        if (freed >= excess || (end > oldestOff && ts > secondTs)) break;
        freed += len;
        end = off + 1;
      }
      this.deleteRange(meta, oldest, oldestOff, end);
      return true;
    }).immediate;
    while (this.isOpen() && step()) await yieldToLoop();
  }
}
