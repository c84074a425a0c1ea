import Database from 'better-sqlite3';
import { ConfigError } from '../../../errors/index.ts';
import { encodeBatch, type BatchEntry } from '../../../stream/batch-codec.ts';
import { openWalDatabase } from '../open-db.ts';

export type Db = Database.Database;
export type SyncLevel = 'normal' | 'full';

/**
 * Bumped when the layout below changes incompatibly. Version 2 (one row per record) is migrated in place when opened;
 * any other version is refused rather than misread.
 */
const SCHEMA_VERSION = 3;

/**
 * One table per (topic, partition) holds the records, one row per batch (batch-codec.ts) keyed by the offset of its
 * first record (`base` is the rowid), so an append is one insert at the right edge of its own B-tree (SQLite's fast
 * path, pages filled completely) and a partition scan is a rowid range. The publish ids (de-duplication) live in the
 * batch; see dedup.ts for why there is no id index table.
 * Everything else is small bookkeeping shared by all processes that open the file.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS topics (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  partitions INTEGER NOT NULL,
  max_age_ms INTEGER,
  max_bytes INTEGER,
  dedup_window_ms INTEGER,
  created_at INTEGER NOT NULL
);
-- Per partition: next offset to assign, last append time (kept monotonic), bytes of values retained.
CREATE TABLE IF NOT EXISTS heads (
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  next_off INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY (topic_id, partition)
) WITHOUT ROWID;
-- A consumer group of a topic; generation changes whenever membership or ownership changes.
CREATE TABLE IF NOT EXISTS groups (
  topic_id INTEGER NOT NULL,
  grp TEXT NOT NULL,
  generation INTEGER NOT NULL,
  PRIMARY KEY (topic_id, grp)
) WITHOUT ROWID;
-- Groups that exist only while they have members (ConsumerOptions.transient): deleted with their last member.
CREATE TABLE IF NOT EXISTS transient_groups (
  topic_id INTEGER NOT NULL,
  grp TEXT NOT NULL,
  PRIMARY KEY (topic_id, grp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
  topic_id INTEGER NOT NULL,
  grp TEXT NOT NULL,
  member_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (topic_id, grp, member_id)
) WITHOUT ROWID;
-- Owner (NULL = free), fencing epoch and committed offset (NULL = none) of each partition for each group.
CREATE TABLE IF NOT EXISTS group_partitions (
  topic_id INTEGER NOT NULL,
  grp TEXT NOT NULL,
  partition INTEGER NOT NULL,
  member_id TEXT,
  epoch INTEGER NOT NULL,
  committed INTEGER,
  PRIMARY KEY (topic_id, grp, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

export function recordsTable(topicId: number, partition: number): string {
  return `b_${topicId}_${partition}`;
}

/** base..last: the batch's offsets; ts: the append time of all its records; bytes: the sum of its values' sizes. */
export function recordsTableDdl(topicId: number, partition: number): string {
  return `CREATE TABLE IF NOT EXISTS ${recordsTable(topicId, partition)} (
    base INTEGER PRIMARY KEY,
    last INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    data BLOB NOT NULL
  )`;
}

export interface OpenDbOptions {
  sync: SyncLevel;
  busyTimeoutMs: number;
}

/**
 * Opens (creating if needed) the stream database. WAL lets readers in other processes run while one process writes;
 * `busy_timeout` makes concurrent writers queue instead of failing, which is fine because every write transaction
 * here is short.
 */
export function openDb(file: string, opts: OpenDbOptions): Db {
  const db = openWalDatabase(file, { busyTimeoutMs: opts.busyTimeoutMs });
  try {
    // NORMAL in WAL mode: a commit is in the WAL (OS page cache) when it returns, so it survives a crash of the
    // process; FULL also fsyncs the WAL on each commit, so it survives power loss.
    db.pragma(`synchronous = ${opts.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('cache_size = -32768');
    db.pragma('temp_store = MEMORY');
    // Keeps the WAL file from staying huge after a burst once it has been checkpointed.
    db.pragma('journal_size_limit = 67108864');
    db.transaction(() => {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== 0 && version !== 2 && version !== SCHEMA_VERSION) {
        throw new ConfigError(`stream database ${file} has schema version ${version}; this dronewatch reads versions 2 (migrated when opened) and ${SCHEMA_VERSION}`);
      }
      db.exec(DDL);
      if (version === 2) migrateFromV2(db);
      if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Records per batch row written by the migration (records appended by one transaction share an append time). */
const MIGRATION_BATCH = 1000;

/**
 * Version 2 kept one row per record in `p_<topic>_<partition>` (off, ts, id, key, value, headers). Each partition's
 * rows are rewritten as batches of consecutive records with the same append time, in the opening transaction:
 * offsets, append times, ids (dedup), heads and group positions are unchanged, so consumers resume where they were.
 */
function migrateFromV2(db: Db): void {
  const topics = db.prepare('SELECT id, partitions FROM topics').all() as { id: number; partitions: number }[];
  for (const { id, partitions } of topics) {
    for (let p = 0; p < partitions; p++) {
      const old = `p_${id}_${p}`;
      const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(old);
      db.exec(recordsTableDdl(id, p));
      if (!exists) continue;
      const insert = db.prepare(`INSERT INTO ${recordsTable(id, p)} (base, last, ts, bytes, data) VALUES (?, ?, ?, ?, ?)`);
      let entries: BatchEntry[] = [];
      let base = 0;
      let ts = 0;
      let bytes = 0;
      const flush = (): void => {
        if (entries.length === 0) return;
        insert.run(base, base + entries.length - 1, ts, bytes, encodeBatch(entries));
        entries = [];
        bytes = 0;
      };
      // In pages, so that a large partition is never all in memory.
      const page = db.prepare(`SELECT off, ts, id, key, value, headers FROM ${old} WHERE off >= ? ORDER BY off LIMIT 10000`).raw(true);
      for (let from = 0; ;) {
        const rows = page.all(from) as [number, number, string | null, string, Buffer, string | null][];
        if (rows.length === 0) break;
        for (const [off, t, rid, key, value, headers] of rows) {
          if (entries.length > 0 && (t !== ts || off !== base + entries.length || entries.length >= MIGRATION_BATCH)) flush();
          if (entries.length === 0) { base = off; ts = t; }
          entries.push({ key, id: rid ?? undefined, headers, value });
          bytes += value.byteLength;
        }
        from = rows[rows.length - 1]![0] + 1;
      }
      flush();
      db.exec(`DROP TABLE ${old}`);
    }
  }
}
