/**
 * End-to-end throughput of the embedded platform in one process: reports validated and published (the ingestor),
 * the alert consumer and the archive consumer both caught up (every report in the lake as Parquet).
 * Baseline in the same run: the bare stream moving the same records (publish, then one consumer group reading and
 * committing them), i.e. the ceiling the platform's own work sits on.
 * Run: node --import tsx bench/e2e.ts [reports]
 */
import { validateConfig } from '../src/config/index.ts';
import { Platform } from '../src/runtime/platform.ts';
import type { Report } from '../src/contract/index.ts';
import { Fleet } from '../src/simulator/index.ts';
import { TOPICS, openStream } from '../src/stream/index.ts';
import { tempDir } from '../src/testkit/index.ts';
import { isMain, printTable } from './util.ts';

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

export async function benchE2E(opts: { reports: number }): Promise<Record<string, number>> {
  const reports = generate(opts.reports);
  const baseline = await rawStreamBaseline(reports);

  const tmp = tempDir('dw-bench-e2e-');
  const config = validateConfig({ dataDir: tmp.dir, archive: { maxBatchRecords: 50_000, maxBatchAgeMs: 1000 } });
  const platform = await Platform.open(config);
  await platform.start({ alerts: true, archive: true });
  try {
    const t0 = performance.now();
    let ingestMs = 0;
    for (let i = 0; i < reports.length; i += BATCH) {
      const s = performance.now();
      await platform.ingestor.ingestReports(reports.slice(i, i + BATCH), 'bench');
      ingestMs += performance.now() - s;
      // Let the consumers run between batches, as they would between HTTP requests.
      await new Promise((r) => setImmediate(r));
    }
    const published = performance.now();
    const alertsOk = await waitFor(() => platform.alertWorker!.stats().reportsProcessed >= reports.length, 300_000);
    const alertsDone = performance.now();
    const lakeOk = await waitFor(() => platform.archiveWorker!.stats().rowsWritten >= reports.length, 300_000);
    const lakeDone = performance.now();
    if (!alertsOk || !lakeOk) throw new Error('the consumers did not catch up within 5 minutes');
    const total = (lakeDone - t0) / 1000;
    return {
      reports: reports.length,
      'e2e reports/s (alerts + lake caught up)': Math.round(reports.length / Math.max(total, (alertsDone - t0) / 1000)),
      'publish phase reports/s': Math.round(reports.length / ((published - t0) / 1000)),
      'ingest (validate+publish) ms': Math.round(ingestMs),
      'alerts caught up after s': (alertsDone - t0) / 1000,
      'lake caught up after s': (lakeDone - t0) / 1000,
      'alerts raised': platform.alertWorker!.stats().alertsRaised,
      'baseline: raw stream publish+consume/s': Math.round(baseline),
      'ratio e2e / raw stream': reports.length / total / baseline,
    };
  } finally {
    await platform.stop();
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  const n = Number(process.argv[2] ?? 300_000);
  printTable(`end-to-end, embedded, ${n} reports`, await benchE2E({ reports: n }));
}

export { TOPICS };
