/**
 * Tenant isolation of the analysis layer (issue 7): with two police forces' reports in one lake, everything tenant A
 * runs (SQL, statistics, exports, saved queries) sees A's rows only, and crafted SQL aimed at B's files is refused by
 * the engine or finds nothing of B. The engine is given A's files only; the SQL is never trusted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { AnalysisService } from '../../src/analysis/index.ts';
import { snapshotKey } from '../../src/analysis/snapshots.ts';
import { isDwError } from '../../src/errors/index.ts';
import { LakeWriter, listLiveFiles, localLakeFiles, type QueryCursor } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents } from '../lake/fixtures/sample.ts';
import { recordsOf } from '../lake/helpers.ts';
import { analysisConfig, parseCsv, readParquet } from './helpers.ts';
import { openSavedQueryStore } from '../../src/backend/index.ts';

const A = 'paris';
const B = 'lyon';
/** In every drone id of B: a result holding it (or B's tenant id, or B's directory) leaked B's data. */
const MARK = 'LYONSECRET';

function leaks(result: unknown): boolean {
  const text = typeof result === 'string' ? result : JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return text.includes(MARK) || text.includes(`"${B}"`) || text.includes(`tenant=${B}`);
}

async function drain(cursor: QueryCursor | Promise<QueryCursor>): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  for await (const batch of await cursor) rows.push(...batch);
  return rows;
}

