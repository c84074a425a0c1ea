/**
 * The measurements of bench/kafka.ts, each on a cluster it is given: KafkaStream alone (publish + 2 groups), the
 * platform (ingestion, alert worker, archive thread), each stage alone, and the alert latency at a fixed rate.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AlertBus, AlertWorker } from '../src/alerts/index.ts';
import { KafkaStream, openAlertStore } from '../src/backend/index.ts';
import { validateConfig } from '../src/config/index.ts';
import type { AcceptedReport, Report } from '../src/contract/index.ts';
import { Platform, type PlatformComponents } from '../src/runtime/platform.ts';
import { createLogger } from '../src/util/log.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../src/stream/index.ts';
import { tempDir, type KafkaTestCluster } from '../src/testkit/index.ts';
import { CpuSpan, RequestCount } from './kafka-cost.ts';
import { RAW_COMMIT_INTERVAL_MS, TICK_MS } from './kafka-raw.ts';
import { inBatches as inRanges, latencyRecords, publishWithTwoGroups, waitFor } from './stream-bench.ts';
import { percentile } from './util.ts';

export const enc = new TextEncoder();
export const WARMUP_MS = 1000;
/** Reports per publish / `ingestReports` call (one HTTP request's batch) and calls in flight, as bench/nats.ts. */
export const BATCH = 500;
export const CALLS_IN_FLIGHT = 2;
export const PARTITIONS = 8;
export const REPLICAS = 3;
/** Every wait of the suite is bounded: a stalled consumer fails the suite instead of hanging it. */
const CATCH_UP_MS = 180_000;

export interface KafkaBenchOptions {
  /** Reports of each throughput run. */
  reports: number;
  /** Latency runs: reports/s and seconds, share of reports that alert (more samples than production's < 1%). */
  latencyRate: number;
  latencySeconds: number;
  alertRate: number;
  /** Part 2 (each stage alone). */
  stages: boolean;
}

export const KAFKA_DEFAULTS: KafkaBenchOptions = { reports: 100_000, latencyRate: 200, latencySeconds: 30, alertRate: 0.25, stages: true };
export const KAFKA_QUICK: KafkaBenchOptions = { reports: 5000, latencyRate: 200, latencySeconds: 3, alertRate: 0.25, stages: false };

export const r0 = (x: number): number => Math.round(x);

/** Ingests reports[from, to): every report must be accepted as new, or the run would measure less than it says. */
async function ingest(platform: Platform, reports: readonly Report[], from: number, to: number): Promise<void> {
  const r = await platform.ingestor.ingestReports(reports.slice(from, to), 'bench');
  const fresh = r.accepted.filter((a) => !a.duplicate).length;
  if (fresh !== to - from) {
    throw new Error(`ingestion accepted ${fresh} new reports of ${to - from} (${r.rejected.length} rejected${r.rejected[0] ? `: ${JSON.stringify(r.rejected[0])}` : ''})`);
  }
}

/** Runs `call` over [0, n) in BATCH-sized ranges, `inFlight` at a time. */
const inBatches = (n: number, call: (from: number, to: number) => Promise<unknown>, inFlight = CALLS_IN_FLIGHT): Promise<void> => inRanges(n, BATCH, inFlight, call);

/**
 * KafkaStream publish (batches of BATCH, CALLS_IN_FLIGHT at a time, unless `load` says otherwise: `--batch=` and
 * `--in-flight=` of `--part=stream|pair`) with groups alerts and archive reading.
 */
export async function streamLevel(brokers: string[], values: readonly Uint8Array[], tag: string, load: { batch: number; inFlight: number } = { batch: BATCH, inFlight: CALLS_IN_FLIGHT }): Promise<{ publish: number; groups: number[] }> {
  const stream = await KafkaStream.connect({ brokers, tenant: `sl${tag}`, replicas: REPLICAS });
  try {
    // The reports topic's de-duplication window: publish checks each id, as ingestion's publishes do.
    return await publishWithTwoGroups(stream, values, tag, {
      topic: { partitions: PARTITIONS, duplicateWindowMs: DEFAULT_TOPIC_CONFIG.reports.duplicateWindowMs }, batch: load.batch, inFlight: load.inFlight,
      catchUpMs: CATCH_UP_MS, label: 'KafkaStream', commitEveryMs: RAW_COMMIT_INTERVAL_MS,
    });
  } finally {
    await stream.close();
  }
}

