import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LakeWriter, listLiveFiles, openLakeQuery, QueryError, type LakeQuery } from '../../src/lake/index.ts';
import { sqlStringList } from '../../src/lake/duck.ts';
import { HIVE_TYPES, SCHEMAS } from '../../src/lake/schema.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents } from './fixtures/sample.ts';
import { recordsOf } from './helpers.ts';

/** Rows of a query run on a private, unlocked DuckDB (the test's own view of the files, not the sandbox). */
async function plainRows(sql: string, setup: readonly string[] = []): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    for (const s of setup) await conn.run(s);
    return (await conn.runAndReadAll(sql)).getRowsJS();
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

describe('lake query sandbox (issue 3)', () => {
  const tmp = tempDir('dw-lake-sandbox-');
  const root = path.join(tmp.dir, 'lake');
  const outside = path.join(tmp.dir, 'outside');
  const reports = new SampleFleet({ drones: 10, seed: 7, start: Date.UTC(2025, 0, 15, 10, 0, 0) }).reports(200);
  let q: LakeQuery;
  let live: string;
  let dead: string;
  let staged: string;

  before(async () => {
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf(reports));
    await w.write('alerts', 0, recordsOf(sampleAlertEvents(reports, 10)));
    await w.close();
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.csv'), 'secret\nhunter2\n');
    writeFileSync(path.join(outside, 'secret.txt'), 'hunter2');
    // A Parquet file outside the lake, written by an unrestricted DuckDB so that it really exists.
    await plainRows(`COPY (SELECT 'hunter2' AS secret) TO ${lit(path.join(outside, 'secret.parquet'))} (FORMAT parquet)`);
    q = await openLakeQuery(root, { tenant: 'default' });
    live = q.files().reports[0]!;
    // Files inside the lake directory that are not live: a compaction input left behind (its range lies inside the
    // live file's range) and a file in the staging area.
    const name = path.basename(live);
    const m = /^p(\d+)-(\d+)-(\d+)\.parquet$/.exec(name)!;
    dead = path.join(path.dirname(live), `p${m[1]}-${m[2]}-${Number(m[2]) + 5}.parquet`);
    copyFileSync(live, dead);
    const stagingDir = path.join(root, '_staging', 'reports', 'batch-x');
    mkdirSync(stagingDir, { recursive: true });
    staged = path.join(stagingDir, name);
    copyFileSync(live, staged);
  });
  after(async () => {
    await q?.close();
    tmp.cleanup();
  });

  it('the fixture is sound: the outside files exist and are readable without the sandbox', async () => {
    assert.deepEqual(await plainRows(`SELECT secret FROM read_parquet(${lit(path.join(outside, 'secret.parquet'))})`), [['hunter2']]);
    assert.deepEqual(await plainRows(`SELECT count(*) FROM read_parquet(${lit(dead)})`), [[BigInt(reports.length)]]);
    assert.ok(existsSync(staged));
    assert.deepEqual(await listLiveFiles(root, 'reports', { tenant: 'default' }), [live], 'the copy inside the live file\'s range is not live');
  });

  it('refuses every escape attempt with a clear DW_QUERY_FAILED error', async () => {
    const csv = path.join(outside, 'secret.csv');
    const txt = path.join(outside, 'secret.txt');
    const pq = path.join(outside, 'secret.parquet');
    const out = path.join(outside, 'written');
    const attempts: [string, string][] = [
      ['read_csv of /etc/passwd', `SELECT * FROM read_csv('/etc/passwd')`],
      ['read_csv of a file outside the lake', `SELECT * FROM read_csv(${lit(csv)})`],
      ['read_text outside the lake', `SELECT content FROM read_text(${lit(txt)})`],
      ['read_blob outside the lake', `SELECT content FROM read_blob(${lit(txt)})`],
      ['read_text of /etc/passwd', `SELECT content FROM read_text('/etc/passwd')`],
      ['read_parquet outside the lake', `SELECT * FROM read_parquet(${lit(pq)})`],
      ['replacement scan outside the lake', `SELECT * FROM ${lit(pq)}`],
      ['replacement scan of a csv', `SELECT * FROM ${lit(csv)}`],
      ['parquet_metadata outside the lake', `SELECT * FROM parquet_metadata(${lit(pq)})`],
      ['glob of /etc', `SELECT * FROM glob('/etc/*')`],
      ['glob of the lake directory', `SELECT * FROM glob(${lit(root + '/**')})`],
      ['read_json outside', `SELECT * FROM read_json_auto('/etc/hostname')`],
      ['non-live file inside the lake (compaction leftover)', `SELECT count(*) FROM read_parquet(${lit(dead)})`],
      ['staging file inside the lake', `SELECT count(*) FROM read_parquet(${lit(staged)})`],
      ['COPY TO a file', `COPY (SELECT 1) TO ${lit(out + '.csv')}`],
      ['COPY TO /tmp', `COPY (SELECT 1) TO '/tmp/dw-sandbox-x.csv'`],
      ['COPY FROM', `COPY reports FROM ${lit(csv)}`],
      ['COPY over a live lake file', `COPY (SELECT 1) TO ${lit(live)} (FORMAT parquet)`],
      ['EXPORT DATABASE', `EXPORT DATABASE ${lit(out)}`],
      ['IMPORT DATABASE', `IMPORT DATABASE ${lit(outside)}`],
      ['ATTACH :memory:', `ATTACH ':memory:' AS m`],
      ['ATTACH a file', `ATTACH ${lit(out + '.db')} AS f`],
      ['DETACH', `DETACH memory`],
      ['USE', `USE system`],
      ['INSTALL httpfs', `INSTALL httpfs`],
      ['LOAD httpfs', `LOAD httpfs`],
      ['LOAD a file', `LOAD ${lit(pq)}`],
      ['SET enable_external_access', `SET enable_external_access = true`],
      ['SET allowed_paths', `SET allowed_paths = ['/etc/passwd']`],
      ['SET allowed_directories', `SET allowed_directories = ['/']`],
      ['SET lock_configuration', `SET lock_configuration = false`],
      ['SET threads', `SET threads = 1`],
      ['SET GLOBAL', `SET GLOBAL memory_limit = '1GB'`],
      ['RESET allowed_paths', `RESET allowed_paths`],
      ['RESET ALL', `RESET ALL`],
      ['PRAGMA enable_profiling', `PRAGMA enable_profiling`],
      ['PRAGMA threads', `PRAGMA threads = 1`],
      ['PRAGMA memory_limit', `PRAGMA memory_limit = '1GB'`],
      ['CALL pragma_version', `CALL pragma_version()`],
      ['CALL duckdb_settings', `CALL duckdb_settings()`],
      ['profile output to a file', `PRAGMA profile_output = ${lit(out + '.json')}`],
      ['set_variable', `SET VARIABLE x = 1`],
      ['UPDATE duckdb_settings()', `UPDATE duckdb_settings() SET value = 'true' WHERE name = 'enable_external_access'`],
      ['current_setting then write', `SELECT current_setting('allowed_paths'); SET allowed_paths = ['/']`],
      ['CREATE TABLE', `CREATE TABLE t AS SELECT 1 AS x`],
      ['CREATE TEMP TABLE', `CREATE TEMP TABLE t (x INT)`],
      ['CREATE VIEW', `CREATE VIEW v AS SELECT * FROM read_csv(${lit(csv)})`],
      ['CREATE OR REPLACE VIEW reports', `CREATE OR REPLACE VIEW reports AS SELECT 1 AS x`],
      ['CREATE MACRO', `CREATE MACRO m(x) AS x + 1`],
      ['CREATE SECRET', `CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')`],
      ['CREATE SEQUENCE', `CREATE SEQUENCE s`],
      ['DROP VIEW reports', `DROP VIEW reports`],
      ['ALTER VIEW', `ALTER VIEW reports RENAME TO r2`],
      ['INSERT', `INSERT INTO reports SELECT * FROM reports`],
      ['UPDATE', `UPDATE reports SET tenant = 'x'`],
      ['DELETE', `DELETE FROM reports`],
      ['TRUNCATE', `TRUNCATE reports`],
      ['multiple statements', `SELECT 1; DROP VIEW reports`],
      ['statement after a line comment', `SELECT 1 -- harmless\n; DROP VIEW reports`],
      ['statement hidden after a block comment', `/* SELECT 1 */ DROP VIEW reports`],
      ['trailing statement after comment', `SELECT 1 /* ; */; SET threads = 1`],
      ['EXPLAIN ANALYZE of a write', `EXPLAIN ANALYZE COPY (SELECT 1) TO ${lit(out + '2.csv')}`],
      ['EXPLAIN ANALYZE', `EXPLAIN ANALYZE SELECT count(*) FROM reports`],
      ['CTE with a write', `WITH x AS (DELETE FROM reports RETURNING *) SELECT * FROM x`],
      ['CTE with an INSERT', `WITH x AS (INSERT INTO reports SELECT * FROM reports RETURNING 1) SELECT 1`],
      ['CHECKPOINT', `CHECKPOINT`],
      ['FORCE CHECKPOINT', `FORCE CHECKPOINT`],
      ['VACUUM', `VACUUM`],
      ['BEGIN TRANSACTION', `BEGIN TRANSACTION`],
      ['ROLLBACK', `ROLLBACK`],
      ['PREPARE', `PREPARE p AS SELECT 1`],
      ['EXECUTE', `EXECUTE p`],
      ['DEALLOCATE', `DEALLOCATE p`],
      ['UPDATE EXTENSIONS', `UPDATE EXTENSIONS`],
      ['getenv', `SELECT getenv('HOME')`],
      ['query() of a write', `SELECT * FROM query(${lit(`COPY (SELECT 1) TO '${out}3.csv'`)})`],
      ['query() of a setting', `SELECT * FROM query('SET threads = 1')`],
      ['sniff_csv of /etc/passwd', `SELECT * FROM sniff_csv('/etc/passwd')`],
      ['read_csv of /proc/self/environ', `SELECT * FROM read_csv('/proc/self/environ')`],
      ['persistent secrets directory', `FROM duckdb_secrets()`],
      ['read over http', `SELECT * FROM read_csv('https://example.com/x.csv')`],
      ['relative glob', `SELECT * FROM glob('*')`],
      ['read_parquet via a list mixing live and outside files', `SELECT count(*) FROM read_parquet([${lit(live)}, ${lit(pq)}])`],
      ['path traversal from a live file', `SELECT * FROM read_parquet(${lit(path.dirname(live) + '/../../../../outside/secret.parquet')})`],
      ['glob pattern via read_parquet', `SELECT count(*) FROM read_parquet(${lit(root + '/reports/**/*.parquet')})`],
      ['empty statement', ``],
      ['only a comment', `-- nothing`],
      ['only a semicolon', `;`],
      ['syntax error', `SELEC 1`],
    ];
    const succeeded: string[] = [];
    for (const [label, sql] of attempts) {
      try {
        await q.run(sql);
        succeeded.push(label);
      } catch (e) {
        assert.ok(e instanceof QueryError, `${label}: ${String(e)}`);
        assert.equal(e.code, 'DW_QUERY_FAILED', label);
        assert.ok(e.message.trim().length > 5, `${label}: clear message, got ${JSON.stringify(e.message)}`);
        assert.ok(!/^\s+at /m.test(e.message), `${label}: no stack trace in the message`);
        assert.ok(!/native callback/.test(e.message) || /SQL statement/.test(e.message), `${label}: says what is wrong, got ${JSON.stringify(e.message)}`);
      }
    }
    assert.deepEqual(succeeded, [], 'escape attempts that succeeded');
    assert.ok(attempts.length >= 25);
    for (const f of readdirSync(outside)) assert.ok(!f.startsWith('written'), `wrote ${f}`);
    assert.ok(!existsSync('/tmp/dw-sandbox-x.csv'));
  });

  it('still answers legitimate queries, and the configuration is still locked down', async () => {
    assert.equal((await q.run('SELECT count(*) FROM reports')).rows[0]![0], reports.length);
    assert.equal((await q.run('SELECT count(DISTINCT report_id) FROM reports')).rows[0]![0], reports.length);
    assert.ok(((await q.run('SELECT count(*) FROM alerts')).rows[0]![0] as number) > 0);
    assert.ok((await q.run('DESCRIBE reports')).rows.length > 10);
    // The same read_parquet of a live lake file is allowed: the refusals above are about the files, not the function.
    assert.equal((await q.run(`SELECT count(*) FROM read_parquet(${lit(live)})`)).rows[0]![0], reports.length);
    // PRAGMAs that DuckDB rewrites into SELECTs over the catalog are read-only introspection, like DESCRIBE.
    assert.deepEqual((await q.run('PRAGMA show_tables')).rows.map((r) => r[0]).filter((t) => t === 'reports'), ['reports']);
    assert.deepEqual((await q.run('PRAGMA database_list')).rows.map((r) => r[2]), [null], 'in-memory database, no file');
    // The settings themselves are not readable (they hold the server's paths: test/lake/sandbox-paths.test.ts); that
    // they are locked is shown by the SET / RESET / PRAGMA attempts above, every one refused.
    await assert.rejects(q.run(`SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration')`),
      (e: Error & { code?: string }) => e.code === 'DW_QUERY_FAILED');
  });

  it('does not open the spill directory to queries', async () => {
    // With external access off, DuckDB allows its temp directory (default `.tmp` under the working directory):
    // any file there would be readable. The sandbox runs without a spill directory, so nothing is allowed.
    const cwd = path.join(tmp.dir, 'cwd');
    mkdirSync(path.join(cwd, '.tmp'), { recursive: true });
    writeFileSync(path.join(cwd, '.tmp', 'leak.csv'), 'secret\nhunter2\n');
    const before = process.cwd();
    let inCwd: LakeQuery;
    process.chdir(cwd);
    try {
      inCwd = await openLakeQuery(root, { tenant: 'default' });
    } finally {
      process.chdir(before);
    }
    try {
      for (const sql of [`SELECT * FROM read_csv(${lit(path.join(cwd, '.tmp', 'leak.csv'))})`, `SELECT * FROM glob(${lit(path.join(cwd, '.tmp', '*'))})`]) {
        await assert.rejects(inCwd.run(sql), (e: Error & { code?: string }) => e.code === 'DW_QUERY_FAILED' && /disabled/.test(e.message), sql);
      }
      assert.equal((await inCwd.run('SELECT count(*) FROM reports')).rows[0]![0], reports.length);
    } finally {
      await inCwd.close();
    }
  });
});

