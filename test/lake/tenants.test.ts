/**
 * Tenants in the lake (issue 7): every data file lives under `<table>/tenant=<t>/`, one batch is split by tenant, a
 * reader given one tenant never lists another's files, and housekeeping (compaction, retention, statistics) works per
 * tenant directory without touching anything else under the lake (old-layout files, the audit log's prefix).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { applyRetention, compactLake, lakeFilesFor, lakeStats, LakeWriter, listLiveFiles, listTenants, liveDataFiles } from '../../src/lake/index.ts';
import { LocalObjectStore } from '../../src/objectstore/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents } from './fixtures/sample.ts';
import { countRows, recordsOf } from './helpers.ts';

const START = Date.UTC(2025, 0, 15, 9, 40);

/** Rows of a query on a private, unrestricted DuckDB: the test's own look at the files. */
async function plainRows(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function tenantsOfFile(file: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const r = await conn.runAndReadAll(`SELECT DISTINCT tenant FROM read_parquet('${file}', hive_partitioning = false) ORDER BY 1`);
    return r.getRowsJS().map((row) => String(row[0]));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Reports of three tenants interleaved in one stream order, over two hours. */
function mixedReports(n: number): ReturnType<SampleFleet['reports']> {
  const tenants = ['paris', 'lyon', 'marseille'];
  return new SampleFleet({ drones: 12, seed: 21, start: START, intervalMs: 60_000 }).reports(n).map((r, i) => ({ ...r, tenant: tenants[i % 3]! }));
}

describe('lake tenants', () => {
  const tmp = tempDir('dw-lake-tenants-');
  const root = path.join(tmp.dir, 'lake');
  const reports = mixedReports(900);
  const count = (t: string): number => reports.filter((r) => r.tenant === t).length;

  before(async () => {
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf(reports.slice(0, 450)));
    await w.write('reports', 0, recordsOf(reports.slice(450), 450));
    await w.write('alerts', 0, recordsOf(sampleAlertEvents(reports, 20)));
    await w.close();
  });
  after(() => tmp.cleanup());

  it('splits each batch by (tenant, date, hour): one file per group, each holding one tenant\'s rows', async () => {
    const w = await LakeWriter.open(path.join(tmp.dir, 'one-batch'));
    const batch = await w.write('reports', 2, recordsOf(reports, 100));
    await w.close();
    const hours = new Set(reports.map((r) => new Date(r.ts).toISOString().slice(0, 13)));
    assert.equal(hours.size, 2, 'the sample spans two hours');
    assert.equal(batch.files.length, 3 * 2, 'three tenants times two hours');
    for (const f of batch.files) {
      const m = /^reports\/tenant=([a-z]+)\/date=2025-01-15\/hour=(09|10)\/p0002-0000000000000100-0000000000000999\.parquet$/.exec(f.dst);
      assert.ok(m, `key ${f.dst}`);
      const local = path.join(tmp.dir, 'one-batch', ...f.dst.split('/'));
      assert.deepEqual(await tenantsOfFile(local), [m[1]], `${f.dst} holds its tenant's rows only`);
    }
    assert.equal(batch.files.reduce((n, f) => n + f.rows, 0), reports.length);
  });

  it('the PARTITION_BY strategy writes the same keys with the tenant column kept in the files', async () => {
    const dir = path.join(tmp.dir, 'partition-by');
    const w = await LakeWriter.open(dir, { strategy: 'partition-by' });
    const batch = await w.write('reports', 2, recordsOf(reports, 100));
    await w.close();
    assert.equal(batch.files.length, 6);
    for (const f of batch.files) {
      const tenant = /tenant=([a-z]+)\//.exec(f.dst)![1]!;
      assert.deepEqual(await tenantsOfFile(path.join(dir, ...f.dst.split('/'))), [tenant], f.dst);
    }
    for (const t of ['paris', 'lyon', 'marseille']) assert.equal(await countRows(dir, 'reports', t), count(t), t);
  });

  it('sends records with an invalid tenant to _rejected, and stores the others', async () => {
    const dir = path.join(tmp.dir, 'invalid');
    const bad = ['../lyon', 'Paris', '', 'a/b', '-x', 'x'.repeat(64), 'lyon\u0000'];
    const values = [...reports.slice(0, 20), ...bad.map((tenant, i) => ({ ...reports[20 + i]!, tenant }))];
    const w = await LakeWriter.open(dir);
    const batch = await w.write('reports', 0, recordsOf(values));
    await w.close();
    assert.equal(batch.rows, 20);
    assert.equal(batch.rejected, bad.length);
    const rejected = readFileSync(path.join(dir, '_rejected', 'reports', readdirSync(path.join(dir, '_rejected', 'reports'))[0]!), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { offset: number; reason: string });
    assert.deepEqual(rejected.map((r) => r.offset), bad.map((_b, i) => 20 + i));
    assert.ok(rejected.every((r) => /tenant must match/.test(r.reason)), JSON.stringify(rejected));
    assert.deepEqual(readdirSync(path.join(dir, 'reports')).sort(), ['tenant=lyon', 'tenant=marseille', 'tenant=paris']);
  });

  it('lists one tenant\'s files only, never another\'s, for every reader', async () => {
    assert.deepEqual(await listTenants(new LocalObjectStore(root), 'reports'), ['lyon', 'marseille', 'paris']);
    const byTenant = new Map<string, string[]>();
    for (const t of ['paris', 'lyon', 'marseille']) {
      const files = await listLiveFiles(root, 'reports', { tenant: t });
      assert.ok(files.length >= 2, `${t}: files in two hours`);
      assert.ok(files.every((f) => f.includes(`${path.sep}tenant=${t}${path.sep}`)), `${t}: own directory only`);
      for (const f of files) assert.deepEqual(await tenantsOfFile(f), [t]);
      byTenant.set(t, files);
      assert.equal(await countRows(root, 'reports', t), count(t));
    }
    const all = [...byTenant.values()].flat();
    assert.equal(new Set(all).size, all.length, 'no file listed for two tenants');
    assert.deepEqual(await listLiveFiles(root, 'reports', { tenant: 'nobody' }), []);
    // Through the cache, as an S3 lake is read: only the tenant's objects are fetched.
    const cached = lakeFilesFor(root, { alwaysCache: true, cacheDir: path.join(tmp.dir, 'cache') });
    try {
      const local = await cached.liveFiles('reports', { tenant: 'lyon' });
      assert.equal(local.length, byTenant.get('lyon')!.length);
      assert.ok(cached.cache()!.fetchedKeys.every((k) => k.startsWith('reports/tenant=lyon/')), cached.cache()!.fetchedKeys.join(' '));
    } finally {
      await cached.close();
    }
  });

  it('refuses a tenant id that is not one (it would become a key prefix)', async () => {
    for (const t of ['../paris', 'paris/../lyon', '', 'PARIS', 'a*', 'tenant=paris']) {
      await assert.rejects(listLiveFiles(root, 'reports', { tenant: t }), (e: Error & { code?: string }) => e.code === 'DW_REQUEST_INVALID', t);
      await assert.rejects(liveDataFiles(new LocalObjectStore(root), 'alerts', { tenant: t }), (e: Error & { code?: string }) => e.code === 'DW_REQUEST_INVALID', t);
    }
  });

  it('ignores old-layout files and foreign prefixes; compaction and retention never touch them or the audit prefix', async () => {
    const dir = path.join(tmp.dir, 'house');
    const w = await LakeWriter.open(dir);
    for (let i = 0; i < 900; i += 150) await w.write('reports', 0, recordsOf(reports.slice(i, i + 150), i));
    await w.close();
    // An old-layout file (no tenant level), an audit log file, a file of an unknown tenant-like name.
    const oldFile = path.join(dir, 'reports', 'date=2025-01-15', 'hour=09', 'p0000-0000000000000000-0000000000000009.parquet');
    const auditFile = path.join(dir, 'audit', 'tenant=paris', 'date=2025-01-15', 'p0000-0000000000000000-0000000000000009.parquet');
    const oddFile = path.join(dir, 'reports', 'tenant=Bad Name', 'date=2025-01-15', 'hour=09', 'p0000-0000000000000000-0000000000000009.parquet');
    for (const f of [oldFile, auditFile, oddFile]) {
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(f, 'not parquet');
    }
    assert.deepEqual(await listTenants(new LocalObjectStore(dir), 'reports'), ['lyon', 'marseille', 'paris']);
    const before = await Promise.all(['paris', 'lyon'].map((t) => listLiveFiles(dir, 'reports', { tenant: t })));
    const r = await compactLake(dir, { table: 'reports', minFiles: 2, olderThanMs: 0 });
    assert.ok(r.merged >= 6, `each tenant's hours merged (${JSON.stringify(r)})`);
    for (const [i, t] of ['paris', 'lyon'].entries()) {
      const afterFiles = await listLiveFiles(dir, 'reports', { tenant: t });
      assert.ok(afterFiles.length < before[i]!.length, `${t}: fewer files`);
      for (const f of afterFiles) assert.deepEqual(await tenantsOfFile(f), [t], `${f}: a merge never mixes tenants`);
      assert.equal(await countRows(dir, 'reports', t), count(t));
    }
    const stats = await lakeStats(dir);
    assert.deepEqual(stats.tables.map((s) => `${s.table}/${s.tenant}`), ['reports/lyon', 'reports/marseille', 'reports/paris']);
    for (const s of stats.tables) assert.equal(s.rows, count(s.tenant), s.tenant);
    const dry = await applyRetention(dir, { table: 'reports', maxAgeDays: 1, now: Date.UTC(2025, 0, 20), dryRun: true });
    assert.deepEqual([...new Set(dry.partitions.map((p) => p.tenant))].sort(), ['lyon', 'marseille', 'paris']);
    assert.ok(dry.partitions.every((p) => p.dir.startsWith(`reports/tenant=${p.tenant}/date=`)), JSON.stringify(dry.partitions));
    const done = await applyRetention(dir, { table: 'reports', maxAgeDays: 1, now: Date.UTC(2025, 0, 20), tenant: 'lyon' });
    assert.ok(done.partitions.length > 0 && done.partitions.every((p) => p.tenant === 'lyon'), 'one tenant only when asked');
    assert.equal(await countRows(dir, 'reports', 'lyon'), 0);
    assert.equal(await countRows(dir, 'reports', 'paris'), count('paris'), 'other tenants keep their rows');
    await applyRetention(dir, { table: 'reports', maxAgeDays: 1, now: Date.UTC(2025, 0, 20) });
    for (const f of [oldFile, auditFile, oddFile]) assert.ok(existsSync(f), `${f} untouched`);
    assert.ok(existsSync(path.join(dir, '_retention', 'reports', 'tenant=paris.json')), 'the cutoff is recorded per tenant');
  });

  it('alert events are split by tenant too', async () => {
    const events = sampleAlertEvents(reports, 20);
    for (const t of ['paris', 'lyon', 'marseille']) {
      const files = await listLiveFiles(root, 'alerts', { tenant: t });
      assert.ok(files.length > 0, t);
      const rows = await plainRows(`SELECT count(*) AS n, count(*) FILTER (WHERE tenant <> '${t}') AS other FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`);
      assert.equal(Number(rows[0]!.n), events.filter((e) => e.alert.tenant === t).length);
      assert.equal(Number(rows[0]!.other), 0);
    }
  });
});
