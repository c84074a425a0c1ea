/**
 * Exports on a lake on a real HDFS (a NameNode and three DataNodes, replication 3) give what they give on local disk:
 * the same reports are written through the project's writer to both lakes, and every export path (a file in each
 * format, a statistic over a period that prunes hour partitions, the download cursor the HTTP API streams, and the
 * `dronewatch export` command) answers the same bytes or rows on HDFS as on the local lake. Skips with the install
 * hint when HDFS is missing, fails under CI=true.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AnalysisService, EXPORT_FORMATS } from '../../src/analysis/index.ts';
import { lakeFilesFor, LakeWriter, localLakeFiles, type LakeFileSet, type QueryCursor } from '../../src/lake/index.ts';
import { hdfsOrSkip, startHdfs, tempDir, type HdfsTestCluster } from '../../src/testkit/index.ts';
import { runCli } from '../cli/helpers.ts';
import { SampleFleet, sampleAlertEvents } from '../lake/fixtures/sample.ts';
import { recordsOf } from '../lake/helpers.ts';
import { analysisConfig, fromParquet, readParquet } from './helpers.ts';

const T = 'default';
// Two days of reports from 12 drones, one a minute each, crossing midnight UTC: 48 hour partitions.
const reports = new SampleFleet({ drones: 12, seed: 5, citizens: 150, start: Date.UTC(2025, 0, 20, 0, 0), intervalMs: 4 * 60_000 }).reports(8640);
const events = sampleAlertEvents(reports, 9);
const SQL = 'SELECT report_id, drone_id, ts, lat, lon, citizen_count, min_score, words FROM reports ORDER BY report_id';
const STAT = { name: 'hotspots', params: { from: '2025-01-20T20:00:00Z', to: '2025-01-21T03:00:00Z', cell: 0.01 } } as const;

async function writeLake(lake: string): Promise<void> {
  const w = await LakeWriter.open(lake);
  try {
    await w.write('reports', 0, recordsOf(reports.slice(0, 5000)));
    await w.write('reports', 1, recordsOf(reports.slice(5000)));
    await w.write('alerts', 0, recordsOf(events));
  } finally {
    await w.close();
  }
}

async function drain(cursor: Promise<QueryCursor>): Promise<{ columns: string[]; rows: unknown[][] }> {
  const c = await cursor;
  const rows: unknown[][] = [];
  for await (const batch of c) rows.push(...batch);
  return { columns: [...c.columns], rows };
}

describe('exports on a lake on HDFS (WebHDFS) answer as on local disk', { skip: hdfsOrSkip(), timeout: 300_000 }, () => {
  const tmp = tempDir('dw-export-hdfs-');
  const localLake = path.join(tmp.dir, 'local-lake');
  const out = path.join(tmp.dir, 'out');
  let hdfs: HdfsTestCluster;
  let hdfsLake: string;
  let hdfsFiles: LakeFileSet;
  let onHdfs: AnalysisService;
  let onDisk: AnalysisService;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    hdfs = await startHdfs();
    for (const [k, v] of Object.entries(hdfs.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    hdfsLake = await hdfs.lake('lake');
    await Promise.all([writeLake(hdfsLake), writeLake(localLake)]);
    mkdirSync(out);
    hdfsFiles = lakeFilesFor(hdfsLake, { cacheDir: path.join(tmp.dir, 'cache') });
    onHdfs = new AnalysisService({ source: hdfsFiles, config: analysisConfig() });
    onDisk = new AnalysisService({ source: localLakeFiles(localLake), config: analysisConfig() });
  }, { timeout: 150_000 });

  after(async () => {
    await onHdfs?.close();
    await onDisk?.close();
    await hdfsFiles?.close();
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    await hdfs?.stop();
    tmp.cleanup();
  }, { timeout: 60_000 });

  it('writes every format to a file: the same text (CSV, JSON, NDJSON) and the same rows (Parquet), every report once', async () => {
    for (const format of EXPORT_FORMATS) {
      const [h, d] = await Promise.all([
        onHdfs.exportToFile(T, SQL, path.join(out, `hdfs.${format}`), format),
        onDisk.exportToFile(T, SQL, path.join(out, `disk.${format}`), format),
      ]);
      assert.equal(h.rows, reports.length, `${format}: every report once`);
      assert.equal(h.rows, d.rows, `${format}: rows`);
      if (format === 'parquet') {
        const [hp, dp] = await Promise.all([readParquet(path.join(out, 'hdfs.parquet')), readParquet(path.join(out, 'disk.parquet'))]);
        assert.deepEqual(hp.columns, dp.columns);
        assert.deepEqual(hp.rows.map((r) => fromParquet(r)), dp.rows.map((r) => fromParquet(r)), 'parquet rows');
      } else {
        assert.equal(readFileSync(path.join(out, `hdfs.${format}`), 'utf8'), readFileSync(path.join(out, `disk.${format}`), 'utf8'), `${format}: same text`);
      }
    }
  });

  it('exports a statistic over a period (hour partitions pruned) and streams the download cursor as on disk', async () => {
    const sql = onHdfs.statSql(STAT.name, STAT.params);
    const range = onHdfs.statRange(STAT.params);
    assert.ok(range, 'the period prunes the lake');
    const [h, d] = await Promise.all([
      onHdfs.exportToFile(T, sql, path.join(out, 'stat-hdfs.csv'), 'csv', { range }),
      onDisk.exportToFile(T, sql, path.join(out, 'stat-disk.csv'), 'csv', { range }),
    ]);
    assert.ok(h.rows > 0, 'the period has hotspots');
    assert.equal(readFileSync(path.join(out, 'stat-hdfs.csv'), 'utf8'), readFileSync(path.join(out, 'stat-disk.csv'), 'utf8'));
    assert.equal(h.rows, d.rows);
    const alerts = 'SELECT alert_id, status, occurrences, raised_at FROM alerts ORDER BY alert_id';
    const [hc, dc] = await Promise.all([drain(onHdfs.exportCursor(T, alerts)), drain(onDisk.exportCursor(T, alerts))]);
    assert.equal(hc.rows.length, new Set(events.map((e) => e.alert.alertId)).size, 'every alert once');
    assert.deepEqual(hc, dc);
  });

  it('dronewatch export --lake webhdfs://... writes the file the local lake gives', async () => {
    const data = path.join(tmp.dir, 'data');
    const file = path.join(out, 'cli.csv');
    const r = await runCli(['--lake', hdfsLake, '--data', data, 'export', '--sql', SQL, '--out', file],
      { env: { ...hdfs.env, DRONEWATCH_LOG_LEVEL: 'warn' }, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${reports.length.toLocaleString('en-US')} rows`));
    await onDisk.exportToFile(T, SQL, path.join(out, 'cli-disk.csv'), 'csv');
    assert.equal(readFileSync(file, 'utf8'), readFileSync(path.join(out, 'cli-disk.csv'), 'utf8'));
  });
});
