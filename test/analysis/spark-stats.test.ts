import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listStats, runStat, type StatParams } from '../../src/analysis/index.ts';
import { LakeWriter, openLakeQuery, type LakeQuery } from '../../src/lake/index.ts';
import { readSparkCsv, runSparkStats, sparkOrSkip, tempDir, type SparkStatsRun } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents } from '../lake/fixtures/sample.ts';
import { recordsOf } from '../lake/helpers.ts';
import { runCli } from '../cli/helpers.ts';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { sparkLakeLocation } from '../../src/cli/commands/spark.ts';
import { findSpark, SPARK_JOB } from '../../src/testkit/index.ts';

// Spark (local[2], one session for the whole file) and DuckDB answer every ready-made statistic on the same lake, as
// the archive writes it: several batches and stream partitions, two tenants, plus files every reader of this project
// must skip (a batch beyond its partition's checkpoint, a committed file whose range another file contains, as a
// compaction leaves them). Rows are compared in order; integers, strings, dates and instants exactly, floating-point
// values within 1e-9 relative (Spark's avg/percentile/round are not DuckDB's bit for bit).
const TENANT = 'default';
const DRONES = 20;
const REPORTS = 4000; // 200 per drone, one every ~7 minutes: 23 hours over two UTC days (less the missing ones)
const START = Date.UTC(2025, 0, 13, 12, 0, 0);
const REL_TOLERANCE = 1e-9;
// Thousands of rows: compiling Java for every query (whole-stage code generation) costs more than it saves.
const SPEED = { 'spark.sql.codegen.wholeStage': 'false', 'spark.sql.shuffle.partitions': '2' };

// Two parameter sets for every statistic: the defaults over the whole lake, and a period with every option changed and
// hours and days on the Europe/Paris clock (UTC+1 in January: reports between 23:00 and 00:00 UTC change day).
const PERIOD: StatParams = { from: '2025-01-13T18:30:00Z', to: '2025-01-14T09:00:00.000Z' };
const OPTIONS = { cell: 0.01, minutes: 6.99, limit: 7, tz: 'Europe/Paris' } as const;
function paramsOf(stat: string, period: boolean): StatParams {
  if (!period) return {};
  const options = listStats().find((s) => s.name === stat)!.options;
  return { ...PERIOD, ...Object.fromEntries(options.map((o) => [o, OPTIONS[o]])) };
}

const skip = sparkOrSkip();

