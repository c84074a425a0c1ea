import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compactLake, formatResult, LakeWriter, openLakeQuery, type LakeQuery } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents } from './fixtures/sample.ts';
import { recordsOf } from './helpers.ts';

describe('lake query helper', () => {
  const tmp = tempDir('dw-lake-query-');
  const root = path.join(tmp.dir, 'lake');
  const reports = new SampleFleet({ drones: 20, seed: 4, start: Date.UTC(2025, 0, 15, 10, 59, 45) }).reports(300);
  let q: LakeQuery;
  before(async () => {
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf(reports.slice(0, 150)));
    await w.write('reports', 0, recordsOf(reports.slice(150), 150));
    await w.write('alerts', 0, recordsOf(sampleAlertEvents(reports, 10)));
    await w.close();
    q = await openLakeQuery(root, { tenant: 'default' });
  });
  after(async () => {
    await q.close();
    tmp.cleanup();
  });

  it('an empty lake has empty views with the right columns', async () => {
    const empty = await openLakeQuery(path.join(tmp.dir, 'empty'), { tenant: 'default' });
    try {
      for (const view of ['reports', 'alerts', 'alert_events']) {
        const r = await empty.run(`SELECT * FROM ${view}`);
        assert.deepEqual(r.rows, []);
        assert.ok(r.columns.length > 10, view);
      }
      const cols = (await empty.run('DESCRIBE reports')).rows.map((r) => `${r[0]} ${r[1]}`);
      const full = (await q.run('DESCRIBE reports')).rows.map((r) => `${r[0]} ${r[1]}`);
      assert.deepEqual(cols, full);
      const alertCols = (await empty.run('DESCRIBE alert_events')).rows.map((r) => `${r[0]} ${r[1]}`);
      assert.deepEqual(alertCols, (await q.run('DESCRIBE alert_events')).rows.map((r) => `${r[0]} ${r[1]}`));
    } finally {
      await empty.close();
    }
  });

  it('has the views sightings (one row per citizen seen) and words (one row per word heard)', async () => {
    const s = await q.run(`SELECT report_id, citizen, score FROM sightings ORDER BY report_id, citizen, score`);
    const wantS = reports.flatMap((r) => r.citizens.map((c) => [r.reportId, c.name, c.score]))
      .sort((a, b) => (a.join('|') < b.join('|') ? -1 : 1));
    assert.equal(s.rows.length, wantS.length);
    assert.deepEqual(new Set(s.rows.map((r) => JSON.stringify(r))), new Set(wantS.map((r) => JSON.stringify(r))));
    const [[nw]] = (await q.run(`SELECT count(*) FROM words`)).rows as [[number]];
    assert.equal(nw, reports.reduce((n, r) => n + r.words.length, 0));
    const cols = (await q.run('DESCRIBE words')).rows.map((r) => r[0]);
    assert.ok(cols.includes('drone_id') && cols.includes('word') && cols.includes('ts'), 'words columns');
    const empty = await openLakeQuery(path.join(tmp.dir, 'empty-views'), { tenant: 'default' });
    try {
      assert.deepEqual((await empty.run('SELECT citizen, score FROM sightings')).rows, []);
      assert.deepEqual((await empty.run('SELECT word FROM words')).rows, []);
    } finally {
      await empty.close();
    }
  });

  it('returns JSON-friendly values', async () => {
    const r = await q.run(`SELECT count(*) AS n, max(ts) AS latest, min(date) AS d, 12345678901234567890::HUGEINT AS big, [1, 2]::BIGINT[] AS l FROM reports`);
    assert.deepEqual(r.columns, ['n', 'latest', 'd', 'big', 'l']);
    const latest = new Date(Math.max(...reports.map((x) => x.ts))).toISOString();
    assert.deepEqual(r.rows, [[300, latest, '2025-01-15', '12345678901234567890', [1, 2]]]);
    assert.deepEqual(JSON.parse(JSON.stringify(r.rows)), r.rows);
  });

  it('reads only the lake: no writes, no other files, no settings', async () => {
    const outside = path.join(tmp.dir, 'secret.csv');
    writeFileSync(outside, 'a\n1\n');
    const live = q.files().reports[0]!;
    for (const sql of [
      `SELECT * FROM read_csv('${outside}')`,
      `COPY (SELECT 1) TO '${path.join(tmp.dir, 'out.csv')}'`,
      `COPY (SELECT 1) TO '${live}' (FORMAT parquet, USE_TMP_FILE false)`,
      `SET enable_external_access = true`,
      `CREATE TABLE t AS SELECT 1`,
      `ATTACH '${path.join(tmp.dir, 'x.db')}'`,
      `EXPLAIN ANALYZE SELECT 1`,
      `SELECT 1; SELECT 2`,
    ]) {
      await assert.rejects(q.run(sql), (e: Error & { code?: string }) => e.code === 'DW_QUERY_FAILED', sql);
    }
    assert.ok(!existsSync(path.join(tmp.dir, 'out.csv')));
    assert.equal((await q.run('SELECT count(*) FROM reports')).rows[0]![0], 300);
  });

  it('keeps working after compaction replaced the files it listed', async () => {
    const snapshot = await openLakeQuery(root, { tenant: 'default' });
    try {
      const before = snapshot.files().reports;
      const r = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 0 });
      assert.ok(r.merged >= 1);
      assert.ok(before.some((f) => !existsSync(f)), 'some listed file is gone');
      assert.equal((await snapshot.run('SELECT count(DISTINCT report_id) FROM reports')).rows[0]![0], 300);
      assert.notDeepEqual(snapshot.files().reports, before);
    } finally {
      await snapshot.close();
    }
  });

  it('prunes to a time range', async () => {
    const ranged = await openLakeQuery(root, { tenant: 'default', range: { from: new Date(Date.UTC(2025, 0, 15, 11)) } });
    try {
      const [[n]] = (await ranged.run(`SELECT count(*) FROM reports`)).rows as [[number]];
      assert.equal(n, reports.filter((x) => x.ts >= Date.UTC(2025, 0, 15, 11)).length);
      assert.ok(n > 0 && n < 300);
    } finally {
      await ranged.close();
    }
  });

  it('formats results as a table, CSV and JSON', () => {
    const result = { columns: ['id', 'note', 'n', 'tags'], rows: [['a', 'x, "y"\nz', 1, ['p', 'q']], ['b', null, 2.5, []]] };
    assert.equal(formatResult(result, 'csv'), 'id,note,n,tags\r\na,"x, ""y""\nz",1,"[""p"",""q""]"\r\nb,,2.5,[]\r\n');
    assert.deepEqual(JSON.parse(formatResult(result, 'json')), [{ id: 'a', note: 'x, "y"\nz', n: 1, tags: ['p', 'q'] }, { id: 'b', note: null, n: 2.5, tags: [] }]);
    const table = formatResult(result, 'table').split('\n');
    assert.equal(table[0], 'id | note     | n   | tags');
    assert.equal(table[1], '---+----------+-----+----------');
    assert.equal(table[2], 'a  | x, "y" z | 1.0 | ["p","q"]', 'a column\'s numbers with as many decimals as it needs');
    assert.equal(table[3], 'b  | NULL     | 2.5 | []');
    assert.equal(table[4], '(2 rows)');
  });
});