function platformConfig(cluster: KafkaTestCluster, dataDir: string, tenant: string): ReturnType<typeof validateConfig> {
  return validateConfig({
    dataDir, tenant,
    stream: { url: `kafka://${cluster.bootstrap}`, replicas: REPLICAS, partitions: PARTITIONS },
    // Alert state kept local, as bench/nats.ts: this measures the stream path, not the shared alert state.
    alerts: { state: 'local' },
    ingest: { maxLag: 100_000_000 },
    archive: { maxBatchRecords: 50_000, maxBatchAgeMs: 1000 },
  });
}

/** Requests of the last platformLevel run (the main thread's clients: ingestion and the alert worker, not the archive thread's). */
export let lastPlatformRequests = '';

const lakeRows = (p: Platform): number => p.archiveWorker?.stats().perTopic.reports?.rowsWritten ?? 0;

/**
 * The platform on KafkaStream: Ingestor -> reports -> AlertWorker and ArchiveWorker (in its thread, as `up`), with
 * `inFlight` ingestion calls of BATCH reports outstanding (HTTP requests being served at once).
 */
export async function platformLevel(cluster: KafkaTestCluster, reports: readonly Report[], tenant: string, inFlight = CALLS_IN_FLIGHT): Promise<Record<string, number>> {
  const tmp = tempDir('dw-bench-kafka-');
  const platform = await Platform.open(platformConfig(cluster, tmp.dir, tenant), { logger: createLogger('bench-kafka', process.env.DRONEWATCH_LOG_LEVEL ?? 'warn') });
  try {
    await platform.start({ alerts: true, archive: 'thread' });
    const n = reports.length;
    const cpu = new CpuSpan(cluster);
    const requests = new RequestCount();
    const t0 = performance.now();
    await inBatches(n, (from, to) => ingest(platform, reports, from, to), inFlight);
    const published = performance.now();
    const progress = (): string => `${platform.alertWorker!.stats().reportsProcessed} reports through the alert worker, ${lakeRows(platform)} in the lake, of ${n}`;
    const [alertsDone, archiveDone] = await Promise.all([
      waitFor('alert worker', () => platform.alertWorker!.stats().reportsProcessed >= n, CATCH_UP_MS, progress),
      waitFor('archive worker', () => lakeRows(platform) >= n, CATCH_UP_MS, progress),
    ]);
    const c = cpu.end();
    const rate = (t: number): number => n / ((t - t0) / 1000);
    lastPlatformRequests = requests.end(n);
    const a = platform.archiveWorker!.stats();
    const perFlush = (ms: number): number => ms / Math.max(1, a.batchesWritten);
    return {
      // What the archive's flushes cost beyond their rows (every topic: reports, alerts, incidents), ms per flush.
      flushes: a.batchesWritten, flushStage: perFlush(a.flushStepMs.staged), flushMarker: perFlush(a.flushStepMs['marker-written']),
      flushPublish: perFlush(a.flushStepMs.checkpointed), flushCommit: perFlush(a.flushStepMs['stream-committed']), flushClean: perFlush(a.flushStepMs.cleaned),
      flushSecondsPerSecond: Object.values(a.flushStepMs).reduce((x, y) => x + y, 0) / (Math.max(alertsDone, archiveDone) - t0),
      publish: rate(published), alerts: rate(alertsDone), archive: rate(archiveDone), all: rate(Math.max(alertsDone, archiveDone)),
      procUs: (c.procMs * 1000) / n, brokersUs: (c.brokersMs * 1000) / n,
      machineBusy: c.machineBusyMs / c.machineMs, procShare: c.procMs / c.machineMs, brokersShare: c.brokersMs / c.machineMs,
      othersShare: (c.machineBusyMs - c.procMs - c.brokersMs) / c.machineMs,
    };
  } finally {
    await platform.stop();
    tmp.cleanup();
  }
}

/**
 * Each stage alone over the same reports, on one tenant's topics: ingest with no consumer running, then the alert worker
 * catching up on that backlog, then the archive worker (on this thread, so that its CPU is this process's). CPU time of
 * this process and of the brokers per report; their sum is what the concurrent run has to fit in the machine's cores.
 */