describe('Spark reads the lake as it is: every statistic agrees with DuckDB', { skip, timeout: 600_000 }, () => {
  const tmp = tempDir('dw-spark-');
  const root = path.join(tmp.dir, 'lake');
  const out = path.join(tmp.dir, 'answers');
  let q: LakeQuery;
  let reportCount = 0;
  let eventCount = 0;
  let alertCount = 0;

  before(async () => {
    const fleet = new SampleFleet({ drones: DRONES, citizens: 400, words: 60, seed: 11, start: START, intervalMs: 7 * 60_000 });
    // The sample fleet's citizens keep one score and its drones never fall silent: scores here drift down over the
    // hours (citizens-score-drop) and one report in 13 is missing (gaps of ~14 minutes for silent-drones).
    const reports = fleet.reports(REPORTS).filter((_, i) => i % 13 !== 5).map((r) => ({
      ...r, citizens: r.citizens.map((c) => ({ ...c, score: Math.max(0, Math.round((c.score - (r.ts - START) / 3_600_000) * 10) / 10) })),
    }));
    const events = sampleAlertEvents(reports, 7);
    reportCount = reports.length;
    eventCount = events.length;
    alertCount = new Set(events.map((e) => e.alert.alertId)).size;
    const w = await LakeWriter.open(root);
    try {
      // Batches of partition 0 and 1 (offsets tile each partition), alert events in two batches.
      await w.write('reports', 0, recordsOf(reports.slice(0, 1000)));
      await w.write('reports', 0, recordsOf(reports.slice(1000, 2500), 1000));
      await w.write('reports', 1, recordsOf(reports.slice(2500)));
      await w.write('alerts', 0, recordsOf(events.slice(0, 200)));
      await w.write('alerts', 0, recordsOf(events.slice(200), 200));
      // Another force's reports: neither engine may read them for this tenant.
      await w.write('reports', 2, recordsOf(new SampleFleet({ drones: 5, seed: 3, start: START, tenant: 'other' }).reports(300)));
    } finally {
      await w.close();
    }
    // Files readers must skip, made of real rows so that reading one would change every count.
    const hourDir = path.join(root, 'reports', `tenant=${TENANT}`, 'date=2025-01-13', 'hour=15');
    const files = readdirSync(hourDir).filter((f) => f.startsWith('p0000-'));
    assert.ok(files.length > 0, `a file of partition 0 in ${hourDir}`);
    const src = path.join(hourDir, files[0]!);
    // Beyond the checkpoint of partition 0 (2499): a batch being uploaded.
    copyFileSync(src, path.join(hourDir, 'p0000-0000000000002500-0000000000002600.parquet'));
    // Inside the range of the committed batch 1000-2499: a compaction input left for its grace time.
    copyFileSync(src, path.join(hourDir, files[0] === 'p0000-0000000000001000-0000000000002499.parquet'
      ? 'p0000-0000000000001000-0000000000001200.parquet' : 'p0000-0000000000000000-0000000000000500.parquet'));
    const alertDir = path.join(root, 'alerts', `tenant=${TENANT}`);
    const date = readdirSync(alertDir).sort()[0]!;
    const hour = readdirSync(path.join(alertDir, date)).sort()[0]!;
    const alertFile = readdirSync(path.join(alertDir, date, hour))[0]!;
    copyFileSync(path.join(alertDir, date, hour, alertFile), path.join(alertDir, date, hour, 'p0000-0000000000009000-0000000000009001.parquet'));

    q = await openLakeQuery(root, { tenant: TENANT });
    const plan: SparkStatsRun[] = [];
    // Grouped by period: the job registers the views once per period.
    for (const period of [false, true]) {
      for (const s of listStats()) plan.push({ stat: s.name, name: `${s.name}.${period ? 'period' : 'all'}`, ...numbers(paramsOf(s.name, period)) });
    }
    const planFile = path.join(tmp.dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
    const started = Date.now();
    const { stdout } = await runSparkStats({ lake: root, tenant: TENANT, out, plan: planFile, counts: true, master: 'local[2]', conf: SPEED, timeoutMs: 540_000 });
    console.log(`# spark job: ${((Date.now() - started) / 1000).toFixed(1)} s (JVM start included)\n${stdout.split('\n').map((l) => `#   ${l}`).join('\n')}`);
  });

  after(async () => {
    await q?.close();
    tmp.cleanup();
  });

  it('counts the same rows per view both ways, and exactly the rows written (skipped files skipped)', async () => {
    const spark = new Map(readSparkCsv(path.join(out, 'table-counts')).rows.map((r) => [r[0]!, Number(r[1])]));
    const want: Record<string, number | undefined> = { reports: reportCount, alert_events: eventCount, alerts: alertCount, sightings: undefined, words: undefined };
    for (const view of ['reports', 'sightings', 'words', 'alert_events', 'alerts']) {
      const duck = Number((await q.run(`SELECT count(*) FROM ${view}`)).rows[0]![0]);
      assert.ok(duck > 0, `${view}: rows`);
      assert.equal(spark.get(view), duck, `${view}: Spark ${spark.get(view)} rows, DuckDB ${duck}`);
      if (want[view] !== undefined) assert.equal(duck, want[view], `${view}: the rows written, once each`);
    }
  });

  for (const s of listStats()) {
    for (const period of [false, true]) {
      it(`${s.name} (${period ? 'a period, other options, Europe/Paris' : 'whole lake, defaults'})`, async () => {
        const duck = await runStat(q, s.name, paramsOf(s.name, period));
        const spark = readSparkCsv(path.join(out, `${s.name}.${period ? 'period' : 'all'}`));
        assert.ok(duck.rows.length > 0, `${s.name}: the fixture gives an answer`);
        if (spark.rows.length > 0) assert.deepEqual(spark.columns, duck.columns, `${s.name}: columns`);
        assert.equal(spark.rows.length, duck.rows.length, `${s.name}: row count`);
        duck.rows.forEach((row, i) => row.forEach((v, j) => assertSame(spark.rows[i]![j] ?? null, v, `${s.name} row ${i} ${duck.columns[j]}: ${JSON.stringify(spark.rows[i])} vs ${JSON.stringify(row)}`)));
      });
    }
  }
});

describe('dronewatch spark: checks before any JVM starts', () => {
  it('refuses unknown statistics and bad options as `dronewatch stats` does', async () => {
    const tmp = tempDir('dw-spark-cli-');
    try {
      const out = path.join(tmp.dir, 'out');
      const cases: [string[], RegExp][] = [
        [['reports-daily', '--cell', '3'], /--cell: not a parameter of "reports-daily".*DW_CONFIG_INVALID/],
        [['hotspots', '--cell', '0'], /--cell: must be a number.*DW_CONFIG_INVALID/],
        [['alerts-by-hour', '--tz', "UTC'; SELECT 1"], /--tz: must be an IANA time zone/],
        [['reports-daily', '--from', '2025-01-02', '--to', '2025-01-01'], /is after --to/],
        [['no-such-stat'], /unknown statistic "no-such-stat"/],
      ];
      for (const [args, re] of cases) {
        const r = await runCli(['--data', tmp.dir, 'spark', ...args, '--out', out]);
        assert.notEqual(r.code, 0, args.join(' '));
        assert.match(r.stderr, re, args.join(' '));
        assert.ok(!existsSync(out), 'nothing written');
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('gives Spark the lake in the form its Hadoop file systems read', () => {
    assert.equal(sparkLakeLocation('s3://bucket/lake/x'), 's3a://bucket/lake/x');
    assert.equal(sparkLakeLocation('webhdfs://nn:9870/lake'), 'webhdfs://nn:9870/lake');
    assert.equal(sparkLakeLocation('rel/lake'), path.resolve('rel/lake'));
  });

  it('the job checks its parameters itself (spark-submit runs it without the CLI)', { skip }, () => {
    const found = findSpark();
    assert.ok(!('missing' in found));
    for (const args of [['--cell', '0', 'hotspots'], ['--tz', "UTC'--", 'alerts-by-hour'], ['--from', 'yesterday', 'reports-daily'], ['--tenant', '../x', 'reports-daily'], ['nope']]) {
      try {
        execFileSync(found.python, [SPARK_JOB, '--lake', '/nonexistent', '--out', '/nonexistent/out', ...args], { stdio: 'pipe', timeout: 60_000 });
        assert.fail(`accepted ${args.join(' ')}`);
      } catch (e) {
        const err = e as { status?: number; stderr?: Buffer };
        assert.equal(err.status, 2, `${args.join(' ')}: ${String(err.stderr)}`);
        assert.match(String(err.stderr), /^lake_stats: /, args.join(' '));
      }
    }
  });
});

function numbers(p: StatParams): Omit<SparkStatsRun, 'stat'> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])) as Omit<SparkStatsRun, 'stat'>;
}

/** A Spark CSV field against DuckDB's JSON-friendly value (number, string, ISO instant, YYYY-MM-DD date, null). */
function assertSame(spark: string | null, duck: unknown, what: string): void {
  if (duck === null || duck === undefined) return assert.equal(spark, null, what);
  assert.notEqual(spark, null, what);
  if (typeof duck === 'number' || typeof duck === 'bigint') {
    const a = Number(spark);
    const b = Number(duck);
    if (Number.isInteger(b) && Number.isInteger(a)) return assert.equal(a, b, what);
    return assert.ok(Math.abs(a - b) <= REL_TOLERANCE * Math.max(1, Math.abs(b)), `${what}: ${a} != ${b}`);
  }
  if (typeof duck === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(duck)) return assert.equal(Date.parse(spark!), Date.parse(duck), what);
  assert.equal(spark, String(duck), what);
}
