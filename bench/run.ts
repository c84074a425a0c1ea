/**
 * `npm run bench`: every benchmark in one run, each printing its figures next to a baseline measured in the same run
 * (these machines are noisy: compare within a run, not across runs). `npm run bench -- --quick` uses smaller sizes.
 * Results are recorded in docs/benchmarks.md.
 */
import os from 'node:os';
import { benchAlertLatencyHttp } from './alert-latency-http.ts';
import { benchAlerts } from './alerts.ts';
import { benchAnalysis } from './analysis.ts';
import { benchAuth } from './auth.ts';
import { benchArchive } from './archive.ts';
import { benchContract } from './contract.ts';
import { benchE2E } from './e2e.ts';
import { benchLakeS3 } from './lake-s3.ts';
import { benchNats, NATS_DEFAULTS, NATS_QUICK } from './nats.ts';
import { benchSimulator } from './simulator.ts';
import { benchStreamSqlite } from './stream-sqlite.ts';
import { printTable } from './util.ts';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

const suites: [string, string, () => Promise<Record<string, number | string>>][] = [
  ['contract', 'validator vs ajv vs JSON.parse', () => benchContract({ reports: quick ? 50_000 : 200_000 })],
  ['simulator', 'simulator backfill vs JSON.stringify', () => benchSimulator({ reports: quick ? 50_000 : 300_000 })],
  ['stream', 'embedded stream vs raw better-sqlite3', () => benchStreamSqlite({ records: quick ? 50_000 : 200_000 })],
  ['archive', 'archive to Parquet vs DuckDB COPY alone; bytes/report vs JSON and gzip', () => benchArchive({ reports: quick ? 50_000 : 200_000 })],
  ['e2e', 'end-to-end embedded throughput vs raw stream, and where the time goes', () => benchE2E({ reports: quick ? 50_000 : 200_000, stages: true })],
  ['alerts', 'alert latency publish -> bus vs raw stream publish -> poll, 10k reports/s', () => benchAlerts({ reportsPerSecond: 10_000, seconds: quick ? 3 : 10 })],
  ['analysis', 'statistics over the lake: dronewatch vs DuckDB direct vs JSON lines in Node', () => benchAnalysis({ reports: quick ? 1_000_000 : 10_000_000 })],
  ['latency-http', 'alert latency report -> SSE subscriber vs bare SSE socket, 10k reports/s', () => benchAlertLatencyHttp({ reportsPerSecond: 10_000, seconds: quick ? 3 : 10 })],
  ['nats', 'NATS JetStream: raw client vs NatsStream and the platform (throughput per group, alert latency); sync_interval always vs default, 1 and 3 nodes', () => benchNats(quick ? NATS_QUICK : NATS_DEFAULTS)],
  ['auth', 'request authentication: KV credential copy and SQLite store vs SHA-256 + Map; per-drone limit vs Map', () => benchAuth({ drones: quick ? 1_000 : 5_000, lookups: quick ? 50_000 : 200_000 })],
  ['lake-s3', 'lake on Ceph RGW (S3) vs local disk: archive rows/s, query ms with a cold and a warm cache', () => benchLakeS3({ reports: quick ? 50_000 : 200_000 })],
];

process.stdout.write(`# dronewatch benchmarks ${new Date().toISOString()}\n`);
process.stdout.write(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
for (const [name, title, run] of suites) {
  if (only && !only.includes(name)) continue;
  try {
    printTable(`${name}: ${title}`, await run());
  } catch (err) {
    process.stdout.write(`\n## ${name}: FAILED: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
