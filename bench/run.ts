/**
 * `npm run bench`: every benchmark in one run, each printing its figures next to a baseline measured in the same run
 * (these machines are noisy: compare within a run, not across runs). Results are recorded in docs/benchmarks.md.
 *
 *   --only=a,b   only these suites
 *   --quick      every suite briefly (small sizes, short runs): whether each still runs and measures, not figures to quote
 *   --check      also fail when a suite skipped itself (a server it needs is missing), and run a failed suite once more
 *                (it fails if both runs fail; both reasons are printed); CI runs `--quick --check`
 *
 * A suite fails (exit status 1, "FAILED" with the reason) when it throws, exceeds its time limit, or returns no figure,
 * a figure that is NaN or infinite, or a sample count of 0: a table of NaN is not a result.
 */
import os from 'node:os';
import { benchAlertLatencyHttp } from './alert-latency-http.ts';
import { benchAlerts } from './alerts.ts';
import { benchAnalysis } from './analysis.ts';
import { benchAuth } from './auth.ts';
import { benchCliStart } from './cli-start.ts';
import { benchArchive } from './archive.ts';
import { benchContract } from './contract.ts';
import { benchE2E } from './e2e.ts';
import { benchKafka, KAFKA_DEFAULTS, KAFKA_QUICK } from './kafka.ts';
import { benchLakeS3 } from './lake-s3.ts';
import { benchNats, NATS_DEFAULTS, NATS_QUICK } from './nats.ts';
import { benchSimulator } from './simulator.ts';
import { benchSpark, SPARK_DEFAULTS, SPARK_QUICK } from './spark.ts';
import { benchStreamSqlite } from './stream-sqlite.ts';
import { figureProblems, machinePace, printTable, skippedParts, withTimeout } from './util.ts';

const quick = process.argv.includes('--quick');
const check = process.argv.includes('--check');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

type Figures = Record<string, number | string>;
/** Name, title, the run (full or --quick), and its time limit in seconds (full / quick). */
const suites: [string, string, () => Promise<Figures>, [number, number]][] = [
  ['contract', 'validator vs ajv vs JSON.parse', () => benchContract({ reports: quick ? 20_000 : 200_000 }), [300, 60]],
  ['simulator', 'simulator backfill vs JSON.stringify', () => benchSimulator({ reports: quick ? 20_000 : 300_000 }), [300, 60]],
  ['stream', 'embedded stream vs raw better-sqlite3', () => benchStreamSqlite({ records: quick ? 20_000 : 200_000 }), [300, 60]],
  ['archive', 'archive to Parquet vs DuckDB COPY alone; bytes/report vs JSON and gzip', () => benchArchive({ reports: quick ? 20_000 : 200_000 }), [600, 90]],
  ['e2e', 'end-to-end embedded throughput vs raw stream, and where the time goes', () => benchE2E({ reports: quick ? 10_000 : 200_000, stages: true }), [900, 120]],
  ['alerts', 'alert latency publish -> bus vs raw stream publish -> poll, 10k reports/s', () => benchAlerts({ reportsPerSecond: 10_000, seconds: quick ? 2 : 10 }), [300, 90]],
  ['analysis', 'statistics over the lake: dronewatch vs DuckDB direct vs JSON lines in Node', () => benchAnalysis(quick ? { reports: 20_000, runs: 1 } : { reports: 10_000_000 }), [3600, 120]],
  ['latency-http', 'alert latency report -> SSE subscriber vs bare SSE socket, 10k reports/s', () => benchAlertLatencyHttp({ reportsPerSecond: 10_000, seconds: quick ? 2 : 10 }), [300, 90]],
  ['nats', 'NATS JetStream: raw client vs NatsStream and the platform (throughput per group, alert latency); sync_interval always vs default, 1 and 3 nodes', () => benchNats(quick ? NATS_QUICK : NATS_DEFAULTS), [1200, 180]],
  ['kafka', 'Kafka, 3 nodes (RF 3, min.insync.replicas 2): raw client vs KafkaStream and the platform (throughput per group, where the time goes, alert latency)', () => benchKafka(quick ? KAFKA_QUICK : KAFKA_DEFAULTS), [1800, 180]],
  ['auth', 'request authentication: KV credential copy and SQLite store vs SHA-256 + Map; per-drone limit vs Map', () => benchAuth({ drones: quick ? 500 : 5_000, lookups: quick ? 20_000 : 200_000 }), [300, 60]],
  ['lake-s3', 'lake on Ceph RGW (S3) vs local disk: archive rows/s, query ms with a cold and a warm cache', () => benchLakeS3(quick ? { reports: 10_000, runs: 1 } : { reports: 200_000 }), [900, 120]],
  ['spark', 'statistics on Spark local[2] vs DuckDB over the same lake: JVM start and registration apart, rows per view, answers compared', () => benchSpark(quick ? SPARK_QUICK : SPARK_DEFAULTS), [7200, 240]],
  ['cli-start', 'CLI start (--help, users list, alerts ack; compiled dist/) vs node -e 0, and --help from source through tsx', () => benchCliStart(quick ? { samples: 3, sourceSamples: 1 } : { samples: 15, sourceSamples: 3 }), [300, 90]],
];

