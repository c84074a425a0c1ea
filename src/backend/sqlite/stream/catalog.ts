import { UnknownTopicError } from '../../../errors/index.ts';
import type { TopicConfig } from '../../../stream/types.ts';
import { recordsTable, recordsTableDdl, type Db } from './schema.ts';
import type Database from 'better-sqlite3';
import type { TailBatch } from './rows.ts';

type Stmt = Database.Statement;

/** What never changes about a topic once created (its retention and dedup settings may; they are read from the db). */
export interface TopicMeta {
  id: number;
  name: string;
  partitions: number;
  /** Per partition, prepared lazily. */
  stmts: PartitionStmts[];
}

export interface PartitionStmts {
  table: string;
  /** (base, last, ts, bytes, data) */
  insert: Stmt;
  /** Batch rows [base, last, ts, data] from the one holding an offset (or the first after it) on, in offset order. */
  batchesFrom: Stmt;
  /** [min(base)] */
  earliest: Stmt;
  /** [base, last, ts] of the batch holding an offset and the one after it (firstAtOrAfter picks). */
  spansFrom: Stmt;
  /** [base, last, ts, data] of the batch holding an offset, if retained. */
  batchAt: Stmt;
  /** The last batches this connection appended to the partition, for its own consumers (rows.ts). */
  tail: TailBatch[];
  /** Records the tail holds (kept with it: summing the tail on every append was a loop over ~160 batches a partition). */
  tailHeld: number;
}

/** [offset, ts] of the first retained record at or after an offset, or undefined. */
export function firstAtOrAfter(stmts: PartitionStmts, offset: number): [number, number] | undefined {
  for (const [base, last, ts] of stmts.spansFrom.all(offset) as [number, number, number][]) {
    if (last >= offset) return [Math.max(base, offset), ts];
  }
  return undefined;
}

export interface TopicSettings {
  maxAgeMs: number | null;
  maxBytes: number | null;
  dedupWindowMs: number | null;
}

/** Topic registry of one connection: creates topics, and caches their ids and prepared statements. */
export class TopicCatalog {
  private readonly byName = new Map<string, TopicMeta>();
  private readonly selectTopic: Stmt;
  private readonly selectSettings: Stmt;
  private readonly selectAll: Stmt;

  constructor(private readonly db: Db) {
    this.selectTopic = db.prepare('SELECT id, partitions FROM topics WHERE name = ?');
    this.selectSettings = db.prepare('SELECT max_age_ms AS maxAgeMs, max_bytes AS maxBytes, dedup_window_ms AS dedupWindowMs FROM topics WHERE id = ?');
    this.selectAll = db.prepare('SELECT name FROM topics ORDER BY id');
  }

  ensure(name: string, config: TopicConfig): void {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('topic name must be a non-empty string');
    const partitions = config.partitions;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 65536) throw new RangeError(`partitions must be an integer in 1..65536, got ${partitions}`);
    const db = this.db;
    db.transaction(() => {
      const existing = this.selectTopic.get(name) as { id: number; partitions: number } | undefined;
      const maxAge = config.retention?.maxAgeMs ?? null;
      const maxBytes = config.retention?.maxBytes ?? null;
      const window = config.duplicateWindowMs ?? null;
      if (existing) {
        // The partition count is fixed for the topic's life (keys would move); retention and dedup settings follow the latest call.
        db.prepare('UPDATE topics SET max_age_ms = ?, max_bytes = ?, dedup_window_ms = ? WHERE id = ?').run(maxAge, maxBytes, window, existing.id);
        return;
      }
      const id = Number(db.prepare('INSERT INTO topics (name, partitions, max_age_ms, max_bytes, dedup_window_ms, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(name, partitions, maxAge, maxBytes, window, Date.now()).lastInsertRowid);
      const head = db.prepare('INSERT INTO heads (topic_id, partition, next_off, last_ts, bytes) VALUES (?, ?, 0, 0, 0)');
      for (let p = 0; p < partitions; p++) {
        db.exec(recordsTableDdl(id, p));
        head.run(id, p);
      }
    }).immediate();
  }

  /** The topic, or undefined; looks in the db on a cache miss because another process may have created it. */
  find(name: string): TopicMeta | undefined {
    const cached = this.byName.get(name);
    if (cached) return cached;
    const row = this.selectTopic.get(name) as { id: number; partitions: number } | undefined;
    if (!row) return undefined;
    const meta: TopicMeta = { id: row.id, name, partitions: row.partitions, stmts: [] };
    this.byName.set(name, meta);
    return meta;
  }

  get(name: string): TopicMeta {
    const meta = this.find(name);
    if (!meta) throw new UnknownTopicError(name);
    return meta;
  }

  names(): string[] {
    return (this.selectAll.all() as { name: string }[]).map((r) => r.name);
  }

  settings(meta: TopicMeta): TopicSettings {
    return this.selectSettings.get(meta.id) as TopicSettings;
  }

  partitionStmts(meta: TopicMeta, partition: number): PartitionStmts {
    let s = meta.stmts[partition];
    if (!s) {
      const table = recordsTable(meta.id, partition);
      // The batch holding the offset is the last one starting at or before it (batches tile the offsets).
      const from = `base >= coalesce((SELECT max(base) FROM ${table} WHERE base <= ?), -1)`;
      s = {
        table,
        insert: this.db.prepare(`INSERT INTO ${table} (base, last, ts, bytes, data) VALUES (?, ?, ?, ?, ?)`),
        batchesFrom: this.db.prepare(`SELECT base, last, ts, data FROM ${table} WHERE ${from} ORDER BY base`).raw(true),
        earliest: this.db.prepare(`SELECT min(base) FROM ${table}`).pluck(true),
        spansFrom: this.db.prepare(`SELECT base, last, ts FROM ${table} WHERE ${from} ORDER BY base LIMIT 2`).raw(true),
        batchAt: this.db.prepare(`SELECT base, last, ts, data FROM ${table} WHERE base <= ? ORDER BY base DESC LIMIT 1`).raw(true),
        tail: [],
        tailHeld: 0,
      };
      meta.stmts[partition] = s;
    }
    return s;
  }
}
