/**
 * Analysis benchmark: every ready-made statistic over a lake of N reports (default 10 million, a week of a
 * 1,000-drone fleet backfilled with the simulator) plus their alert events, median of 3 runs each:
 * - through dronewatch (AnalysisService: snapshot, sandbox, cursor, JSON-friendly rows), against
 * - the same SQL run by DuckDB directly on the same files (plain in-memory DuckDB, same views, runAndReadAll),
 *   alternating the two so that noise hits both; goal: overhead <= 10%;
 * - for three statistics, answering the same question by scanning the reports as JSON lines in Node (read, parse,
 *   aggregate), the way one would without a lake; goal: >= 50x slower than the lake. The answers are compared.
 * The generated lake and JSON lines are kept in $DRONEWATCH_BENCH_DIR (default <tmp>/dronewatch-bench-analysis) and
 * reused by the next run with the same size: generating 10 million reports takes ~6 minutes on 2 cores.
 * Run: node --import tsx bench/analysis.ts [reports]
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Alert, AlertEvent, AlertEventType } from '../src/alerts/types.ts';
import { AnalysisService, listStats, statSql } from '../src/analysis/index.ts';
import { loadConfig } from '../src/config/index.ts';
import type { AcceptedReport } from '../src/contract/types.ts';
import { compactLake, LakeWriter, localLakeFiles, snapshotFiles, type ArchiveRecord } from '../src/lake/index.ts';
import { openDuck } from '../src/lake/duck.ts';
import { sourceOf } from '../src/lake/sandbox.ts';
import { LATEST_ALERTS_SQL, LATEST_INCIDENTS_SQL, SCHEMAS, SIGHTINGS_SQL, WORDS_SQL } from '../src/lake/schema.ts';
import { Fleet } from '../src/simulator/index.ts';
import { partitionOf } from '../src/stream/types.ts';
import { createProgressBar } from '../src/util/progress.ts';
import { isMain, printTable } from './util.ts';

const PARTITIONS = 8;
const THRESHOLD = 20;
const START = Date.UTC(2026, 10, 2, 0, 0, 0);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A deterministic 32-bit generator (the bench must build the same lake every time). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** Alert events as the alert worker would raise them (one per alert report, no de-duplication), then acked/resolved. */
function alertEventsOf(rep: AcceptedReport, rand: () => number): AlertEvent[] {
  const low = rep.citizens.filter((c) => c.score < THRESHOLD);
  if (low.length === 0) return [];
  const cit = low.reduce((a, b) => (b.score < a.score ? b : a));
  const raisedAt = rep.receivedAt + 2;
  const a: Alert = {
    alertId: `${rep.reportId}/${cit.name}`, tenant: rep.tenant, droneId: rep.droneId, citizen: cit.name, score: cit.score,
    severity: cit.score < 5 ? 'critical' : 'warning', rule: 'score-below-threshold', position: { ...rep.position }, words: [...rep.words],
    firstReportId: rep.reportId, lastReportId: rep.reportId, firstSeenTs: rep.ts, lastSeenTs: rep.ts, raisedAt, updatedAt: raisedAt,
    occurrences: 1, status: 'open', assignee: null, acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, note: null,
  };
  const events: AlertEvent[] = [];
  const push = (type: AlertEventType, at: number, by: string | null): void => {
    a.updatedAt = at;
    events.push({ eventId: `${a.alertId}#${type}`, type, at, by, alert: { ...a, position: { ...a.position }, words: [...a.words] } });
  };
  push('raised', raisedAt, null);
  if (rand() < 0.8) {
    const ack = raisedAt + 5_000 + Math.floor(rand() * 300_000);
    Object.assign(a, { status: 'acknowledged', acknowledgedBy: 'officer-1', acknowledgedAt: ack });
    push('acknowledged', ack, 'officer-1');
    if (rand() < 0.7) {
      const res = ack + 60_000 + Math.floor(rand() * 1_800_000);
      Object.assign(a, { status: 'resolved', resolvedBy: 'officer-2', resolvedAt: res });
      push('resolved', res, 'officer-2');
    }
  }
  return events;
}

/**
 * Builds (or reuses) the lake and the JSON lines of the same reports: $DRONEWATCH_BENCH_DIR/<n>/ (bench/spark.ts reads
 * the same lake, so both suites measure the same files).
 */