if (only) {
  const unknown = only.filter((n) => !suites.some(([name]) => name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite(s) ${unknown.join(', ')}; suites: ${suites.map(([n]) => n).join(', ')}\n`);
    process.exit(2);
  }
}

/** `text` on one line, cut to `max` characters. */
const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
};
// The load average and the machine's pace (util.ts machinePace: us for one JSON.parse of a report, lower is faster) at
// the start, after every suite and at the end: figures of two runs compare only in proportion to their pace.
const load = (): string => `${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, pace ${machinePace().toFixed(2)} us`;
const started = performance.now();
process.stdout.write(`# dronewatch benchmarks ${new Date().toISOString()}${quick ? ' (--quick)' : ''}${check ? ' (--check)' : ''}\n`);
process.stdout.write(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${load()}\n`);
const results: { name: string; seconds: number; failure: string | undefined; firstFailure: string | undefined }[] = [];

/** One run of a suite: its table printed, and why it failed (undefined when it produced its figures). */
async function runSuite(name: string, title: string, run: () => Promise<Figures>, limitS: number): Promise<{ failure?: string; skippedOnly?: boolean }> {
  try {
    const figures = await withTimeout(run(), limitS * 1000, `suite ${name}`);
    printTable(`${name}: ${title}`, figures);
    const problems = figureProblems(figures);
    const skipped = skippedParts(figures);
    if (skipped.length > 0) process.stdout.write(`  SKIPPED: ${skipped.join('; ')}\n`);
    if (problems.length > 0) return { failure: problems.join('; ') };
    if (check && skipped.length > 0) return { failure: `skipped with --check: ${skipped.join('; ')}`, skippedOnly: true };
    return {};
  } catch (err) {
    return { failure: (err as Error).message };
  }
}

for (const [name, title, run, [fullLimit, quickLimit]] of suites) {
  if (only && !only.includes(name)) continue;
  const t0 = performance.now();
  const limitS = quick ? quickLimit : fullLimit;
  let { failure, skippedOnly } = await runSuite(name, title, run, limitS);
  let firstFailure: string | undefined;
  // With --check, a suite that failed (not merely skipped) runs once more: these suites drive real clusters on a
  // shared 2-core machine, and --check asks whether each still runs and measures. A suite broken for good fails both
  // runs; the first run's reason is printed either way, in the summary at the end.
  if (check && failure !== undefined && !skippedOnly) {
    firstFailure = failure;
    process.stdout.write(`\n## ${name}: failed (${oneLine(failure, 600)}); running it once more (--check)\n`);
    ({ failure } = await runSuite(name, title, run, limitS));
  }
  const seconds = (performance.now() - t0) / 1000;
  results.push({ name, seconds, failure, firstFailure });
  if (failure) process.stdout.write(`\n## ${name}: FAILED: ${failure}\n`);
  process.stdout.write(`  (${name}: ${seconds.toFixed(0)} s, load ${load()})\n`);
}

const failed = results.filter((r) => r.failure);
process.stdout.write(`\n# ${results.length - failed.length} of ${results.length} suites produced their figures in ${((performance.now() - started) / 1000).toFixed(0)} s`
  + `${failed.length > 0 ? `; FAILED: ${failed.map((r) => r.name).join(', ')}` : ''}; load ${load()}\n`);
// The reasons again at the very end: CI keeps only the tail of a long run's output, and a suite's own FAILED line may be
// far above it.
for (const r of results) {
  if (r.failure) process.stdout.write(`# ${r.name} FAILED: ${oneLine(r.failure, 600)}\n`);
  if (r.firstFailure) process.stdout.write(`# ${r.name}, first run${r.failure ? '' : ' (the second passed)'}: ${oneLine(r.firstFailure, 600)}\n`);
}
// Exit explicitly: a failed suite may leave a connection or timer behind, and the run must end anyway (the testkit's
// exit hooks kill the servers it started).
process.exit(failed.length > 0 ? 1 : 0);
