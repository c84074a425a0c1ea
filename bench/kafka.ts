/**
 * Kafka (distributed mode), in one run on a 3-node Kafka 4 cluster started by the testkit on this machine (KRaft,
 * replication factor 3, min.insync.replicas 2: every acknowledged record is on two brokers' logs):
 *  1. raw Kafka (same client, no dronewatch code: bench/kafka-raw.ts): idempotent acks=all producer + 2 groups reading
 *     with the client's messages stream, vs dronewatch on the same cluster: KafkaStream publish in batches of 500, 2
 *     calls in flight (as an ingest process serving 2 requests, bench/nats.ts's setting) + 2 consumer groups (`alerts`,
 *     `archive`) polling and committing; then the platform itself (Ingestor -> AlertWorker and ArchiveWorker writing
 *     Parquet, the archive in its worker thread as `up` runs it), again with 8 ingestion calls in flight;
 *  2. where the platform's time goes: each stage alone over the same reports (ingest into an empty topic, then the
 *     alert worker, then the archive worker draining that backlog);
 *  3. latency at a fixed rate: raw produce -> consumer vs report published -> alert event on the bus (AlertWorker on
 *     KafkaStream), each from the publish call and from its acknowledgement.
 * With the throughput figures: the CPU time of this process and of the three broker JVMs per record (/proc), and the
 * requests this thread's clients sent to the brokers per 1,000 records, by API (the client's diagnostics channel).
 * Every figure is next to its baseline of the same run. The brokers, this process and everything else on the machine
 * share its cores.
 * Run: node --import tsx bench/kafka.ts [--quick]   (or npm run bench -- --only=kafka)
 * Experiments: --sweep [n] (raw producer settings), --part=<pair|raw|stream|platform|stages|latency> [n] [--c2] [--profile=<file>].
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Session } from 'node:inspector';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AlertBus, AlertWorker } from '../src/alerts/index.ts';
import { KafkaStream, openAlertStore } from '../src/backend/index.ts';
import { validateConfig } from '../src/config/index.ts';
import type { AcceptedReport, Report } from '../src/contract/index.ts';
import { Platform, type PlatformComponents } from '../src/runtime/platform.ts';
import { Fleet, REPORT_INTERVAL_MS } from '../src/simulator/index.ts';
import { createLogger } from '../src/util/log.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS, type OutgoingRecord } from '../src/stream/index.ts';
import { findKafka, KAFKA_TEST_JVM_OPTIONS, startKafka, tempDir, type KafkaTestCluster } from '../src/testkit/index.ts';
import { rawConnect, rawLatency, rawProduce, rawProduceConsume, rawTopic, RAW_SETTINGS, TICK_MS, type RawProducerSettings } from './kafka-raw.ts';
import { isMain, percentile, printTable, requireSamples, withTimeout } from './util.ts';

const enc = new TextEncoder();
const WARMUP_MS = 1000;
/** Reports per publish / `ingestReports` call (one HTTP request's batch) and calls in flight, as bench/nats.ts. */
const BATCH = 500;
const CALLS_IN_FLIGHT = 2;
const PARTITIONS = 8;
const REPLICAS = 3;
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

const load = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' ');
const r0 = (x: number): number => Math.round(x);