describe('partition pruning (issue 3)', () => {
  const tmp = tempDir('dw-lake-prune-');
  const root = path.join(tmp.dir, 'lake');
  const DAY = '2025-01-15';
  // Day one spans two hour directories, day two one: three files, two of them on day one.
  const dayOne = new SampleFleet({ drones: 5, seed: 11, start: Date.UTC(2025, 0, 15, 10, 59, 30) }).reports(120);
  const dayTwo = new SampleFleet({ drones: 5, seed: 12, start: Date.UTC(2025, 0, 16, 8, 0, 0) }).reports(80);
  before(async () => {
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf([...dayOne, ...dayTwo]));
    await w.close();
  });
  after(() => tmp.cleanup());

  it('a query on one day, opened with that range, lists and reads only that day\'s files', async () => {
    const all = await openLakeQuery(root, { tenant: 'default' });
    const day = await openLakeQuery(root, { tenant: 'default', range: { from: new Date(`${DAY}T00:00:00Z`), to: new Date(`${DAY}T23:59:59.999Z`) } });
    try {
      const allFiles = all.files().reports;
      const dayFiles = day.files().reports;
      assert.ok(allFiles.some((f) => !f.includes(`/date=${DAY}/`)), 'the lake holds another day');
      assert.ok(dayFiles.length >= 2 && dayFiles.length < allFiles.length);
      assert.deepEqual(dayFiles, allFiles.filter((f) => f.includes(`/date=${DAY}/`)));
      const inDay = dayOne.filter((r) => new Date(r.ts).toISOString().startsWith(DAY)).length;
      assert.equal((await day.run('SELECT count(*) FROM reports')).rows[0]![0], inDay);
      assert.deepEqual((await day.run('SELECT DISTINCT date FROM reports')).rows, [[DAY]]);
      // The other day's files are outside the sandbox of this snapshot: not even read_parquet reaches them.
      const other = allFiles.find((f) => !f.includes(`/date=${DAY}/`))!;
      await assert.rejects(day.run(`SELECT count(*) FROM read_parquet(${lit(other)})`), (e: Error & { code?: string }) => e.code === 'DW_QUERY_FAILED');
    } finally {
      await all.close();
      await day.close();
    }
  });

  it('DuckDB\'s EXPLAIN shows a date filter on the hive partitions scanning only that day\'s files', async () => {
    const files = await listLiveFiles(root, 'reports', { tenant: 'default' });
    const expected = files.filter((f) => f.includes(`/date=${DAY}/`)).length;
    assert.ok(expected >= 2 && expected < files.length);
    // The same view the lake query builds, on an unlocked DuckDB so that EXPLAIN is allowed.
    const view = `CREATE VIEW reports AS SELECT ${SCHEMAS.reports.viewProjection} FROM read_parquet(${sqlStringList(files)}, hive_partitioning = true, hive_types = ${HIVE_TYPES})`;
    const plan = async (sql: string): Promise<string> => (await plainRows(sql, [view])).map((r) => r.join('\n')).join('\n');
    const filtered = await plan(`EXPLAIN SELECT report_id, lat FROM reports WHERE date = DATE '${DAY}'`);
    assert.match(filtered, /File Filters:/);
    const scanning = /Scanning Files: (\d+)\/(\d+)/.exec(filtered);
    assert.ok(scanning, filtered);
    assert.deepEqual([Number(scanning[1]), Number(scanning[2])], [expected, files.length]);
    const analyzed = await plan(`EXPLAIN ANALYZE SELECT report_id, lat FROM reports WHERE date = DATE '${DAY}'`);
    assert.equal(Number(/Total Files Read: (\d+)/.exec(analyzed)?.[1]), expected, analyzed);
    // Without the date filter every file is read.
    const unfiltered = await plan(`EXPLAIN ANALYZE SELECT report_id, lat FROM reports`);
    assert.equal(Number(/Total Files Read: (\d+)/.exec(unfiltered)?.[1]), files.length, unfiltered);
  });
});