/** Rows of `sql` on a private DuckDB without any restriction: what the crafted SQL would return if it were allowed. */
async function unrestricted(sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowsJS();
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('tenant isolation of analysis', () => {
  const tmp = tempDir('dw-analysis-tenants-');
  const root = path.join(tmp.dir, 'lake');
  const start = Date.UTC(2025, 0, 15, 10, 0);
  const mine = new SampleFleet({ drones: 10, seed: 3, citizens: 300, start, tenant: A }).reports(400);
  const theirs = new SampleFleet({ drones: 6, seed: 4, citizens: 300, start, tenant: B }).reports(700)
    .map((r) => ({ ...r, droneId: `${MARK}-${r.droneId}`, reportId: `${MARK}-${r.reportId}` }));
  let svc: AnalysisService;
  let bFile: string;
  let aFile: string;

  before(async () => {
    const w = await LakeWriter.open(root);
    // Interleaved in one stream partition, as ingestion would publish them.
    const mixed = mine.flatMap((r, i) => [r, ...theirs.slice(i * 2, i * 2 + 2)]).concat(theirs.slice(mine.length * 2));
    await w.write('reports', 0, recordsOf(mixed));
    await w.write('alerts', 0, recordsOf(sampleAlertEvents(mixed, 7)));
    await w.close();
    svc = new AnalysisService({ source: localLakeFiles(root), config: analysisConfig(), saved: openSavedQueryStore(path.join(tmp.dir, 'data')) });
    bFile = (await listLiveFiles(root, 'reports', { tenant: B }))[0]!;
    aFile = (await listLiveFiles(root, 'reports', { tenant: A }))[0]!;
  });
  after(async () => {
    await svc?.close();
    svc?.saved?.close();
    tmp.cleanup();
  });

  it('queries and views see the tenant\'s own rows only', async () => {
    assert.deepEqual(await drain(svc.query(A, 'SELECT count(*), count(DISTINCT tenant), min(tenant) FROM reports')), [[mine.length, 1, A]]);
    assert.deepEqual(await drain(svc.query(B, 'SELECT count(*), min(tenant) FROM reports')), [[theirs.length, B]]);
    for (const view of ['reports', 'sightings', 'words', 'alerts', 'alert_events']) {
      const rows = await drain(svc.query(A, `SELECT * FROM ${view}`));
      assert.ok(rows.length > 0, `${view} has A's rows`);
      assert.ok(!leaks(rows), `${view} shows nothing of B`);
    }
    assert.deepEqual(await drain(svc.query(A, `SELECT count(*) FROM reports WHERE tenant = '${B}' OR drone_id LIKE '${MARK}%'`)), [[0]]);
  });

  it('statistics are the tenant\'s own, with or without a time range', async () => {
    for (const params of [{}, { from: '2025-01-15T10:00:00Z', to: '2025-01-16' }]) {
      const rows = await drain(svc.stat(A, 'reports-daily', params));
      assert.equal(rows.reduce((n, r) => n + Number(r[1]), 0), mine.length, JSON.stringify(params));
      const top = await drain(svc.stat(A, 'top-drones', params));
      assert.ok(top.length > 0 && !leaks(top), 'top drones are A\'s');
    }
  });

  it('exports hold the tenant\'s rows only (text and Parquet, ranged or not)', async () => {
    for (const range of [undefined, { from: new Date(start), to: new Date(start + 3_600_000) }]) {
      const csv = path.join(tmp.dir, `a-${range ? 'ranged' : 'all'}.csv`);
      const r = await svc.exportToFile(A, 'SELECT report_id, drone_id, tenant FROM reports', csv, 'csv', { range });
      assert.equal(r.rows, mine.length);
      const text = readFileSync(csv, 'utf8');
      assert.ok(!leaks(text), 'CSV without B');
      assert.deepEqual(new Set(parseCsv(text).slice(1).map((row) => row[2])), new Set([A]));
      const pq = path.join(tmp.dir, `a-${range ? 'ranged' : 'all'}.parquet`);
      assert.equal((await svc.exportToFile(A, 'SELECT * FROM reports', pq, 'parquet', { range })).rows, mine.length);
      const { rows } = await readParquet(pq);
      assert.ok(rows.length === mine.length && rows.every((x) => x.tenant === A), 'Parquet export of A only');
    }
    assert.equal((await drain(svc.exportCursor(A, 'SELECT * FROM reports'))).length, mine.length);
  });

  it('saved queries belong to their tenant: a name is unique per tenant, invisible to the others', async () => {
    const saved = svc.saved!;
    saved.save(A, { name: 'mine', sql: 'SELECT drone_id FROM reports' });
    assert.deepEqual(saved.list(A).map((q) => [q.tenant, q.name]), [[A, 'mine']]);
    assert.deepEqual(saved.list(B), []);
    const notFound = (e: unknown): boolean => isDwError(e) && e.code === 'DW_SAVED_QUERY_NOT_FOUND';
    assert.throws(() => saved.get(B, 'mine'), notFound);
    assert.throws(() => saved.delete(B, 'mine'), notFound);
    // The name is free in B (no replace needed), and saving it there leaves A's alone.
    assert.equal((await saved.save(B, { name: 'mine', sql: 'SELECT count(*) FROM reports' })).tenant, B);
    assert.equal(saved.get(A, 'mine').sql, 'SELECT drone_id FROM reports');
    assert.throws(() => saved.save(A, { name: 'mine', sql: 'SELECT 1' }), (e: unknown) => isDwError(e) && e.code === 'DW_SAVED_QUERY_EXISTS');
  });

  it('the same name in two tenants is two queries, each run over its own tenant', async () => {
    const saved = svc.saved!;
    saved.save(B, { name: 'mine', sql: 'SELECT drone_id FROM reports' }, { replace: true });
    assert.equal(saved.get(A, 'mine').sql, 'SELECT drone_id FROM reports');
    assert.equal(saved.list(B).length, 1);
    const aRows = await drain(svc.query(A, saved.get(A, 'mine').sql));
    assert.equal(aRows.length, mine.length);
    assert.ok(!leaks(aRows));
    const bRows = await drain(svc.query(B, saved.get(B, 'mine').sql));
    assert.equal(bRows.length, theirs.length);
    saved.delete(B, 'mine');
    assert.equal(saved.get(A, 'mine').name, 'mine', 'deleting B\'s left A\'s');
  });

  it('crafted SQL cannot reach the other tenant\'s files', async () => {
    // The crafted SQL would leak if the engine allowed it: an unrestricted DuckDB reads B's rows from B's file.
    assert.ok(leaks(await unrestricted(`SELECT * FROM read_parquet('${bFile}')`)), 'B\'s file holds B\'s rows');
    const lakeDir = root;
    const bRel = path.relative(root, bFile);
    const viaDotDot = path.join(path.dirname(aFile), '..', '..', '..', `tenant=${B}`, ...bRel.split(path.sep).slice(2));
    const attempts = [
      `SELECT * FROM read_parquet('${bFile}')`,
      `SELECT * FROM parquet_scan('${bFile}')`,
      `SELECT * FROM '${bFile}'`,
      `SELECT * FROM read_parquet(['${aFile}', '${bFile}'])`,
      `SELECT * FROM read_parquet('file://${bFile}')`,
      `SELECT * FROM read_parquet('${bFile.replace(`${path.sep}tenant=`, `${path.sep}${path.sep}tenant=`)}')`,
      `SELECT * FROM read_parquet('${viaDotDot.replace(/\\/g, '/')}')`,
      `SELECT * FROM read_parquet('${path.dirname(aFile)}/../../../tenant=${B}/*/*/*.parquet')`,
      `SELECT * FROM read_parquet('${lakeDir}/reports/tenant=${B}/**/*.parquet')`,
      `SELECT * FROM read_parquet('${lakeDir}/reports/*/*/*/*.parquet', hive_partitioning = true)`,
      `SELECT * FROM read_parquet('${lakeDir}/**/*.parquet')`,
      `SELECT * FROM glob('${lakeDir}/**')`,
      `SELECT * FROM glob('${lakeDir}/reports/*')`,
      `SELECT * FROM parquet_metadata('${bFile}')`,
      `SELECT * FROM parquet_schema('${bFile}')`,
      `SELECT * FROM parquet_file_metadata('${bFile}')`,
      `SELECT * FROM parquet_kv_metadata('${bFile}')`,
      `SELECT * FROM read_blob('${bFile}')`,
      `SELECT * FROM read_text('${bFile}')`,
      `SELECT * FROM read_csv('${bFile}')`,
      `SELECT * FROM reports UNION ALL BY NAME SELECT * FROM read_parquet('${bFile}')`,
      `WITH x AS (SELECT * FROM read_parquet('${bFile}')) SELECT * FROM x`,
      `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 2) SELECT * FROM r, read_parquet('${bFile}')`,
      `SELECT * FROM (SELECT '${bFile}' AS f) t, LATERAL (SELECT * FROM read_parquet(t.f))`,
      `SELECT * FROM read_parquet('s3://bucket/lake/reports/tenant=${B}/date=2025-01-15/hour=10/x.parquet')`,
      `SELECT * FROM read_parquet('${bRel.replace(/\\/g, '/')}')`,
      `SELECT * FROM read_parquet('reports/tenant=${B}/**/*.parquet')`,
      `SELECT * FROM reports WHERE tenant = '${B}'`,
      `SELECT * FROM alert_events WHERE tenant = '${B}'`,
      `SELECT current_setting('allowed_paths') AS p`,
      `SELECT * FROM duckdb_settings() WHERE name IN ('allowed_paths', 'allowed_directories')`,
      `SELECT * FROM query_table('read_parquet(''${bFile}'')')`,
      `SELECT * FROM query('SELECT * FROM read_parquet(''${bFile}'')')`,
      `ATTACH '${bFile}' AS b`,
      `SET allowed_paths = ['${bFile}']`,
      `SET enable_external_access = true`,
      `COPY (SELECT 1) TO '${path.join(lakeDir, 'reports', `tenant=${B}`, 'x.parquet')}'`,
      `SELECT 1; SELECT * FROM read_parquet('${bFile}')`,
    ];
    const cwd = process.cwd();
    // Relative paths resolve against the working directory: make it the lake's root, where they would find B's files.
    process.chdir(root);
    try {
      for (const sql of attempts) {
        for (const run of [
          () => drain(svc.query(A, sql)),
          () => drain(svc.query(A, sql, { range: { from: new Date(start) } })),
        ]) {
          let rows: unknown[][] | undefined;
          try {
            rows = await run();
          } catch (e) {
            assert.ok(isDwError(e), `${sql}: refused with a DwError, got ${String(e)}`);
            continue;
          }
          assert.ok(!leaks(rows), `${sql}: returned B's data: ${JSON.stringify(rows).slice(0, 300)}`);
        }
      }
      // The Parquet exporter is a sandbox of its own (with one writable file): the same refusals there.
      for (const sql of attempts.slice(0, 12)) {
        const out = path.join(tmp.dir, `crafted-${Math.random().toString(36).slice(2)}.parquet`);
        let exported = false;
        try {
          await svc.exportToFile(A, sql, out, 'parquet');
          exported = true;
        } catch (e) {
          assert.ok(isDwError(e), `${sql}: refused with a DwError, got ${String(e)}`);
        }
        if (exported) assert.ok(!leaks((await readParquet(out)).rows), `${sql}: exported B's data`);
      }
    } finally {
      process.chdir(cwd);
    }
  });

  it('keeps one snapshot per tenant, dropped when idle', async () => {
    // Long enough for B's first query, which starts B's query-engine process (0.6 s from the sources, idle machine;
    // 2 s and more at a load of 10), to end before A's snapshot is idle.
    const idle = new AnalysisService({ source: localLakeFiles(root), config: analysisConfig(), idleMs: 5000 });
    try {
      await drain(idle.query(A, 'SELECT 1'));
      await drain(idle.query(B, 'SELECT 1'));
      assert.deepEqual(idle.openTenants, [B, A].sort());
      const end = Date.now() + 20_000;
      while (idle.openTenants.length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(idle.openTenants, [], 'idle snapshots dropped');
      assert.equal(idle.running, 0);
      assert.deepEqual(await drain(idle.query(A, 'SELECT count(*) FROM reports')), [[mine.length]], 'a dropped tenant is opened again on use');
    } finally {
      await idle.close();
    }
  });

  it('shares a snapshot between ranges of the same hours, never between tenants; keeps at most maxSnapshots', async () => {
    const h = (iso: string): Date => new Date(iso);
    assert.equal(snapshotKey(A, { from: h('2025-01-15T10:05:00Z'), to: h('2025-01-15T11:59:00Z') }), snapshotKey(A, { from: h('2025-01-15T10:55:00Z'), to: h('2025-01-15T11:00:00Z') }));
    assert.notEqual(snapshotKey(A, { from: h('2025-01-15T10:05:00Z') }), snapshotKey(B, { from: h('2025-01-15T10:05:00Z') }));
    assert.notEqual(snapshotKey(A, { from: h('2025-01-15T10:05:00Z') }), snapshotKey(A, { from: h('2025-01-15T11:05:00Z') }));
    assert.notEqual(snapshotKey(A, undefined), snapshotKey(A, {}));
    const one = new AnalysisService({ source: localLakeFiles(root), config: analysisConfig(), maxSnapshots: 1 });
    try {
      assert.deepEqual(await drain(one.query(A, 'SELECT count(*) FROM reports')), [[mine.length]]);
      const open = await one.query(A, 'SELECT drone_id FROM reports');
      assert.deepEqual(await drain(one.query(B, 'SELECT count(*) FROM reports')), [[theirs.length]]);
      assert.deepEqual(one.openTenants, [B], 'A\'s snapshot dropped for B\'s');
      assert.equal((await drain(open)).length, mine.length, 'a query running on a dropped snapshot finishes');
      assert.equal(one.running, 0);
    } finally {
      await one.close();
    }
  });

  it('refuses a tenant id that is not one, before touching the lake', async () => {
    for (const t of ['../lyon', 'lyon/..', '', 'Lyon']) {
      await assert.rejects(svc.query(t, 'SELECT 1'), (e: unknown) => isDwError(e) && e.code === 'DW_REQUEST_INVALID', t);
      assert.throws(() => svc.saved!.list(t), (e: unknown) => isDwError(e) && e.code === 'DW_REQUEST_INVALID', t);
    }
  });
});
