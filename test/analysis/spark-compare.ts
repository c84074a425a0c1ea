/**
 * What the Spark tests share (spark-stats.test.ts on a local lake, spark-hdfs.test.ts on HDFS): the fixture lake
 * written through the project's own writer, the parameter sets each statistic runs with, and the row-for-row
 * comparison of Spark's CSV answers with DuckDB's (src/testkit/spark-answers.ts, shared with bench/spark.ts: integers,
 * strings, dates and instants equal, floating-point values within REL_TOLERANCE relative).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { listStats, runStat, type StatParams } from '../../src/analysis/index.ts';
import { LakeWriter, type LakeQuery } from '../../src/lake/index.ts';
import { listAll, openObjectStore } from '../../src/objectstore/index.ts';
import { readSparkCsv, type SparkStatsRun } from '../../src/testkit/index.ts';
import { sameField } from '../../src/testkit/spark-answers.ts';
import type { AlertEvent } from '../../src/alerts/types.ts';
import { SampleFleet, sampleAlertEvents } from '../lake/fixtures/sample.ts';
import { recordsOf } from '../lake/helpers.ts';
import { latestIncidents, makeIncidentEvents } from './incident-fixture.ts';

export const TENANT = 'default';
export { REL_TOLERANCE } from '../../src/testkit/spark-answers.ts';
/** The views both engines count. */
export const VIEWS = ['reports', 'sightings', 'words', 'alert_events', 'alerts', 'incident_events', 'incidents'] as const;
// Thousands of rows: compiling Java for every query (whole-stage code generation) costs more than it saves.
export const SPARK_SPEED: Readonly<Record<string, string>> = { 'spark.sql.codegen.wholeStage': 'false', 'spark.sql.shuffle.partitions': '2' };

const DRONES = 20;
const REPORTS = 4000; // 200 per drone, one every ~7 minutes: 23 hours over two UTC days (less the missing ones)
const START = Date.UTC(2025, 0, 13, 12, 0, 0);

// Two parameter sets for every statistic: the defaults over the whole lake, and a period with every option changed and
// hours and days on the Europe/Paris clock (UTC+1 in January: reports between 23:00 and 00:00 UTC change day).
const PERIOD: StatParams = { from: '2025-01-13T18:30:00Z', to: '2025-01-14T09:00:00.000Z' };
const OPTIONS = { cell: 0.01, minutes: 6.99, limit: 7, tz: 'Europe/Paris' } as const;

export function paramsOf(stat: string, period: boolean): StatParams {
  if (!period) return {};
  const options = listStats().find((s) => s.name === stat)!.options;
  return { ...PERIOD, ...Object.fromEntries(options.map((o) => [o, OPTIONS[o]])) };
}

/** The output name of a statistic's answer for one parameter set. */
export function answerName(stat: string, period: boolean): string {
  return `${stat}.${period ? 'period' : 'all'}`;
}

/** The job's plan for these statistics, grouped by period (the job registers the views once per period). */
export function sparkPlan(stats: readonly string[], periods: readonly boolean[] = [false, true]): SparkStatsRun[] {
  const plan: SparkStatsRun[] = [];
  for (const period of periods) {
    for (const s of stats) plan.push({ stat: s, name: answerName(s, period), ...numbers(paramsOf(s, period)) });
  }
  return plan;
}

export interface FixtureCounts {
  reports: number;
  alertEvents: number;
  alerts: number;
  incidentEvents: number;
  incidents: number;
}

/**
 * Writes the fixture lake at `lake` (a directory or any lake location: `webhdfs://...`) as the archive writes it:
 * several batches and stream partitions, alert events in two batches, and another tenant's reports neither engine may
 * read. The sample fleet's citizens keep one score and its drones never fall silent: here scores drift down over the
 * hours (citizens-score-drop) and one report in 13 is missing (gaps of ~14 minutes for silent-drones).
 */
export async function writeSparkFixture(lake: string): Promise<FixtureCounts> {
  const fleet = new SampleFleet({ drones: DRONES, citizens: 400, words: 60, seed: 11, start: START, intervalMs: 7 * 60_000 });
  const reports = fleet.reports(REPORTS).filter((_, i) => i % 13 !== 5).map((r) => ({
    ...r, citizens: r.citizens.map((c) => ({ ...c, score: Math.max(0, Math.round((c.score - (r.ts - START) / 3_600_000) * 10) / 10) })),
  }));
  const events = withRuleVersions(sampleAlertEvents(reports, 7), 200);
  // Incidents over the same two days (incident-fixture.ts: growing, acknowledged, resolved, merged), in two partitions.
  const incidents = makeIncidentEvents({ seed: 21, start: START - 12 * 3_600_000, incidents: 80, tenant: TENANT });
  const w = await LakeWriter.open(lake);
  try {
    await w.write('reports', 0, recordsOf(reports.slice(0, 1000)));
    await w.write('reports', 0, recordsOf(reports.slice(1000, 2500), 1000));
    await w.write('reports', 1, recordsOf(reports.slice(2500)));
    await w.write('alerts', 0, recordsOf(events.slice(0, 200)));
    await w.write('alerts', 0, recordsOf(events.slice(200), 200));
    await w.write('reports', 2, recordsOf(new SampleFleet({ drones: 5, seed: 3, start: START, tenant: 'other' }).reports(300)));
    await w.write('incidents', 0, recordsOf(incidents.slice(0, 150)));
    await w.write('incidents', 1, recordsOf([...incidents.slice(150), ...makeIncidentEvents({ seed: 22, start: START, incidents: 10, tenant: 'other' })]));
  } finally {
    await w.close();
  }
  return {
    reports: reports.length, alertEvents: events.length, alerts: new Set(events.map((e) => e.alert.alertId)).size,
    incidentEvents: incidents.length, incidents: latestIncidents(incidents).length,
  };
}

