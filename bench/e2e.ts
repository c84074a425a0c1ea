/**
 * End-to-end throughput of the embedded platform in one process: reports validated and published (the ingestor),
 * the alert consumer and the archive consumer both caught up (every report in the lake as Parquet).
 * Baseline in the same run: the bare stream moving the same records (publish, then one consumer group reading and
 * committing them), i.e. the ceiling the platform's own work sits on.
 * Run: node --import tsx bench/e2e.ts [reports]
 */
import { validateConfig } from '../src/config/index.ts';
import { Platform, type PlatformComponents } from '../src/runtime/platform.ts';
import type { Report } from '../src/contract/index.ts';
import { Fleet } from '../src/simulator/index.ts';
import { tempDir } from '../src/testkit/index.ts';
import { isMain, printTable } from './util.ts';
import { openStream } from '../src/backend/index.ts';

const BATCH = 5000;

function generate(n: number): Report[] {
  const fleet = new Fleet({ drones: 1000, seed: 7, start: Date.parse('2026-11-20T00:00:00Z') });
  return fleet.take(n);
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

async function rawStreamBaseline(reports: readonly Report[]): Promise<number> {
  const tmp = tempDir('dw-bench-raw-');
  const stream = await openStream('sqlite', { dataDir: tmp.dir });
  try {
    await stream.ensureTopic('raw', { partitions: 8 });
    const values = reports.map((r) => ({ key: r.droneId, value: Buffer.from(JSON.stringify(r)) }));
    const consumer = await stream.consumer({ topic: 'raw', group: 'g' });
    const t0 = performance.now();
    let consumed = 0;
    const reading = (async () => {
      while (consumed < values.length) {
        const recs = await consumer.poll({ maxRecords: 5000, waitMs: 50 });
        if (recs.length) await consumer.commit(recs);
        consumed += recs.length;
      }
    })();
    for (let i = 0; i < values.length; i += BATCH) {
      await stream.publish('raw', values.slice(i, i + BATCH));
      await new Promise((r) => setImmediate(r));
    }
    await reading;
    return values.length / ((performance.now() - t0) / 1000);
  } finally {
    await stream.close();
    tmp.cleanup();
  }
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function ingestAll(platform: Platform, reports: readonly Report[]): Promise<void> {
  for (let i = 0; i < reports.length; i += BATCH) {
    await platform.ingestor.ingestReports(reports.slice(i, i + BATCH), 'bench');
    // Let the consumers run between batches, as they would between HTTP requests.
    await new Promise((r) => setImmediate(r));
  }
}

const lakeRows = (p: Platform): number => p.archiveWorker?.stats().perTopic.reports?.rowsWritten ?? 0;

/**
 * Where the time goes: each stage run alone over the same reports (ingest with no consumer running, then the alert
 * consumer catching up on that backlog, then the archive consumer), with the CPU time of the process (all threads,
 * DuckDB's included) per report. Their sum is what the concurrent run has to fit in 2 cores.
 */
async function stages(reports: readonly Report[]): Promise<Record<string, number>> {
  const tmp = tempDir('dw-bench-stages-');
  const config = validateConfig({ dataDir: tmp.dir, ingest: { maxLag: 10_000_000 }, archive: { maxBatchRecords: 50_000, maxBatchAgeMs: 1000 } });
  const n = reports.length;
  const out: Record<string, number> = {};
  try {
    /** One stage alone: start its components on the shared data dir, run until `done`, record rate and CPU/report. */
    const stage = async (name: string, components: PlatformComponents, work: (p: Platform) => Promise<unknown>): Promise<void> => {
      const platform = await Platform.open(config);
      await platform.start(components);
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await work(platform);
      out[`stage ${name} alone: reports/s`] = Math.round(n / ((performance.now() - t0) / 1000));
      out[`stage ${name} alone: CPU us/report`] = (cpuMs(cpu) * 1000) / n;
      await platform.stop();
    };
    await stage('ingest', {}, (p) => ingestAll(p, reports));
    await stage('alerts', { alerts: true }, (p) => waitFor(() => p.alertWorker!.stats().reportsProcessed >= n, 300_000));
    await stage('archive', { archive: true }, (p) => waitFor(() => lakeRows(p) >= n, 300_000));
    const sum = out['stage ingest alone: CPU us/report']! + out['stage alerts alone: CPU us/report']! + out['stage archive alone: CPU us/report']!;
    out['sum of stages: CPU us/report'] = sum;
    out['ceiling on 2 cores from that CPU cost: reports/s'] = Math.round(2e6 / sum);
    return out;
  } finally {
    tmp.cleanup();
  }
}

export async function benchE2E(opts: { reports: number; archive?: true | 'thread'; stages?: boolean }): Promise<Record<string, number>> {
  const reports = generate(opts.reports);
  const baseline = await rawStreamBaseline(reports);

  const tmp = tempDir('dw-bench-e2e-');
  const config = validateConfig({ dataDir: tmp.dir, archive: { maxBatchRecords: 50_000, maxBatchAgeMs: 1000 } });
  const platform = await Platform.open(config);
  await platform.start({ alerts: true, archive: opts.archive ?? 'thread' });
  let result: Record<string, number>;
  try {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    await ingestAll(platform, reports);
    const published = performance.now();
    const alertsOk = await waitFor(() => platform.alertWorker!.stats().reportsProcessed >= reports.length, 300_000);
    const alertsDone = performance.now();
    const lakeOk = await waitFor(() => lakeRows(platform) >= reports.length, 300_000);
    const lakeDone = performance.now();
    if (!alertsOk || !lakeOk) throw new Error('the consumers did not catch up within 5 minutes');
    const total = (Math.max(lakeDone, alertsDone) - t0) / 1000;
    result = {
      reports: reports.length,
      'e2e reports/s (alerts + lake caught up)': Math.round(reports.length / total),
      'publish phase reports/s': Math.round(reports.length / ((published - t0) / 1000)),
      'alerts caught up after s': (alertsDone - t0) / 1000,
      'lake caught up after s': (lakeDone - t0) / 1000,
      'CPU us/report (all threads)': (cpuMs(cpu) * 1000) / reports.length,
      'alerts raised': platform.alertWorker!.stats().alertsRaised,
      'baseline: raw stream publish+consume/s': Math.round(baseline),
      'ratio e2e / raw stream': reports.length / total / baseline,
    };
  } finally {
    await platform.stop();
    tmp.cleanup();
  }
  return opts.stages ? { ...result, ...(await stages(reports)) } : result;
}

if (isMain(import.meta.url)) {
  const n = Number(process.argv[2] ?? 300_000);
  printTable(`end-to-end, embedded (archive in a worker thread, as \`up\` runs it), ${n} reports`, await benchE2E({ reports: n, stages: true }));
  printTable(`end-to-end, embedded, everything on the main thread, ${n} reports`, await benchE2E({ reports: n, archive: true }));
}

