/**
 * Spark against DuckDB (issue 18, item 4): every ready-made statistic over the same lake of N reports (default 10
 * million: bench/analysis.ts's lake, built once and cached in $DRONEWATCH_BENCH_DIR), in one run:
 * - DuckDB: dronewatch's lake query (openLakeQuery + runStat: the sandbox over the live files, rows as JSON values,
 *   DuckDB's default threads: one per core), one pass before the Spark job and one after it, so that a change of the
 *   machine's load during the run shows as a difference between the two;
 * - Spark `local[2]`: one `deploy/spark/lake_stats.py` session for all statistics (as `dronewatch spark all` runs),
 *   one statistic at a time (`--parallel 1`: concurrent jobs would blur each one's time), each answer written as CSV.
 *   The JVM's start, the listing of the lake and the registration of the views are reported apart from the
 *   statistics (the job's `--timings` lines), and a first statistic is run once as a warm-up on both engines;
 * - rows per view counted both ways, and every answer compared row for row (src/testkit/spark-answers.ts, as the
 *   Spark tests compare): a differing answer fails the suite after its figures are printed.
 * The 1-minute load average is sampled every 5 s and reported per phase: the machine is shared.
 * Run: node --import tsx bench/spark.ts [reports]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listStats, runStat } from '../src/analysis/index.ts';
import { openLakeQuery, type QueryResult } from '../src/lake/index.ts';
import { findSpark, readSparkCsv, sparkStatsArgs, SPARK_INSTALL_HINT, tempDir, type SparkStatsRun } from '../src/testkit/index.ts';
import { compareAnswers, type AnswerComparison } from '../src/testkit/spark-answers.ts';
import { dataset } from './analysis.ts';
import { isMain, printTable, requireSamples } from './util.ts';

export interface SparkBenchOptions {
  reports: number;
  /** Spark master (default local[2]: the issue's figure, this machine's two cores). */
  master?: string;
  /** Settings of the Spark session (as spark-submit's --conf), over SPARK_BENCH_CONF. */
  conf?: Readonly<Record<string, string>>;
  /** Kill the Spark job after this long (default 2 hours). */
  sparkTimeoutMs?: number;
  /** The statistics (default every ready-made one). */
  stats?: readonly string[];
}

/**
 * local[N] runs every task in the driver's JVM, and pyspark starts it with Spark's default 1 GiB heap: not what anyone
 * would run 10 M reports with, and DuckDB may use 80% of RAM. 4 GiB is a sixth of this machine's memory.
 */
export const SPARK_BENCH_CONF: Readonly<Record<string, string>> = { 'spark.driver.memory': '4g' };
/** `npm run bench -- --only=spark`: the issue's figures. */
export const SPARK_DEFAULTS: SparkBenchOptions = { reports: 10_000_000 };
/**
 * `--quick` (CI): whether the suite still runs, counts and compares, in about a minute and a half on a quiet machine.
 * On small lakes a Spark query is mostly the JVM planning and compiling it, whatever the size: three statistics, and
 * no whole-stage code generation (it costs more than it saves on thousands of rows, as in the Spark tests). A size of
 * its own, so its lake is always written by the current code (an older cached lake may lack newer columns).
 */
export const SPARK_QUICK: SparkBenchOptions = {
  reports: 50_000, stats: ['reports-daily', 'alerts-by-hour', 'top-words'], conf: { 'spark.sql.codegen.wholeStage': 'false' }, sparkTimeoutMs: 600_000,
};
const TENANT = 'default';
const VIEWS = ['reports', 'sightings', 'words', 'alert_events', 'alerts', 'incident_events', 'incidents'] as const;
const WARM_UP = 'reports-daily';
const WARM_UP_NAME = `warm-up-${WARM_UP}`;

type Timing = { timing: 'session' | 'listing' | 'register' | 'counts' | 'stat'; name: string | null; seconds: number };

/** The 1-minute load average every 5 s, labelled with the phase it was taken in. */
function loadSampler(): { phase: (name: string) => void; summary: (name: string) => string; stop: () => void } {
  const samples: { phase: string; load: number }[] = [];
  let current = 'start';
  const take = (): void => { samples.push({ phase: current, load: os.loadavg()[0]! }); };
  const timer = setInterval(take, 5_000);
  timer.unref();
  return {
    phase: (name) => { take(); current = name; take(); },
    summary: (name) => {
      const xs = samples.filter((s) => s.phase === name).map((s) => s.load);
      if (xs.length === 0) return 'no sample';
      return `${Math.min(...xs).toFixed(2)} / ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)} / ${Math.max(...xs).toFixed(2)} (${xs.length} samples)`;
    },
    stop: () => clearInterval(timer),
  };
}