/** Simulated reports of 1,000 drones (one a minute each), ending about now: ingestion refuses reports from the future. */
function generate(n: number): Report[] {
  const drones = 1000;
  return new Fleet({ drones, seed: 11, start: Date.now() - (Math.ceil(n / drones) + 2) * REPORT_INTERVAL_MS }).take(n);
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number, progress: () => string = () => ''): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not done after ${timeoutMs / 1000} s${progress() ? ` (${progress()})` : ''}`);
    await sleep(5);
  }
  return performance.now();
}

/** Ingests reports[from, to): every report must be accepted as new, or the run would measure less than it says. */
async function ingest(platform: Platform, reports: readonly Report[], from: number, to: number): Promise<void> {
  const r = await platform.ingestor.ingestReports(reports.slice(from, to), 'bench');
  const fresh = r.accepted.filter((a) => !a.duplicate).length;
  if (fresh !== to - from) {
    throw new Error(`ingestion accepted ${fresh} new reports of ${to - from} (${r.rejected.length} rejected${r.rejected[0] ? `: ${JSON.stringify(r.rejected[0])}` : ''})`);
  }
}

/** Runs `call` over [0, n) in BATCH-sized ranges, `inFlight` at a time. */
async function inBatches(n: number, call: (from: number, to: number) => Promise<unknown>, inFlight = CALLS_IN_FLIGHT): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const from = next;
      next = Math.min(n, next + BATCH);
      await call(from, next);
    }
  }));
}

/** CPU time (ms) of the broker JVMs, read from /proc (the processes whose command line names a node's config file). */
function brokerCpuMs(cluster: KafkaTestCluster): number {
  const configs = cluster.nodes.map((n) => n.configFile);
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!configs.some((c) => cmd.includes(c)) || !cmd.includes('kafka.Kafka')) continue;
      // Fields after the command name in parentheses: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile
    }
  }
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Busy and total CPU time (ms) of the whole machine, from /proc/stat. */
function machineCpuMs(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3]! + (f[4] ?? 0);
  return { busy: ((total - idle) * 1000) / 100, total: (total * 1000) / 100 };
}

/** CPU taken during a span: this process (all threads), the brokers, the machine (everything, others' work included). */
class CpuSpan {
  private readonly proc = process.cpuUsage();
  private readonly brokers: number;
  private readonly machine = machineCpuMs();
  private readonly t0 = performance.now();
  constructor(private readonly cluster: KafkaTestCluster) {
    this.brokers = brokerCpuMs(cluster);
  }
  end(): { wallMs: number; procMs: number; brokersMs: number; machineBusyMs: number; machineMs: number } {
    const p = process.cpuUsage(this.proc);
    const m = machineCpuMs();
    return {
      wallMs: performance.now() - this.t0,
      procMs: (p.user + p.system) / 1000,
      brokersMs: brokerCpuMs(this.cluster) - this.brokers,
      machineBusyMs: m.busy - this.machine.busy,
      machineMs: m.total - this.machine.total,
    };
  }
}

/** Kafka API keys of the requests counted below (the others are summed as "other"). */
const API_NAMES: Record<number, string> = { 0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 8: 'OffsetCommit', 9: 'OffsetFetch', 10: 'FindCoordinator', 12: 'Heartbeat' };

/**
 * Requests this thread's Kafka clients sent during a span, by API, from the client's diagnostics channel (one event per
 * request written to a broker). Each request is work for a broker: with the CPU split, this says where theirs goes.
 */
class RequestCount {
  private readonly counts = new Map<number, number>();
  private readonly onStart = (ctx: unknown): void => {
    const key = (ctx as { apiKey?: number }).apiKey ?? -1;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  };
  constructor() {
    subscribe('tracing:plt:kafka:connections:api:start', this.onStart);
  }
  /** Stops counting; requests per 1,000 records, by API. */
  end(records: number): string {
    unsubscribe('tracing:plt:kafka:connections:api:start', this.onStart);
    const named = new Map<string, number>();
    for (const [key, n] of this.counts) {
      const name = API_NAMES[key] ?? 'other';
      named.set(name, (named.get(name) ?? 0) + n);
    }
    const total = [...named.values()].reduce((a, b) => a + b, 0);
    const per = (n: number): string => (n * 1000 / records).toFixed(n * 1000 / records < 10 ? 1 : 0);
    return `${per(total)}: ${[...named].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${per(n)}`).join(', ')}`;
  }
}