export async function dataset(n: number): Promise<{ lake: string; jsonl: string; alertEvents: number; generatedMs: number | undefined }> {
  const dir = path.join(process.env.DRONEWATCH_BENCH_DIR ?? path.join(os.tmpdir(), 'dronewatch-bench-analysis'), String(n));
  const lake = path.join(dir, 'lake');
  const jsonl = path.join(dir, 'reports.jsonl');
  const done = path.join(dir, 'DONE');
  if (existsSync(done)) return { lake, jsonl, ...(JSON.parse(readFileSync(done, 'utf8')) as { alertEvents: number }), generatedMs: undefined };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const fleet = new Fleet({ seed: 7, drones: 1000, start: START });
  const rand = lcg(11);
  const writer = await LakeWriter.open(lake);
  const out = createWriteStream(jsonl);
  const offsets = { reports: new Array<number>(PARTITIONS).fill(0), alerts: new Array<number>(PARTITIONS).fill(0) };
  const bar = createProgressBar(process.stderr, n, 'generating the analysis lake');
  let alertEvents = 0;
  for (let made = 0; made < n;) {
    const batch = fleet.take(Math.min(200_000, n - made));
    const reports = { parts: Array.from({ length: PARTITIONS }, () => [] as ArchiveRecord[]) };
    const alerts = { parts: Array.from({ length: PARTITIONS }, () => [] as ArchiveRecord[]) };
    let text = '';
    for (const r of batch) {
      const ts = Date.parse(r.timestamp);
      const rep: AcceptedReport = { ...r, reportId: `${r.droneId}:${ts}`, ts, receivedAt: ts + 20 + Math.floor(rand() * 300), tenant: 'default' };
      const line = JSON.stringify(rep);
      text += `${line}\n`;
      const p = partitionOf(rep.droneId, PARTITIONS);
      reports.parts[p]!.push({ offset: offsets.reports[p]!++, value: line });
      for (const e of alertEventsOf(rep, rand)) {
        const ap = partitionOf(e.alert.alertId, PARTITIONS);
        alerts.parts[ap]!.push({ offset: offsets.alerts[ap]!++, value: JSON.stringify(e) });
        alertEvents++;
      }
    }
    if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
    for (let p = 0; p < PARTITIONS; p++) {
      if (reports.parts[p]!.length > 0) await writer.write('reports', p, reports.parts[p]!);
      if (alerts.parts[p]!.length > 0) await writer.write('alerts', p, alerts.parts[p]!);
    }
    made += batch.length;
    bar.update(made);
  }
  bar.done();
  await writer.close();
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  for (const table of ['reports', 'alerts'] as const) await compactLake(lake, { table, minFiles: 2, olderThanMs: 0 });
  writeFileSync(done, JSON.stringify({ alertEvents }));
  return { lake, jsonl, alertEvents, generatedMs: performance.now() - t0 };
}

/** Plain DuckDB on the same files and views: what a user of DuckDB alone would run. */
async function directDuck(lake: string): Promise<{ run: (sql: string) => Promise<number>; close: () => void }> {
  const files = await snapshotFiles(localLakeFiles(lake), { tenant: 'default' });
  const duck = await openDuck();
  // sourceOf: read_parquet of the files, or an empty relation of the table's columns (this lake has no incidents).
  await duck.conn.run(`CREATE VIEW reports AS SELECT ${SCHEMAS.reports.viewProjection} FROM ${sourceOf('reports', files.reports)}`);
  await duck.conn.run(`CREATE VIEW alert_events AS SELECT ${SCHEMAS.alerts.viewProjection} FROM ${sourceOf('alerts', files.alerts)}`);
  await duck.conn.run(`CREATE VIEW alerts AS ${LATEST_ALERTS_SQL}`);
  await duck.conn.run(`CREATE VIEW incident_events AS SELECT ${SCHEMAS.incidents.viewProjection} FROM ${sourceOf('incidents', files.incidents)}`);
  await duck.conn.run(`CREATE VIEW incidents AS ${LATEST_INCIDENTS_SQL}`);
  await duck.conn.run(`CREATE VIEW sightings AS ${SIGHTINGS_SQL}`);
  await duck.conn.run(`CREATE VIEW words AS ${WORDS_SQL}`);
  return {
    run: async (sql) => (await duck.conn.runAndReadAll(sql)).currentRowCount,
    close: () => duck.close(),
  };
}

type Answer = Map<string, number>;