export async function stages(cluster: KafkaTestCluster, reports: readonly Report[]): Promise<Record<string, number | string>> {
  const tmp = tempDir('dw-bench-kafka-stages-');
  const config = platformConfig(cluster, tmp.dir, 'stages');
  const n = reports.length;
  const out: Record<string, number | string> = {};
  let sum = 0;
  try {
    const stage = async (name: string, components: PlatformComponents, work: (p: Platform) => Promise<unknown>): Promise<void> => {
      const platform = await Platform.open(config);
      try {
        await platform.start(components);
        const cpu = new CpuSpan(cluster);
        const requests = new RequestCount();
        await work(platform);
        const c = cpu.end();
        out[`stage ${name} alone: requests per 1,000 reports`] = requests.end(n);
        const us = ((c.procMs + c.brokersMs) * 1000) / n;
        sum += us;
        out[`stage ${name} alone: reports/s; CPU us/report dronewatch + brokers = total`] =
          `${r0(n / (c.wallMs / 1000))}; ${r0((c.procMs * 1000) / n)} + ${r0((c.brokersMs * 1000) / n)} = ${r0(us)}`;
      } finally {
        await platform.stop();
      }
    };
    await stage('ingest', {}, (p) => inBatches(n, (from, to) => ingest(p, reports, from, to)));
    await stage('alerts', { alerts: true }, (p) => waitFor('alert worker (stage)', () => p.alertWorker!.stats().reportsProcessed >= n, CATCH_UP_MS));
    await stage('archive', { archive: true }, (p) => waitFor('archive worker (stage)', () => lakeRows(p) >= n, CATCH_UP_MS));
    out['sum of the stages: CPU us/report'] = r0(sum);
    out[`ceiling on ${os.cpus().length} cores from that CPU cost: reports/s`] = r0((os.cpus().length * 1e6) / sum);
    return out;
  } finally {
    tmp.cleanup();
  }
}

/** Report published -> alert event on the bus, AlertWorker on KafkaStream, at a fixed rate; from the call and from the ack. */
export async function alertLatency(brokers: string[], opts: KafkaBenchOptions, tag: string): Promise<{ fromCall: number[]; fromAck: number[] }> {
  const tmp = tempDir('dw-bench-kafka-lat-');
  const tenant = `lat${tag}`;
  const stream = await KafkaStream.connect({ brokers, tenant, replicas: REPLICAS });
  const store = openAlertStore({ dataDir: tmp.dir });
  const bus = new AlertBus();
  const worker = new AlertWorker({ stream, store, bus, tenant, config: { threshold: 20, criticalThreshold: 5, wordRules: [] } });
  try {
    await stream.ensureTopic(TOPICS.reports, DEFAULT_TOPIC_CONFIG.reports);
    await worker.start();
    const total = Math.round(opts.latencyRate * opts.latencySeconds);
    // A first publish outside the samples: it also fetches the producer id and builds the duplicate index.
    const warmUp: AcceptedReport = {
      droneId: 'warm-up', timestamp: new Date().toISOString(), position: { lat: 48.85, lon: 2.35 }, citizens: [{ name: 'passer-by', score: 90 }],
      words: [], reportId: `warm-up:${Date.now()}`, ts: Date.now(), receivedAt: Date.now(), tenant,
    };
    await stream.publish(TOPICS.reports, [{ key: warmUp.droneId, id: warmUp.reportId, value: enc.encode(JSON.stringify(warmUp)) }]);
    const { records, indexOf } = latencyRecords(total, opts.alertRate, tenant);
    const t0s = new Float64Array(total);
    const t1s = new Float64Array(total).fill(Number.NaN);
    const arrivals: [number, number][] = [];
    let measureFrom = Infinity;
    bus.subscribe((e) => {
      const now = performance.now();
      const i = indexOf.get(e.alert.lastReportId);
      if (i !== undefined && e.type === 'raised' && t0s[i]! >= measureFrom) arrivals.push([i, now]);
    });
    const begin = performance.now();
    measureFrom = begin + WARMUP_MS;
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - begin) / 1000) * opts.latencyRate));
      if (due > sent) {
        t0s.fill(performance.now(), sent, due);
        await stream.publish(TOPICS.reports, records.slice(sent, due));
        t1s.fill(performance.now(), sent, due);
        sent = due;
      }
      await sleep(TICK_MS);
    }
    await waitFor('alert worker (latency run)', () => worker.stats().reportsProcessed >= total + 1, 60_000);
    return {
      fromCall: arrivals.map(([i, now]) => now - t0s[i]!),
      fromAck: arrivals.map(([i, now]) => Math.max(0, now - t1s[i]!)),
    };
  } finally {
    await worker.stop();
    store.close();
    await stream.close();
    tmp.cleanup();
  }
}

export const pcts = (samples: number[]): { p50: number; p99: number; n: number } => {
  const s = samples.slice().sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), n: s.length };
};
export const fmt = (p: { p50: number; p99: number; n: number }): string => `${p.p50.toFixed(2)} / ${p.p99.toFixed(2)} (${p.n})`;