/** KafkaStream publish (batches of BATCH, CALLS_IN_FLIGHT at a time) with groups alerts and archive reading. */
async function streamLevel(brokers: string[], values: readonly Uint8Array[], tag: string): Promise<{ publish: number; groups: number[] }> {
  const stream = await KafkaStream.connect({ brokers, tenant: `sl${tag}`, replicas: REPLICAS });
  try {
    const topic = 'benchsl';
    // The reports topic's de-duplication window: publish checks each id, as ingestion's publishes do.
    await stream.ensureTopic(topic, { partitions: PARTITIONS, duplicateWindowMs: DEFAULT_TOPIC_CONFIG.reports.duplicateWindowMs });
    const n = values.length;
    const groups = await Promise.all(['alerts', 'archive'].map((group) => stream.consumer({ topic, group })));
    const counts = [0, 0];
    const ends: number[] = [];
    let running = true;
    const loops = groups.map(async (c, k) => {
      while (running && counts[k]! < n) {
        const recs = await c.poll({ maxRecords: 1000, waitMs: 100 });
        counts[k]! += recs.length;
        if (recs.length > 0) await c.commit(recs);
      }
      ends[k] = performance.now();
    });
    const t0 = performance.now();
    await inBatches(n, (from, to) => {
      const batch: OutgoingRecord[] = [];
      for (let j = from; j < to; j++) batch.push({ key: `drone-${j % 1000}`, value: values[j]!, id: `${tag}-${j}` });
      return stream.publish(topic, batch);
    });
    const published = performance.now();
    try {
      await withTimeout(Promise.all(loops), CATCH_UP_MS, 'KafkaStream groups catching up')
        .catch((e: unknown) => { throw new Error(`${(e as Error).message} (${counts.join(', ')} of ${n})`); });
    } finally {
      running = false;
    }
    await Promise.all(groups.map((c) => c.close()));
    return { publish: n / ((published - t0) / 1000), groups: ends.map((t) => n / ((t - t0) / 1000)) };
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
let lastPlatformRequests = '';

const lakeRows = (p: Platform): number => p.archiveWorker?.stats().perTopic.reports?.rowsWritten ?? 0;

/**
 * The platform on KafkaStream: Ingestor -> reports -> AlertWorker and ArchiveWorker (in its thread, as `up`), with
 * `inFlight` ingestion calls of BATCH reports outstanding (HTTP requests being served at once).
 */
async function platformLevel(cluster: KafkaTestCluster, reports: readonly Report[], tenant: string, inFlight = CALLS_IN_FLIGHT): Promise<Record<string, number>> {
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
    return {
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
async function stages(cluster: KafkaTestCluster, reports: readonly Report[]): Promise<Record<string, number | string>> {
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
async function alertLatency(brokers: string[], opts: KafkaBenchOptions, tag: string): Promise<{ fromCall: number[]; fromAck: number[] }> {
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
    let seed = 3;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const start = Date.now() - 60_000;
    const records: OutgoingRecord[] = [];
    const indexOf = new Map<string, number>();
    for (let i = 0; i < total; i++) {
      const droneId = `drone-${i % 1000}`;
      const ts = start + i;
      const alert = rnd() < opts.alertRate;
      const r: AcceptedReport = {
        droneId, timestamp: new Date(ts).toISOString(), position: { lat: 48.85, lon: 2.35 },
        citizens: [{ name: `citizen-${i}`, score: alert ? Math.floor(rnd() * 20) : 20 + Math.floor(rnd() * 80) }, { name: 'passer-by', score: 90 }],
        words: ['hello', 'street'], reportId: `${droneId}:${ts}`, ts, receivedAt: ts, tenant,
      };
      if (alert) indexOf.set(r.reportId, i);
      records.push({ key: droneId, id: r.reportId, value: enc.encode(JSON.stringify(r)) });
    }
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

const pcts = (samples: number[]): { p50: number; p99: number; n: number } => {
  const s = samples.slice().sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), n: s.length };
};
const fmt = (p: { p50: number; p99: number; n: number }): string => `${p.p50.toFixed(2)} / ${p.p99.toFixed(2)} (${p.n})`;

export async function benchKafka(opts: KafkaBenchOptions): Promise<Record<string, number | string>> {
  try {
    findKafka();
  } catch (e) {
    return { skipped: `Kafka not installed: ${(e as Error).message}` };
  }
  const out: Record<string, number | string> = { 'load average at start (1/5/15 min)': load() };
  const reports = generate(opts.reports);
  const values = reports.map((r) => enc.encode(JSON.stringify(r)));
  out['reports per throughput run'] = opts.reports;
  out['mean report size, bytes'] = r0(values.reduce((n, v) => n + v.byteLength, 0) / values.length);
  const cluster = await startKafka({ nodes: 3 });
  out[`Kafka ${cluster.kafkaVersion}, 3 nodes (RF 3, min.insync.replicas 2) ready after, s`] = Number((cluster.startupMs / 1000).toFixed(1));
  const brokers = cluster.bootstrap.split(',');
  const raw = rawConnect(cluster.bootstrap);
  try {
    // Latency first, on the fresh cluster (as bench/nats.ts): the throughput runs leave consumers and logs behind.
    const latCount = Math.round(opts.latencyRate * opts.latencySeconds);
    const latValues = Array.from({ length: latCount }, (_, i) => values[i % values.length]!);
    await rawTopic(raw, 'raw-lat', PARTITIONS, REPLICAS);
    const rl = await rawLatency(raw, 'raw-lat', latValues, opts.latencyRate, WARMUP_MS);
    requireSamples('raw latency (messages received after the warm-up)', rl.fromCall);
    const al = await alertLatency(brokers, opts, 'a');
    requireSamples('alert latency (raised events after the warm-up)', al.fromCall);

    await rawTopic(raw, 'raw-tp', PARTITIONS, REPLICAS);
    let cpu = new CpuSpan(cluster);
    let requests = new RequestCount();
    const tp = await rawProduceConsume(raw, 'raw-tp', values, 2);
    const tpCpu = cpu.end();
    const tpRequests = requests.end(values.length);
    cpu = new CpuSpan(cluster);
    requests = new RequestCount();
    const sl = await streamLevel(brokers, values, 'a');
    const slCpu = cpu.end();
    const slRequests = requests.end(values.length);
    const pl = await platformLevel(cluster, reports, 'pl');
    const perMsg = (c: ReturnType<CpuSpan['end']>): string => `${r0((c.procMs * 1000) / values.length)} / ${r0((c.brokersMs * 1000) / values.length)}`;
    const rawRate = Math.min(...tp.perConsumer);
    const ratio = (x: number): string => `${r0(x)} (${(x / rawRate).toFixed(2)}x)`;
    out[`raw settings: send() of ${RAW_SETTINGS.batch} messages, ${RAW_SETTINGS.inFlight} in flight, ${RAW_SETTINGS.compression}`] = 'idempotent, acks=all';
    out['raw: produce rate with 2 groups reading, msgs/s'] = r0(tp.publish);
    out['raw: produce + group consume, per group, msgs/s'] = r0(rawRate);
    out['raw: CPU us/message, client process / 3 brokers'] = perMsg(tpCpu);
    out['raw: requests to the brokers per 1,000 messages'] = tpRequests;
    out['KafkaStream: publish rate, records/s'] = r0(sl.publish);
    out['KafkaStream: group alerts, records/s (ratio to raw)'] = ratio(sl.groups[0]!);
    out['KafkaStream: group archive, records/s (ratio to raw)'] = ratio(sl.groups[1]!);
    out['KafkaStream: CPU us/record, dronewatch process / 3 brokers'] = perMsg(slCpu);
    out['KafkaStream: requests to the brokers per 1,000 records'] = slRequests;
    out['platform: ingest rate, reports/s'] = r0(pl.publish!);
    out['platform: AlertWorker caught up, reports/s (ratio)'] = ratio(pl.alerts!);
    out['platform: ArchiveWorker, every report in the lake, reports/s (ratio)'] = ratio(pl.archive!);
    out['platform: end to end (both caught up), reports/s'] = r0(pl.all!);
    out['platform: CPU us/report, dronewatch process / 3 brokers'] = `${r0(pl.procUs!)} / ${r0(pl.brokersUs!)}`;
    out['platform: requests per 1,000 reports, ingestion + alert worker (not the archive thread)'] = lastPlatformRequests;
    out['platform: machine CPU busy; dronewatch / brokers / other processes'] =
      `${(pl.machineBusy! * 100).toFixed(0)}%; ${(pl.procShare! * 100).toFixed(0)}% / ${(pl.brokersShare! * 100).toFixed(0)}% / ${(pl.othersShare! * 100).toFixed(0)}%`;
    // The same with more ingestion calls outstanding (a busier ingest process): bigger publish rounds, fewer requests.
    const pl8 = await platformLevel(cluster, reports, 'pl8', 4 * CALLS_IN_FLIGHT);
    out[`platform, ${4 * CALLS_IN_FLIGHT} ingestion calls in flight: ingest / alerts / lake / end to end, reports/s`] =
      `${r0(pl8.publish!)} / ${r0(pl8.alerts!)} / ${r0(pl8.archive!)} / ${r0(pl8.all!)}`;
    out[`platform, ${4 * CALLS_IN_FLIGHT} ingestion calls in flight: CPU us/report, dronewatch / brokers; requests per 1,000 reports`] =
      `${r0(pl8.procUs!)} / ${r0(pl8.brokersUs!)}; ${lastPlatformRequests}`;

    const rc = pcts(rl.fromCall);
    const ra = pcts(rl.fromAck);
    const ac = pcts(al.fromCall);
    const aa = pcts(al.fromAck);
    out[`raw latency produce call -> consumer at ${opts.latencyRate}/s, p50 / p99 ms (n)`] = fmt(rc);
    out['raw latency produce acknowledged -> consumer, p50 / p99 ms (n)'] = fmt(ra);
    out[`alert latency publish call -> bus event at ${opts.latencyRate}/s, p50 / p99 ms (n)`] = fmt(ac);
    out['alert latency publish acknowledged -> bus event, p50 / p99 ms (n)'] = fmt(aa);
    out['alert p99 (from ack) / raw p99 (produce call -> consume)'] = Number((aa.p99 / rc.p99).toFixed(2));
    out['alert p99 / raw p99, both from the call'] = Number((ac.p99 / rc.p99).toFixed(2));
    out['load average after parts 1 and 3'] = load();
    if (opts.stages) Object.assign(out, await stages(cluster, reports));
  } finally {
    await raw.close();
    await cluster.stop();
  }
  out['load average at end'] = load();
  return out;
}

/**
 * `--sweep`: raw produce rate (no consumer) for batch sizes, sends in flight and compressions, to choose the raw
 * baseline's settings (RAW_SETTINGS). Each setting on its own topic of the same cluster, in an alternating order.
 */
async function sweep(n: number): Promise<Record<string, number | string>> {
  const values = generate(n).map((r) => enc.encode(JSON.stringify(r)));
  const cluster = await startKafka({ nodes: 3 });
  const out: Record<string, number | string> = { 'load average at start': load() };
  const settings: RawProducerSettings[] = [];
  // Not gzip: the client compresses gzip batches with its promise helper, which needs Node 22 (Promise.withResolvers),
  // and on Node 20 the send never completes. zstd needs Node 22's zlib.
  for (const compression of ['none', 'lz4', 'snappy'] as const) settings.push({ batch: 2000, inFlight: 2, compression });
  for (const [batch, inFlight] of [[500, 1], [500, 2], [1000, 1], [1000, 2], [1000, 4], [2000, 1], [2000, 4], [5000, 1], [5000, 2], [10_000, 1], [20_000, 1]] as const) {
    settings.push({ batch, inFlight, compression: 'lz4' });
  }
  try {
    for (let round = 0; round < 2; round++) {
      for (const [k, s] of settings.entries()) {
        const raw = rawConnect(cluster.bootstrap, s.compression);
        try {
          const topic = `sweep-${round}-${k}`;
          await rawTopic(raw, topic, PARTITIONS, REPLICAS);
          const rate = (await withTimeout(rawProduce(raw, topic, values, s), 120_000, `sweep ${JSON.stringify(s)}`)).rate;
          const key = `batch ${s.batch}, ${s.inFlight} in flight, ${s.compression}: msgs/s (round 1, 2)`;
          process.stdout.write(`  ${key.replace(' (round 1, 2)', '')} round ${round + 1}: ${r0(rate)} (load ${load()})\n`);
          out[key] = out[key] === undefined ? `${r0(rate)}` : `${out[key]}, ${r0(rate)}`;
        } finally {
          await raw.close();
        }
      }
    }
  } finally {
    await cluster.stop();
  }
  out['load average at end'] = load();
  return out;
}

/**
 * `--part=<raw|stream|platform|stages> [reports]`: one part alone on a fresh cluster, for experiments (profiling with
 * `node --cpu-prof`, trying a change) without the rest of the suite.
 */
async function onePart(part: string, n: number): Promise<Record<string, number | string>> {
  const reports = generate(n);
  const values = reports.map((r) => enc.encode(JSON.stringify(r)));
  // --c2: the brokers with the JVM's optimising compiler too (the testkit runs them with C1 only, for start-up time).
  const c2 = process.argv.includes('--c2');
  const cluster = await startKafka({ nodes: 3, ...(c2 ? { jvmOptions: KAFKA_TEST_JVM_OPTIONS.filter((o) => !o.startsWith('-XX:TieredStopAtLevel')) } : {}) });
  const out: Record<string, number | string> = { 'load average at start': load(), reports: n, 'broker JIT': c2 ? 'C1 + C2' : 'C1 only (testkit)' };
  try {
    if (part === 'pair') {
      // raw then KafkaStream on the same cluster, twice (the first round warms the brokers' JIT up): the ratio of one
      // run, for trying a change to the stream.
      for (const round of [1, 2]) {
        const raw = rawConnect(cluster.bootstrap);
        let rawSlowest = 0;
        try {
          await rawTopic(raw, `raw-tp${round}`, PARTITIONS, REPLICAS);
          const tp = await rawProduceConsume(raw, `raw-tp${round}`, values, 2);
          rawSlowest = Math.min(...tp.perConsumer);
          out[`${round}: raw produce / per group msgs/s`] = `${r0(tp.publish)} / ${tp.perConsumer.map(r0).join(' / ')}`;
        } finally {
          await raw.close();
        }
        const requests = new RequestCount();
        const sl = await streamLevel(cluster.bootstrap.split(','), values, `x${round}`);
        out[`${round}: stream requests per 1,000 records`] = requests.end(n);
        out[`${round}: stream publish / per group records/s`] = `${r0(sl.publish)} / ${sl.groups.map(r0).join(' / ')}`;
        out[`${round}: stream / raw (slowest group)`] = (Math.min(...sl.groups) / rawSlowest).toFixed(2);
      }
    } else if (part === 'raw') {
      const raw = rawConnect(cluster.bootstrap);
      try {
        await rawTopic(raw, 'raw-tp', PARTITIONS, REPLICAS);
        const cpu = new CpuSpan(cluster);
        const requests = new RequestCount();
        const tp = await rawProduceConsume(raw, 'raw-tp', values, 2);
        const c = cpu.end();
        out['requests per 1,000 messages'] = requests.end(n);
        Object.assign(out, {
          'produce msgs/s': r0(tp.publish), 'per group msgs/s': tp.perConsumer.map(r0).join(' / '),
          'CPU us/message client / brokers': `${r0((c.procMs * 1000) / n)} / ${r0((c.brokersMs * 1000) / n)}`,
        });
      } finally {
        await raw.close();
      }
    } else if (part === 'stream') {
      const cpu = new CpuSpan(cluster);
      const requests = new RequestCount();
      const sl = await streamLevel(cluster.bootstrap.split(','), values, 'x');
      const c = cpu.end();
      out['requests per 1,000 records'] = requests.end(n);
      Object.assign(out, {
        'publish records/s': r0(sl.publish), 'per group records/s': sl.groups.map(r0).join(' / '),
        'CPU us/record dronewatch / brokers': `${r0((c.procMs * 1000) / n)} / ${r0((c.brokersMs * 1000) / n)}`,
      });
    } else if (part === 'platform') {
      const profile = process.argv.find((a) => a.startsWith('--profile='))?.slice('--profile='.length);
      const pl = profile ? await profiled(profile, () => platformLevel(cluster, reports, 'pl')) : await platformLevel(cluster, reports, 'pl');
      for (const [k, v] of Object.entries(pl)) out[k] = Number(v.toFixed(2));
      out['requests per 1,000 reports (main thread)'] = lastPlatformRequests;
    } else if (part === 'latency') {
      const o = { ...KAFKA_DEFAULTS, latencySeconds: Math.max(2, Math.round(n / KAFKA_DEFAULTS.latencyRate)) };
      const raw = rawConnect(cluster.bootstrap);
      try {
        await rawTopic(raw, 'raw-lat', PARTITIONS, REPLICAS);
        const rl = await rawLatency(raw, 'raw-lat', Array.from({ length: o.latencyRate * o.latencySeconds }, (_, i) => values[i % values.length]!), o.latencyRate, WARMUP_MS);
        const al = await alertLatency(cluster.bootstrap.split(','), o, 'x');
        Object.assign(out, {
          'raw produce call -> consumer p50 / p99 (n)': fmt(pcts(rl.fromCall)), 'raw produce ack -> consumer': fmt(pcts(rl.fromAck)),
          'alert publish call -> bus': fmt(pcts(al.fromCall)), 'alert publish ack -> bus': fmt(pcts(al.fromAck)),
        });
      } finally {
        await raw.close();
      }
    } else if (part === 'stages') {
      Object.assign(out, await stages(cluster, reports));
    } else {
      throw new Error(`unknown part ${part}: pair, raw, stream, platform, latency or stages`);
    }
  } finally {
    await cluster.stop();
  }
  out['load average at end'] = load();
  return out;
}

/** Runs `fn` under the V8 CPU profiler of this thread (the main thread: not the archive's) and writes the profile to `file`. */
async function profiled<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> => new Promise((resolve, reject) => {
    session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res)));
  });
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

if (isMain(import.meta.url)) {
  const t0 = Date.now();
  const part = process.argv.find((a) => a.startsWith('--part='))?.slice('--part='.length);
  if (part) {
    printTable(`kafka: ${part} alone`, await onePart(part, Number(process.argv[process.argv.indexOf(`--part=${part}`) + 1]) || 50_000));
  } else if (process.argv.includes('--sweep')) {
    printTable('kafka: raw producer settings (3 nodes, RF 3, idempotent acks=all)', await sweep(Number(process.argv[process.argv.indexOf('--sweep') + 1]) || 50_000));
  } else {
    const o = process.argv.includes('--quick') ? KAFKA_QUICK : KAFKA_DEFAULTS;
    printTable('kafka: raw Kafka vs dronewatch on KafkaStream (3 nodes, RF 3)', await benchKafka(o));
  }
  process.stdout.write(`\n(took ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  process.exit(process.exitCode ?? 0);
}