/** The same questions answered by reading the JSON lines in Node: what the lake saves us from. */
const JSONL_QUESTIONS: Record<string, { fold: (r: AcceptedReport, acc: Answer) => void; fromStat: (rows: unknown[][], columns: readonly string[]) => Answer }> = {
  'reports-daily': {
    fold: (r, acc) => acc.set(new Date(r.ts).toISOString().slice(0, 10), (acc.get(new Date(r.ts).toISOString().slice(0, 10)) ?? 0) + 1),
    fromStat: (rows, cols) => new Map(rows.map((row) => [String(row[cols.indexOf('day')]), Number(row[cols.indexOf('reports')])])),
  },
  'active-drones-hourly': {
    // Reports per hour (the statistic's `reports` column).
    fold: (r, acc) => {
      const h = new Date(r.ts).toISOString().slice(0, 13);
      acc.set(h, (acc.get(h) ?? 0) + 1);
    },
    fromStat: (rows, cols) => new Map(rows.map((row) => [String(row[cols.indexOf('hour_start')]).slice(0, 13), Number(row[cols.indexOf('reports')])])),
  },
  'alert-rate-daily': {
    // Alert reports per day (a citizen below the threshold).
    fold: (r, acc) => {
      if (!r.citizens.some((c) => c.score < THRESHOLD)) return;
      const d = new Date(r.ts).toISOString().slice(0, 10);
      acc.set(d, (acc.get(d) ?? 0) + 1);
    },
    fromStat: (rows, cols) => new Map(rows.map((row) => [String(row[cols.indexOf('day')]), Number(row[cols.indexOf('alert_reports')])])),
  },
};

async function scanJsonl(file: string, fold: (r: AcceptedReport, acc: Answer) => void): Promise<Answer> {
  const acc: Answer = new Map();
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) fold(JSON.parse(line) as AcceptedReport, acc);
  return acc;
}

function sameAnswer(a: Answer, b: Answer): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

export async function benchAnalysis(opts: { reports: number; runs?: number }): Promise<Record<string, number | string>> {
  const runs = opts.runs ?? 3;
  const data = await dataset(opts.reports);
  const config = loadConfig({ flags: { 'analysis.maxRows': 1_000_000, 'analysis.timeoutSeconds': 3600 } });
  const service = new AnalysisService({ source: localLakeFiles(data.lake), config: config.analysis });
  const direct = await directDuck(data.lake);
  const out: Record<string, number | string> = { reports: opts.reports, 'alert events': data.alertEvents };
  if (data.generatedMs !== undefined) out['lake generation s (simulator + archive + compaction, once)'] = data.generatedMs / 1000;
  const viaService = async (name: string): Promise<{ ms: number; rows: unknown[][]; columns: readonly string[] }> => {
    const t0 = performance.now();
    const cur = await service.stat('default', name, {});
    const rows: unknown[][] = [];
    for await (const b of cur) rows.push(...b);
    return { ms: performance.now() - t0, rows, columns: cur.columns };
  };
  const answers = new Map<string, { rows: unknown[][]; columns: readonly string[] }>();
  try {
    // Warm-up: the first query of a process pays for DuckDB's start and the OS cache.
    await viaService('reports-daily');
    await direct.run(statSql('reports-daily'));
    let totalService = 0;
    let totalDirect = 0;
    for (const { name } of listStats()) {
      const svc: number[] = [];
      const dir: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await viaService(name);
        svc.push(r.ms);
        answers.set(name, r);
        const t0 = performance.now();
        await direct.run(statSql(name));
        dir.push(performance.now() - t0);
      }
      const s = median(svc);
      const d = median(dir);
      totalService += s;
      totalDirect += d;
      out[`${name} ms (dronewatch / DuckDB direct)`] = `${s.toFixed(0)} / ${d.toFixed(0)}  (${((s / d - 1) * 100).toFixed(1)}%)`;
    }
    out['all statistics ms (dronewatch / DuckDB direct)'] = `${totalService.toFixed(0)} / ${totalDirect.toFixed(0)}`;
    out['overhead of dronewatch over DuckDB direct, all statistics %'] = (totalService / totalDirect - 1) * 100;
    for (const [name, q] of Object.entries(JSONL_QUESTIONS)) {
      const t0 = performance.now();
      const scanned = await scanJsonl(data.jsonl, q.fold);
      const jsonMs = performance.now() - t0;
      const stat = answers.get(name)!;
      const lakeMs = Number(String(out[`${name} ms (dronewatch / DuckDB direct)`]).split(' ')[0]);
      out[`${name}: JSON lines scan in Node ms`] = Math.round(jsonMs);
      out[`${name}: lake speed-up over the JSON lines scan (x)`] = jsonMs / lakeMs;
      out[`${name}: same answer`] = sameAnswer(scanned, q.fromStat(stat.rows, stat.columns)) ? 'yes' : 'NO';
    }
  } finally {
    direct.close();
    await service.close();
  }
  return out;
}

if (isMain(import.meta.url)) {
  printTable('analysis: statistics via dronewatch vs DuckDB direct vs JSON lines in Node', await benchAnalysis({ reports: Number(process.argv[2] ?? 10_000_000) }));
}
