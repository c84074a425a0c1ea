import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { dataPaths, loadConfig } from '../../src/config/index.ts';
import { LakeWriter } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { recordsOf } from '../lake/helpers.ts';
import { runCli } from './helpers.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

describe('lake location setting', () => {
  it('keeps s3:// locations as they are and resolves paths; the cache goes under the data directory', () => {
    const s3 = dataPaths(loadConfig({ env: { DRONEWATCH_LAKE: 's3://police-lake/force-a/', DRONEWATCH_DATA: '/srv/dw' }, cwd: '/tmp' }));
    assert.equal(s3.lake, 's3://police-lake/force-a');
    assert.equal(s3.lakeCache, '/srv/dw/lake-cache');
    const flag = dataPaths(loadConfig({ env: {}, flags: { dataDir: '/srv/dw', 'lake.path': 'relative/lake' }, cwd: '/tmp' }));
    assert.equal(flag.lake, path.resolve('relative/lake'));
    assert.equal(dataPaths(loadConfig({ env: { DRONEWATCH_DATA: '/srv/dw' }, cwd: '/tmp' })).lake, '/srv/dw/lake');
    assert.throws(() => dataPaths(loadConfig({ env: { DRONEWATCH_LAKE: 'ftp://host/lake' }, cwd: '/tmp' })), /DW_LAKE_LOCATION_INVALID|not supported/);
  });
});

describe('dronewatch lake stats / lake retention', () => {
  const tmp = tempDir('dw-cli-lake-');
  const lake = path.join(tmp.dir, 'lake');
  // Ten days ago to eight days ago, 6 drones every 20 minutes: 48 hour partitions.
  const start = Math.floor((Date.now() - 10 * DAY_MS) / HOUR_MS) * HOUR_MS;
  const reports = new SampleFleet({ drones: 6, seed: 8, start, intervalMs: 20 * 60_000 }).reports(6 * 3 * 48);
  before(async () => {
    const w = await LakeWriter.open(lake);
    for (let i = 0; i < reports.length; i += 6 * 3 * 12) await w.write('reports', 0, recordsOf(reports.slice(i, i + 6 * 3 * 12), i));
    await w.close();
  });
  after(() => tmp.cleanup());

  const stats = async (): Promise<Record<string, unknown>[]> => {
    const r = await runCli(['--lake', lake, 'lake', 'stats', '-f', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>[];
  };

  it('shows partitions, files, rows, bytes and the compression ratio per table and tenant', async () => {
    const [reportsRow, alertsRow] = await stats();
    assert.equal(reportsRow!.table, 'reports');
    assert.equal(reportsRow!.tenant, 'default');
    assert.equal(reportsRow!.rows, reports.length);
    assert.equal(reportsRow!.partitions, 48);
    assert.ok(Number(reportsRow!.files) >= 48 && Number(reportsRow!.bytes) > 0, JSON.stringify(reportsRow));
    assert.ok(Number(reportsRow!.compression_ratio) > 1, 'compressed');
    assert.equal(alertsRow, undefined, 'no tenant has alerts: no alerts row');
    const table = await runCli(['--lake', lake, 'lake', 'stats']);
    assert.match(table.stdout, new RegExp(`^lake: ${lake.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
  });

  it('retention lists what would go with --dry-run, then deletes exactly that, by hour partition', async () => {
    const dry = await runCli(['--lake', lake, 'lake', 'retention', '--dry-run', '--reports-days', '9', '-f', 'json']);
    assert.equal(dry.code, 0, dry.stderr);
    const listed = JSON.parse(dry.stdout) as { table: string; partition: string; action: string }[];
    const cutoff = Date.parse(/reports: would delete .* \(before (\S+)\)/.exec(dry.stderr)![1]!);
    assert.ok(cutoff % HOUR_MS === 0 && Math.abs(cutoff - (Date.now() - 9 * DAY_MS)) < 2 * HOUR_MS, 'nine days back, on an hour boundary');
    const hourEnd = (ts: number): number => Math.floor(ts / HOUR_MS) * HOUR_MS + HOUR_MS;
    const expectedHours = new Set(reports.filter((r) => hourEnd(r.ts) <= cutoff).map((r) => new Date(r.ts).toISOString().slice(0, 13)));
    assert.equal(listed.length, expectedHours.size, dry.stdout);
    assert.ok(listed.every((p) => p.action === 'would delete' && p.table === 'reports'), 'a dry run');
    assert.match(dry.stderr, /alerts: kept/);
    assert.equal((await stats())[0]!.rows, reports.length, 'nothing deleted yet');
    const done = await runCli(['--lake', lake, 'lake', 'retention', '--reports-days', '9', '-f', 'json']);
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual((JSON.parse(done.stdout) as { partition: string }[]).map((p) => p.partition), listed.map((p) => p.partition));
    const kept = reports.filter((r) => hourEnd(r.ts) > cutoff).length;
    assert.equal((await stats())[0]!.rows, kept);
  });

  it('refuses to run retention without a configured period, and an unusable lake location', async () => {
    const none = await runCli(['--lake', lake, 'lake', 'retention']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no retention configured/);
    const bad = await runCli(['--lake', 's3://Not_A_Bucket/x', 'lake', 'stats']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /DW_LAKE_LOCATION_INVALID/);
  });
});