/**
 * Rule set versions and silences (issue 19) from event `from` on: version 1 for alerts raised on the first UTC day, 2
 * on the second, one alert in four silenced; the events before carry neither, as alerts raised before rules were data
 * (alerts-by-rule-version then has NULL, 1 and 2, silenced and not; rule-version-stats.test.ts has files without the
 * columns). An alert's events all say the same.
 */
function withRuleVersions(events: readonly AlertEvent[], from: number): AlertEvent[] {
  const order = new Map<string, number>();
  return events.map((e, i) => {
    if (!order.has(e.alert.alertId)) order.set(e.alert.alertId, order.size);
    if (i < from) return e;
    const version = e.alert.raisedAt < Date.UTC(2025, 0, 14) ? 1 : 2;
    const silenced = order.get(e.alert.alertId)! % 4 === 1 ? { silenced: `silence-${version}` } : {};
    return { ...e, alert: { ...e.alert, ruleVersion: version, ...silenced } };
  });
}

/** Spark's `<out>/table-counts` against DuckDB's count of every view, and against the rows written when known. */
export async function assertSameCounts(q: LakeQuery, out: string, want: FixtureCounts): Promise<void> {
  const spark = new Map(readSparkCsv(path.join(out, 'table-counts')).rows.map((r) => [r[0]!, Number(r[1])]));
  const written: Record<string, number | undefined> = {
    reports: want.reports, alert_events: want.alertEvents, alerts: want.alerts, incident_events: want.incidentEvents, incidents: want.incidents,
  };
  for (const view of VIEWS) {
    const duck = Number((await q.run(`SELECT count(*) FROM ${view}`)).rows[0]![0]);
    assert.ok(duck > 0, `${view}: rows`);
    assert.equal(spark.get(view), duck, `${view}: Spark ${spark.get(view)} rows, DuckDB ${duck}`);
    if (written[view] !== undefined) assert.equal(duck, written[view], `${view}: the rows written, once each`);
  }
}

/** One statistic's answer from Spark (`<out>/<answer name>`) against DuckDB's on `q`, row for row, in order. */
export async function assertSameAnswer(q: LakeQuery, out: string, stat: string, period: boolean): Promise<void> {
  const duck = await runStat(q, stat, paramsOf(stat, period));
  const spark = readSparkCsv(path.join(out, answerName(stat, period)));
  assert.ok(duck.rows.length > 0, `${stat}: the fixture gives an answer`);
  if (spark.rows.length > 0) assert.deepEqual(spark.columns, duck.columns, `${stat}: columns`);
  assert.equal(spark.rows.length, duck.rows.length, `${stat}: row count`);
  duck.rows.forEach((row, i) => row.forEach((v, j) => assertSame(spark.rows[i]![j] ?? null, v, `${stat} row ${i} ${duck.columns[j]}: ${JSON.stringify(spark.rows[i])} vs ${JSON.stringify(row)}`)));
}

function numbers(p: StatParams): Omit<SparkStatsRun, 'stat'> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])) as Omit<SparkStatsRun, 'stat'>;
}

/** A Spark CSV field against DuckDB's JSON-friendly value (number, string, ISO instant, YYYY-MM-DD date, null). */
export function assertSame(spark: string | null, duck: unknown, what: string): void {
  assert.ok(sameField(spark, duck), `${what}: Spark ${JSON.stringify(spark)}, DuckDB ${JSON.stringify(duck)}`);
}

/**
 * Copies of real files under names every reader must skip (src/lake/live-files.ts): beyond partition 0's checkpoint
 * (2499), inside the range of a committed file (a compaction input left for its grace time), and an alert batch beyond
 * its checkpoint. Reading any of them would change the counts.
 */
export async function addFilesToSkip(lake: string): Promise<void> {
  const store = openObjectStore(lake);
  try {
    const hour = `reports/tenant=${TENANT}/date=2025-01-13/hour=15/`;
    const committed = (await listAll(store, hour)).objects.map((o) => o.key).filter((k) => /\/p0000-\d+-\d+\.parquet$/.test(k)).sort();
    assert.ok(committed.length > 0, `a file of partition 0 under ${hour}`);
    const bytes = await store.get(committed[0]!);
    assert.ok(bytes);
    await store.put(`${hour}p0000-0000000000002500-0000000000002600.parquet`, bytes);
    await store.put(`${hour}${committed[0]!.endsWith('p0000-0000000000001000-0000000000002499.parquet')
      ? 'p0000-0000000000001000-0000000000001200.parquet' : 'p0000-0000000000000000-0000000000000500.parquet'}`, bytes);
    const alert = (await listAll(store, `alerts/tenant=${TENANT}/`)).objects.map((o) => o.key).filter((k) => k.endsWith('.parquet')).sort()[0]!;
    const alertBytes = await store.get(alert);
    assert.ok(alertBytes);
    await store.put(`${alert.slice(0, alert.lastIndexOf('/') + 1)}p0000-0000000000009000-0000000000009001.parquet`, alertBytes);
  } finally {
    await store.close();
  }
}
