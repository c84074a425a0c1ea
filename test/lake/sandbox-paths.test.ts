import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LakeSandbox, LakeWriter, openLakeQuery, QueryError, type LakeQuery } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents } from './fixtures/sample.ts';
import { recordsOf } from './helpers.ts';

/**
 * Regression: analysts could read the server's file paths through current_setting('allowed_paths'), duckdb_settings()
 * and duckdb_views() (and the catalog views over them); a NUL byte ended the statement silently while the whole text
 * was audited as run.
 */

const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

describe('analysts can read the server\'s file paths', () => {
  const tmp = tempDir('dw-sandbox-paths-');
  const root = path.join(tmp.dir, 'lake with space');
  const reports = new SampleFleet({ drones: 4, seed: 5, start: Date.UTC(2025, 0, 15, 10, 0, 0) }).reports(40);
  let q: LakeQuery;
  let live: string;
  /** Strings no answer may hold. */
  let secrets: string[];

  before(async () => {
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf(reports));
    await w.write('alerts', 0, recordsOf(sampleAlertEvents(reports, 4)));
    await w.close();
    q = await openLakeQuery(root, { tenant: 'default' });
    live = q.files().reports[0]!;
    secrets = [tmp.dir, root, os.homedir(), process.cwd(), path.dirname(live)].filter((s) => s.length > 1);
  });
  after(async () => {
    await q?.close();
    tmp.cleanup();
  });

  const assertNoPath = (text: string, label: string): void => {
    for (const s of secrets) assert.ok(!text.includes(s), `${label}: the answer holds the server path ${s}: ${text}`);
    assert.doesNotMatch(text, /(^|[\s'"(=])\/(root|home|tmp|etc|var|usr|work)\b/, `${label}: a path in ${text}`);
  };

  it('the fixture is sound: DuckDB would show the paths without the guard', async () => {
    assert.ok(live.startsWith(root), live);
    assert.ok(root.includes(' '), 'a directory name with a space: error messages are scrubbed of known paths whole');
  });

  it('refuses every way to the settings, the view definitions and the catalog, with a clear DW_QUERY_FAILED and no path', async () => {
    const attempts: [string, string][] = [
      ['current_setting allowed_paths', `SELECT current_setting('allowed_paths')`],
      ['current_setting home_directory', `SELECT current_setting('home_directory')`],
      ['current_setting temp_directory', `SELECT current_setting('temp_directory')`],
      ['current_setting extension_directory', `SELECT current_setting('extension_directory')`],
      ['current_setting secret_directory', `SELECT current_setting('secret_directory')`],
      ['current_setting, upper case and quoted', `SELECT "CURRENT_SETTING"('allowed_paths')`],
      ['current_setting, qualified', `SELECT system.main.current_setting('allowed_paths')`],
      ['current_setting in a WHERE subquery', `SELECT count(*) FROM reports WHERE drone_id IN (SELECT current_setting('allowed_paths'))`],
      ['current_setting in a CTE', `WITH x AS (SELECT current_setting('allowed_paths') AS p) SELECT * FROM x`],
      ['current_setting hidden in a lambda', `SELECT list_transform([1], lambda i: current_setting('allowed_paths'))`],
      ['duckdb_settings()', `SELECT * FROM duckdb_settings()`],
      ['FROM duckdb_settings()', `FROM duckdb_settings()`],
      ['duckdb_settings without parentheses', `SELECT * FROM duckdb_settings`],
      ['pg_settings', `SELECT * FROM pg_catalog.pg_settings`],
      ['duckdb_views()', `SELECT sql FROM duckdb_views()`],
      ['duckdb_views view', `SELECT sql FROM duckdb_views`],
      ['information_schema.views', `SELECT view_definition FROM information_schema.views`],
      ['sqlite_master', `SELECT sql FROM sqlite_master`],
      ['pg_views', `SELECT definition FROM pg_views`],
      ['pg_get_viewdef', `SELECT pg_get_viewdef(1)`],
      ['duckdb_databases()', `SELECT * FROM duckdb_databases()`],
      ['duckdb_extensions()', `SELECT install_path FROM duckdb_extensions()`],
      ['pragma_database_list as a table', `SELECT * FROM pragma_database_list`],
      ['duckdb_temporary_files()', `SELECT * FROM duckdb_temporary_files()`],
      ['duckdb_external_file_cache()', `SELECT * FROM duckdb_external_file_cache()`],
      ['duckdb_logs', `SELECT * FROM duckdb_logs`],
      ['duckdb_variables()', `SELECT * FROM duckdb_variables()`],
      ['SUMMARIZE duckdb_settings', `SUMMARIZE duckdb_settings`],
      ['DESCRIBE of a setting', `DESCRIBE SELECT current_setting('allowed_paths')`],
      ['query() of a setting', `SELECT * FROM query('SELECT current_setting(''allowed_paths'')')`],
      ['query_table', `SELECT * FROM query_table('duckdb_settings')`],
      ['histogram over a catalog table', `SELECT * FROM histogram('duckdb_settings', value)`],
      ['serialized SQL run back', `SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT current_setting(''allowed_paths'')'))`],
      ['glob of a live file', `SELECT * FROM glob(${lit(live)})`],
      ['parquet_metadata of a live file', `SELECT file_name FROM parquet_metadata(${lit(live)})`],
      ['PRAGMA database_size', `PRAGMA database_size`],
      ['PRAGMA after a comment', `/* hi */ -- there\n PRAGMA database_size`],
    ];
    const succeeded: string[] = [];
    for (const [label, sql] of attempts) {
      try {
        const r = await q.run(sql);
        succeeded.push(`${label}: ${JSON.stringify(r.rows).slice(0, 200)}`);
      } catch (e) {
        assert.ok(e instanceof QueryError, `${label}: ${String(e)}`);
        assert.equal(e.code, 'DW_QUERY_FAILED', label);
        assert.ok(e.message.length > 20, `${label}: a clear message, got ${e.message}`);
        assertNoPath(e.message, label);
      }
    }
    assert.deepEqual(succeeded, [], 'introspection that answered');
  });

  it('still answers the lake\'s views, introspection of them, generators and the Parquet reader', async () => {
    const n = reports.length;
    assert.equal((await q.run('SELECT count(*) FROM reports')).rows[0]![0], n);
    assert.equal((await q.run('SELECT count(*) FROM main.reports')).rows[0]![0], n);
    assert.equal((await q.run('WITH duckdb_settings AS (SELECT 1 AS x) SELECT x FROM duckdb_settings')).rows[0]![0], 1, 'a CTE may use any name');
    assert.ok((await q.run('DESCRIBE reports')).rows.length > 10);
    assert.ok((await q.run('SUMMARIZE SELECT lat, lon FROM reports')).rows.length === 2);
    assert.ok((await q.run('SHOW TABLES')).rows.some((r) => r[0] === 'reports'));
    assert.ok((await q.run('PRAGMA show_tables')).rows.some((r) => r[0] === 'reports'));
    assert.ok((await q.run(`PRAGMA table_info('reports')`)).rows.length > 10);
    assert.ok((await q.run(`SELECT column_name FROM duckdb_columns() WHERE table_name = 'reports'`)).rows.length > 10);
    assert.equal((await q.run('SELECT sum(range) FROM range(10)')).rows[0]![0], 45);
    assert.equal((await q.run('SELECT count(*) FROM generate_series(1, 5), unnest([1, 2])')).rows[0]![0], 10);
    assert.equal((await q.run(`SELECT count(*) FROM read_parquet(${lit(live)})`)).rows[0]![0], n);
    assert.deepEqual((await q.run(`SELECT 'a/b' AS x, 1 / 2 AS y`)).rows, [['a/b', 0.5]]);
  });

  it('a NUL in the SQL is refused: DuckDB would have run only the text before it', async () => {
    for (const sql of [`SELECT count(*) FROM reports\0 WHERE false`, `SELECT 1;\0 SELECT current_setting('allowed_paths')`, `\0`]) {
      await assert.rejects(q.run(sql), (e: Error & { code?: string }) => e.code === 'DW_QUERY_FAILED' && /NUL character/.test(e.message), JSON.stringify(sql));
      await assert.rejects(q.validate(sql), (e: Error & { code?: string }) => e.code === 'DW_QUERY_FAILED' && /NUL character/.test(e.message));
    }
  });

  it('DuckDB\'s errors about lake files do not name them', async () => {
    const dir = path.join(tmp.dir, 'copy with space');
    mkdirSync(dir);
    const copy = path.join(dir, path.relative(root, live)); // the same hive directories (date=, hour=)
    mkdirSync(path.dirname(copy), { recursive: true });
    copyFileSync(live, copy);
    const sandbox = await LakeSandbox.open({ reports: [copy], alerts: [], incidents: [] }, { tenant: 'default' });
    try {
      rmSync(copy);
      const e = await sandbox.all('SELECT count(*) FROM reports').then(() => undefined, (x: unknown) => x as Error);
      assert.ok(e instanceof QueryError, String(e));
      assert.match(e.message, /<path>/, 'says which kind of thing failed');
      assert.ok(!e.message.includes(tmp.dir) && !e.message.includes('with space'), e.message);
    } finally {
      sandbox.close();
    }
    const opening = await LakeSandbox.open({ reports: [path.join(dir, 'gone.parquet')], alerts: [], incidents: [] }).then(() => undefined, (x: unknown) => x as Error);
    assert.ok(opening instanceof QueryError, String(opening));
    assert.ok(!opening.message.includes(tmp.dir) && !opening.message.includes('with space'), opening.message);
  });
});