/** Runs the job; resolves with its --timings lines. Its other output goes to stderr as progress. */
function runJob(python: string, args: string[], timeoutMs: number): Promise<{ timings: Timing[]; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Its own process group: on a timeout the JVM that pyspark started goes with it.
    const child = spawn(python, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SPARK_LOCAL_IP: '127.0.0.1', PYTHONUNBUFFERED: '1' } });
    const timings: Timing[] = [];
    let tail = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('{"timing"')) timings.push(JSON.parse(line) as Timing);
        else process.stderr.write(`  spark: ${line}\n`);
      }
    });
    child.stderr.on('data', (d: Buffer) => { tail = (tail + d.toString()).slice(-4000); });
    const kill = (): void => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ } };
    const timer = setTimeout(kill, timeoutMs);
    process.once('exit', kill);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', kill);
      if (code === 0) resolve({ timings, seconds: (performance.now() - started) / 1000 });
      else reject(new Error(`the Spark job failed (${signal ?? `exit ${code}`}${signal === 'SIGKILL' ? `, killed after ${timeoutMs / 1000} s` : ''}):\n${tail}`));
    });
  });
}

const s = (ms: number): string => (ms / 1000).toFixed(2);

export async function benchSpark(opts: SparkBenchOptions): Promise<Record<string, number | string>> {
  const found = findSpark();
  if ('missing' in found) return { skipped: `Spark not available (${found.missing}); install it with ${SPARK_INSTALL_HINT}` };
  const out: Record<string, number | string> = { reports: opts.reports, 'load average at start (1 / 5 / 15 min)': os.loadavg().map((l) => l.toFixed(2)).join(' / ') };
  const data = await dataset(opts.reports);
  out['alert events'] = data.alertEvents;
  if (data.generatedMs !== undefined) out['lake generation s (once, then cached)'] = data.generatedMs / 1000;
  const stats = opts.stats ? [...opts.stats] : listStats().map((x) => x.name);
  const load = loadSampler();
  const tmp = tempDir('dw-bench-spark-');
  const q = await (async () => {
    const t0 = performance.now();
    const lake = await openLakeQuery(data.lake, { tenant: TENANT });
    out['DuckDB: open the lake (list the live files, create the views) ms'] = performance.now() - t0;
    return lake;
  })();
  try {
    // DuckDB, first pass: counts, warm-up, every statistic (its answers are the ones compared).
    load.phase('duckdb');
    let t0 = performance.now();
    const duckCounts = new Map<string, number>();
    for (const v of VIEWS) duckCounts.set(v, Number((await q.run(`SELECT count(*) FROM ${v}`)).rows[0]![0]));
    const duckCountMs = performance.now() - t0;
    t0 = performance.now();
    await runStat(q, WARM_UP);
    const duckWarmUpMs = performance.now() - t0;
    const duck = new Map<string, { ms: number[]; answer: QueryResult }>();
    for (const name of stats) {
      t0 = performance.now();
      const answer = await runStat(q, name);
      duck.set(name, { ms: [performance.now() - t0], answer });
    }

    // Spark: one session for everything, as `dronewatch spark all --counts` runs it.
    load.phase('spark');
    const plan: SparkStatsRun[] = [{ stat: WARM_UP, name: WARM_UP_NAME }, ...stats.map((stat) => ({ stat }))];
    const planFile = path.join(tmp.dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
    const answers = path.join(tmp.dir, 'answers');
    mkdirSync(answers);
    const args = [...sparkStatsArgs({ lake: data.lake, tenant: TENANT, out: answers, plan: planFile, counts: true, master: opts.master ?? 'local[2]', conf: { ...SPARK_BENCH_CONF, ...opts.conf } }), '--parallel', '1', '--timings'];
    const job = await runJob(found.python, args, opts.sparkTimeoutMs ?? 2 * 3600_000);
    const timing = (step: Timing['timing'], name: string | null = null): number => {
      const all = job.timings.filter((t) => t.timing === step && (name === null || t.name === name));
      if (all.length === 0) throw new Error(`the Spark job printed no ${step} timing${name ? ` for ${name}` : ''}`);
      return all.reduce((a, t) => a + t.seconds, 0) * 1000;
    };

    // DuckDB, second pass: the same statistics after Spark, on the machine as it is by then.
    load.phase('duckdb-after');
    for (const name of stats) {
      t0 = performance.now();
      await runStat(q, name);
      duck.get(name)!.ms.push(performance.now() - t0);
    }
    load.phase('end');

    const sparkCounts = new Map(readSparkCsv(path.join(answers, 'table-counts')).rows.map((r) => [r[0]!, Number(r[1])]));
    for (const v of VIEWS) {
      const d = duckCounts.get(v)!;
      const k = sparkCounts.get(v);
      out[`rows: ${v} (DuckDB / Spark)`] = `${d.toLocaleString('en-US')} / ${k === undefined ? 'missing' : k.toLocaleString('en-US')}${d === k ? '' : '  DIFFERENT'}`;
    }
    out['rows of the 7 views counted, s (DuckDB / Spark)'] = `${s(duckCountMs)} / ${s(timing('counts'))}`;
    out['Spark: process start to exit s (python, JVM, everything)'] = job.seconds;
    out['Spark: JVM and session start s'] = timing('session') / 1000;
    out['Spark: lake listing (Hadoop FileSystem) s'] = timing('listing') / 1000;
    out['Spark: table registration (7 views) s'] = timing('register') / 1000;
    out[`warm-up ${WARM_UP} s (DuckDB / Spark: first query of the engine)`] = `${s(duckWarmUpMs)} / ${s(timing('stat', WARM_UP_NAME))}`;

    const compared: { name: string; c: AnswerComparison }[] = [];
    const totals = { duck: 0, spark: 0, duckCore: 0, sparkCore: 0 };
    for (const name of stats) {
      const d = duck.get(name)!;
      const duckMs = d.ms.reduce((a, b) => a + b, 0) / d.ms.length;
      const sparkMs = timing('stat', name);
      const c = compareAnswers(readSparkCsv(path.join(answers, name)), d.answer);
      compared.push({ name, c });
      totals.duck += duckMs;
      totals.spark += sparkMs;
      // The incident statistics read the incidents table, which this lake (reports and alerts) does not have.
      if (!name.startsWith('incident')) {
        totals.duckCore += duckMs;
        totals.sparkCore += sparkMs;
      }
      const same = c.differences === 0 ? `same ${c.rows} rows${c.maxRelative > 0 ? `, max rel. diff ${c.maxRelative.toExponential(1)}` : ''}` : `DIFFERENT: ${c.differences} (${c.first})`;
      out[`${name} s: DuckDB before / after Spark; Spark (Spark/DuckDB)`] = `${d.ms.map(s).join(' / ')}; ${s(sparkMs)} (${(sparkMs / duckMs).toFixed(1)}x); ${same}`;
    }
    requireSamples('statistics compared', compared);
    const core = stats.filter((n) => !n.startsWith('incident')).length;
    out[`the ${core} statistics over reports and alerts s (DuckDB mean of 2 / Spark)`] = `${s(totals.duckCore)} / ${s(totals.sparkCore)}`;
    out[`Spark / DuckDB, the ${core} statistics (x)`] = totals.sparkCore / totals.duckCore;
    if (core < stats.length) out[`all ${stats.length} statistics s (DuckDB / Spark; the incident ones on an empty incidents table)`] = `${s(totals.duck)} / ${s(totals.spark)}`;
    out['statistics compared (samples)'] = compared.length;
    out['statistics with the same answer'] = `${compared.filter((x) => x.c.differences === 0).length} of ${compared.length}`;
    out['load 1-min during DuckDB pass 1 (min / mean / max)'] = load.summary('duckdb');
    out['load 1-min during Spark (min / mean / max)'] = load.summary('spark');
    out['load 1-min during DuckDB pass 2 (min / mean / max)'] = load.summary('duckdb-after');

    const wrong = compared.filter((x) => x.c.differences > 0).map((x) => `${x.name}: ${x.c.first}`);
    const countsWrong = VIEWS.filter((v) => duckCounts.get(v) !== sparkCounts.get(v));
    if (wrong.length > 0 || countsWrong.length > 0) {
      printTable('spark: figures of the failed run', out);
      throw new Error(`Spark and DuckDB disagree: ${[...countsWrong.map((v) => `rows of ${v}`), ...wrong].join('; ')}`);
    }
  } finally {
    load.stop();
    await q.close();
    tmp.cleanup();
  }
  return out;
}

if (isMain(import.meta.url)) {
  printTable('spark: statistics on Spark local[2] vs DuckDB, same lake', await benchSpark({ ...SPARK_DEFAULTS, reports: Number(process.argv[2] ?? SPARK_DEFAULTS.reports) }));
}
