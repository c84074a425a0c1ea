/**
 * The embedded stream's on-disk format: a schema version 2 file (one row per record) is migrated to batches when
 * opened, with offsets, append times, ids (dedup), heads and group positions kept; an unknown version is refused.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStream } from '../../src/backend/index.ts';
import { tempDir } from '../../src/testkit/index.ts';

/** The version 2 layout, as dronewatch wrote it before batches (the parts these tests touch). */
const V2_DDL = `
CREATE TABLE topics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, partitions INTEGER NOT NULL, max_age_ms INTEGER,
  max_bytes INTEGER, dedup_window_ms INTEGER, created_at INTEGER NOT NULL);
CREATE TABLE heads (topic_id INTEGER NOT NULL, partition INTEGER NOT NULL, next_off INTEGER NOT NULL, last_ts INTEGER NOT NULL,
  bytes INTEGER NOT NULL, PRIMARY KEY (topic_id, partition)) WITHOUT ROWID;
CREATE TABLE groups (topic_id INTEGER NOT NULL, grp TEXT NOT NULL, generation INTEGER NOT NULL, PRIMARY KEY (topic_id, grp)) WITHOUT ROWID;
CREATE TABLE group_partitions (topic_id INTEGER NOT NULL, grp TEXT NOT NULL, partition INTEGER NOT NULL, member_id TEXT,
  epoch INTEGER NOT NULL, committed INTEGER, PRIMARY KEY (topic_id, grp, partition)) WITHOUT ROWID;
`;

interface V2Record { p: number; off: number; ts: number; id: string | null; key: string; value: string; headers: string | null }

function writeV2(file: string, records: V2Record[]): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(V2_DDL);
  db.prepare('INSERT INTO topics VALUES (1, ?, 2, NULL, NULL, 600000, 0)').run('reports');
  for (const p of [0, 1]) {
    db.exec(`CREATE TABLE p_1_${p} (off INTEGER PRIMARY KEY, ts INTEGER NOT NULL, id TEXT, key TEXT NOT NULL, value BLOB NOT NULL, headers TEXT)`);
    const mine = records.filter((r) => r.p === p);
    db.prepare('INSERT INTO heads VALUES (1, ?, ?, ?, ?)').run(p, mine.length, Math.max(0, ...mine.map((r) => r.ts)), mine.reduce((n, r) => n + r.value.length, 0));
  }
  const insert = (p: number) => db.prepare(`INSERT INTO p_1_${p} VALUES (?, ?, ?, ?, ?, ?)`);
  for (const r of records) insert(r.p).run(r.off, r.ts, r.id, r.key, Buffer.from(r.value), r.headers);
  db.prepare("INSERT INTO groups VALUES (1, 'g', 1)").run();
  db.prepare("INSERT INTO group_partitions VALUES (1, 'g', 0, NULL, 1, 1)").run();
  db.prepare("INSERT INTO group_partitions VALUES (1, 'g', 1, NULL, 1, NULL)").run();
  db.pragma('user_version = 2');
  db.close();
}

describe('sqlite stream on-disk format', () => {
  const tmp = tempDir('dw-stream-migrate-');
  after(() => tmp.cleanup());

  it('migrates a version 2 file: same records, offsets, append times, ids and group positions', async () => {
    const file = path.join(tmp.dir, 'v2.db');
    const t0 = Date.now() - 5000;
    const records: V2Record[] = [
      { p: 0, off: 0, ts: t0, id: 'r-a', key: 'k0', value: 'alpha', headers: null },
      { p: 0, off: 1, ts: t0, id: 'r-b', key: 'k0', value: 'beta', headers: '{"h":"v"}' },
      { p: 0, off: 2, ts: t0 + 10, id: null, key: 'k0', value: '', headers: null },
      { p: 0, off: 3, ts: t0 + 20, id: 'r-d', key: 'kø', value: 'delta', headers: null },
      { p: 1, off: 0, ts: t0 + 5, id: 'r-e', key: 'k1', value: 'epsilon', headers: null },
      { p: 1, off: 1, ts: t0 + 30, id: 'r-f', key: 'k1', value: 'phi', headers: null },
    ];
    writeV2(file, records);
    const stream = await SqliteStream.open(file);
    try {
      for (const p of [0, 1]) {
        const got = await stream.read('reports', { partition: p });
        assert.deepEqual(got.map((r) => ({ p: r.partition, off: r.offset, ts: r.timestamp, key: r.key, value: Buffer.from(r.value).toString(), headers: r.headers })),
          records.filter((r) => r.p === p).map((r) => ({ p: r.p, off: r.off, ts: r.ts, key: r.key, value: r.value, headers: r.headers ? JSON.parse(r.headers) : {} })));
      }
      // Time positions still find the first record appended at or after a time.
      assert.deepEqual((await stream.read('reports', { partition: 0, from: { time: t0 + 5 } })).map((r) => r.offset), [2, 3]);
      // The group resumes after its committed offsets (1 in partition 0, none in partition 1).
      const c = await stream.consumer({ topic: 'reports', group: 'g' });
      const polled = await c.poll({ maxRecords: 100, waitMs: 100 });
      assert.deepEqual(polled.map((r) => `${r.partition}:${r.offset}`).sort(), ['0:2', '0:3', '1:0', '1:1']);
      await c.close();
      // Ids of migrated records are still de-duplicated; new records continue the offsets.
      const [dup, fresh] = await stream.publish('reports', [{ key: 'x', value: Buffer.from('again'), id: 'r-b' }, { key: 'k1', value: Buffer.from('new'), id: 'r-g' }]);
      assert.deepEqual(dup, { partition: 0, offset: 1, duplicate: true });
      assert.equal(fresh!.duplicate, false);
      assert.equal(fresh!.offset, records.filter((r) => r.p === fresh!.partition).length);
    } finally {
      await stream.close();
    }
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('user_version', { simple: true }), 3);
    assert.deepEqual(raw.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'p\\_%' ESCAPE '\\'").all(), [], 'the per-record tables are gone');
    raw.close();
  });

  it('refuses a file of an unknown schema version, naming it', async () => {
    const file = path.join(tmp.dir, 'v9.db');
    const db = new Database(file);
    db.pragma('user_version = 9');
    db.close();
    await assert.rejects(SqliteStream.open(file), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'DW_CONFIG_INVALID');
      assert.match((e as Error).message, /schema version 9/);
      return true;
    });
  });
});
