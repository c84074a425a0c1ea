import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { firstAtOrAfter, type TopicCatalog, type TopicMeta } from './catalog.ts';
import { boundsOf, resolveStart } from './positions.ts';
import { trimTail } from './rows.ts';
import type { Db } from './schema.ts';

/** Batch rows deleted per write transaction: keeps each transaction short so publishers are never held up for long. */
const CHUNK = 256;

interface DeleteStmts {
  /** [sum(bytes), count] of the first CHUNK batches starting before an offset. */
  sum: Database.Statement;
  /** Deletes the first CHUNK batches starting before an offset. */
  del: Database.Statement;
  /** [base, last, ts, bytes] of the batches from a base on. */
  sizes: Database.Statement;
}

/**
 * Retention by age and by size, a whole batch at a time (all records of a batch share their append time, so age
 * retention is exact; size retention frees whole batches, like Kafka's segments). Work is split into short write
 * transactions with the event loop yielded between them. Retention does not look at consumer groups: like Kafka, it
 * wins over unconsumed records, and a group whose position fell below the earliest retained offset continues from the
 * earliest.
 */
export class Retention {
  private readonly deletes = new Map<string, DeleteStmts>();
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

  private stmts(meta: TopicMeta, partition: number): DeleteStmts {
    const table = this.catalog.partitionStmts(meta, partition).table;
    let s = this.deletes.get(table);
    if (!s) {
      const first = `SELECT base FROM ${table} WHERE base < ? ORDER BY base LIMIT ${CHUNK}`;
      s = {
        sum: this.db.prepare(`SELECT coalesce(sum(bytes), 0), count(*) FROM ${table} WHERE base IN (${first})`).raw(true),
        del: this.db.prepare(`DELETE FROM ${table} WHERE base IN (${first})`),
        sizes: this.db.prepare(`SELECT base, last, ts, bytes FROM ${table} WHERE base >= ? ORDER BY base LIMIT ${CHUNK}`).raw(true),
      };
      this.deletes.set(table, s);
    }
    return s;
  }

  /** Deletes up to CHUNK batches starting before `end` and keeps the byte count in step; returns how many. Runs inside a transaction. */
  private deleteBefore(meta: TopicMeta, partition: number, end: number): number {
    const s = this.stmts(meta, partition);
    const [bytes, count] = s.sum.get(end) as [number, number];
    if (count === 0) return 0;
    s.del.run(end);
    trimTail(this.catalog.partitionStmts(meta, partition), end);
    this.subBytes.run(bytes, meta.id, partition);
    return count;
  }

  private async byAge(meta: TopicMeta, cutoff: number): Promise<void> {
    for (let p = 0; p < meta.partitions; p++) {
      const step = this.db.transaction((): number => {
        const pstmts = this.catalog.partitionStmts(meta, p);
        const bounds = boundsOf(pstmts, this.nextOff.get(meta.id, p) as number);
        // The first record appended at or after the cutoff starts its batch (a batch's records share their append time).
        const end = resolveStart(pstmts, bounds, { time: cutoff });
        if (end <= bounds.earliest) return 0;
        return this.deleteBefore(meta, p, end);
      }).immediate;
      while (this.isOpen() && step() === CHUNK) await yieldToLoop();
    }
  }

  /** Deletes the oldest batches of the topic (by append time, across partitions) until its values fit in maxBytes. */
  private async bySize(meta: TopicMeta, maxBytes: number): Promise<void> {
    const step = this.db.transaction((): boolean => {
      const total = this.topicBytes.get(meta.id) as number;
      if (total <= maxBytes) return false;
      let oldest = -1;
      let oldestTs = Infinity;
      let secondTs = Infinity;
      let oldestOff = 0;
      for (let p = 0; p < meta.partitions; p++) {
        const first = firstAtOrAfter(this.catalog.partitionStmts(meta, p), 0);
        if (!first) continue;
        if (first[1] < oldestTs) { secondTs = oldestTs; oldest = p; oldestTs = first[1]; oldestOff = first[0]; }
        else if (first[1] < secondTs) secondTs = first[1];
      }
      if (oldest < 0) return false;
      const excess = total - maxBytes;
      let freed = 0;
      let end = oldestOff;
      // Take from the oldest partition while its batches are not newer than any other partition's oldest.
      for (const [, last, ts, bytes] of this.stmts(meta, oldest).sizes.all(oldestOff) as [number, number, number, number][]) {
        if (freed >= excess || (end > oldestOff && ts > secondTs)) break;
        freed += bytes;
        end = last + 1;
      }
      this.deleteBefore(meta, oldest, end);
      return true;
    }).immediate;
    while (this.isOpen() && step()) await yieldToLoop();
  }
}
