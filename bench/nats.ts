/**
 * NATS JetStream (distributed mode), in one run on nats-servers spawned by the testkit:
 *  1. raw JetStream (same v3 client, no dronewatch code: bench/nats-raw.ts) publish + 2 durable consumers, vs
 *     dronewatch on the same server: NatsStream publish + 2 consumer groups (`alerts`, `archive`) at the Stream level,
 *     and the platform itself (Ingestor -> AlertWorker and ArchiveWorker writing Parquet) per group;
 *  2. latency at a fixed rate: raw publish -> durable consumer callback vs report publish -> alert event on the bus
 *     (AlertWorker on NatsStream);
 *  3. raw publish throughput for the durability settings: 1 node and 3 nodes (R3), `sync_interval: always` vs the
 *     default (fsync every 2 minutes).
 * Parts 1 and 2 run on one node with the shipped `sync_interval: always`, then again with the default sync (where the
 * client's and dronewatch's CPU, not the disk, is the limit). Every figure is next to its baseline of the same run.
 * Run: node --import tsx bench/nats.ts [--quick]   (or npm run bench -- --only=nats)
 */
import os from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AlertBus, AlertWorker } from '../src/alerts/index.ts';
import { validateConfig } from '../src/config/index.ts';
import type { Report } from '../src/contract/index.ts';
import { Platform } from '../src/runtime/platform.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../src/stream/index.ts';
import { startNatsServer, tempDir, type NatsTestServer } from '../src/testkit/index.ts';
import { rawConnect, rawLatency, rawPublish, rawPublishConsume, rawStream, TICK_MS, type RawClient } from './nats-raw.ts';
import { inBatches as inRanges, latencyRecords, loadAverage as load, publishWithTwoGroups, recentReports, waitFor } from './stream-bench.ts';
import { isMain, percentile, printTable, requireSamples } from './util.ts';
import { openAlertStore, NatsStream } from '../src/backend/index.ts';

const enc = new TextEncoder();
const WARMUP_MS = 1000;
/**
 * Reports per `ingestReports` / `stream.publish` call (one HTTP request's batch), and calls in flight (concurrent
 * requests of an ingest process): at most 1,000 publishes in flight, as in the raw baseline.
 */
const BATCH = 500;
const CALLS_IN_FLIGHT = 2;

export interface NatsBenchOptions {
  /** Reports of each throughput run on the default-sync node... */
  reports: number;
  /** ...and on the `sync_interval: always` node, which is limited by fsync (fewer, to keep the suite under 5 min). */
  reportsAlways: number;
  /** Latency runs: reports/s and seconds. */
  latencyRate: number;
  latencySeconds: number;
  /** Share of the latency run's reports that alert (more samples than production's < 1%). */
  alertRate: number;
  /** Each durability run publishes for at most this long. */
  durabilityMs: number;
  /** Part 4 (3 nodes R3, sync always): reports of each packed NatsStream run... */
  reportsR3: number;
  /** ...and of the raw baseline and the per-record NatsStream run (one fsync per message: ~600/s)... */
  reportsR3PerMessage: number;
  /** ...and of the platform run. */
  reportsR3Platform: number;
}

const generate = recentReports;
/** Runs `call` over [0, n) in BATCH-sized ranges, CALLS_IN_FLIGHT at a time. */
const inBatches = (n: number, call: (from: number, to: number) => Promise<unknown>): Promise<void> => inRanges(n, BATCH, CALLS_IN_FLIGHT, call);

/** Switches every node to another `sync_interval` (rolling restart on the same store; streams are created after). */
async function setSync(server: NatsTestServer, sync: string): Promise<void> {
  for (const n of server.nodes) {
    writeFileSync(n.configFile, readFileSync(n.configFile, 'utf8').replace(/sync_interval: \S+/, `sync_interval: ${sync}`));
    await n.restart();
  }
  if (server.nodes.length > 1) await metaGroupCurrent(server, 30_000);
}

interface MetaCluster { leader?: string; cluster_size?: number; replicas?: { name: string; current: boolean; offline?: boolean }[] }

/**
 * After a rolling restart, waits until every node sees the same meta leader and a meta group of all nodes, and the
 * leader sees each other node current and online. A node that answers /healthz again can still be unknown to the
 * leader's placement for a moment, and an R3 stream created then fails with "no suitable peers for placement".
 */
async function metaGroupCurrent(server: NatsTestServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const views = await Promise.all(server.nodes.map(async (n) => {
      try {
        const res = await fetch(`http://127.0.0.1:${n.httpPort}/jsz`, { signal: AbortSignal.timeout(1000) });
        return { name: n.name, meta: ((await res.json()) as { meta_cluster?: MetaCluster }).meta_cluster };
      } catch {
        return { name: n.name, meta: undefined };
      }
    }));
    const leader = views[0]?.meta?.leader;
    const leaderView = views.find((v) => v.name === leader)?.meta;
    const ok = leader !== undefined && views.every((v) => v.meta?.leader === leader && v.meta.cluster_size === server.nodes.length)
      && (leaderView?.replicas ?? []).length === server.nodes.length - 1 && leaderView!.replicas!.every((r) => r.current && !r.offline);
    if (ok) return;
    last = JSON.stringify(views);
    if (Date.now() > deadline) throw new Error(`the JetStream meta group is not current ${timeoutMs / 1000} s after the rolling restart: ${last}`);
    await sleep(100);
  }
}

/** rawStream, retried while the meta leader still reports no placement for all replicas (see metaGroupCurrent). */
async function rawStreamPlaced(raw: RawClient, name: string, replicas: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await rawStream(raw, name, replicas);
    } catch (e) {
      if (!/no suitable peers/i.test((e as Error).message) || Date.now() > deadline) throw e;
      await sleep(250);
    }
  }
}

interface StreamLevelOptions {
  replicas?: number;
  inFlight?: number;
  topicFormat?: 'packed' | 'per-record';
  topicName?: string;
}

/** NatsStream publish (batches of BATCH, CALLS_IN_FLIGHT at a time) with groups alerts and archive reading. */
async function streamLevel(url: string, values: readonly Uint8Array[], tag: string, o: StreamLevelOptions = {}): Promise<{ publish: number; groups: number[] }> {
  const stream = await NatsStream.connect({ servers: url, tenant: `sl${tag}`, replicas: o.replicas ?? 1, topicFormat: o.topicFormat ?? 'packed' });
  try {
    return await publishWithTwoGroups(stream, values, tag, {
      topic: { partitions: 8, duplicateWindowMs: 120_000 }, batch: BATCH, inFlight: o.inFlight ?? CALLS_IN_FLIGHT, catchUpMs: 180_000, label: 'NatsStream',
      ...(o.topicName ? { topicName: o.topicName } : {}),
    });
  } finally {
    await stream.close();
  }
}

/** The platform on NatsStream: Ingestor -> reports -> AlertWorker (group alerts) and ArchiveWorker (Parquet lake). */
async function platformLevel(
  url: string, reports: readonly Report[], tenant: string, o: { replicas?: number; inFlight?: number } = {},
): Promise<{ publish: number; alerts: number; archive: number }> {
  const tmp = tempDir('dw-bench-nats-');
  const config = validateConfig({
    dataDir: tmp.dir, tenant, stream: { url, replicas: o.replicas ?? 1 },
    // Alert state kept local here: this measures the stream path, not the shared alert state.
    alerts: { state: 'local' },
    archive: { maxBatchRecords: 50_000, maxBatchAgeMs: 1000 },
  });
  const platform = await Platform.open(config);
  try {
    await platform.start({ alerts: true, archive: true });
    const n = reports.length;
    const lakeRows = (): number => platform.archiveWorker?.stats().perTopic.reports?.rowsWritten ?? 0;
    const t0 = performance.now();
    await inRanges(n, BATCH, o.inFlight ?? CALLS_IN_FLIGHT, (from, to) => platform.ingestor.ingestReports(reports.slice(from, to), 'bench'));
    const published = performance.now();
    const [alertsDone, archiveDone] = await Promise.all([
      waitFor('alert worker', () => platform.alertWorker!.stats().reportsProcessed >= n, 180_000),
      waitFor('archive worker', () => lakeRows() >= n, 180_000),
    ]);
    // Exactly once into the lake: more rows than reports would be duplicates (the archive fences by offset).
    if (lakeRows() !== n) throw new Error(`platform on ${url}: ${lakeRows()} lake rows for ${n} reports`);
    const rate = (t: number): number => n / ((t - t0) / 1000);
    return { publish: rate(published), alerts: rate(alertsDone), archive: rate(archiveDone) };
  } finally {
    await platform.stop();
    tmp.cleanup();
  }
}

/** Report publish -> alert event on the bus, AlertWorker on NatsStream, at a fixed rate (as bench/alerts.ts). */
/** `worker` overrides AlertWorker options (for experiments on what the latency is made of). */
export async function alertLatency(url: string, opts: NatsBenchOptions, tag: string, worker: { waitMs?: number; sessionTimeoutMs?: number } = {}): Promise<number[]> {
  const tmp = tempDir('dw-bench-nats-lat-');
  const tenant = `lat${tag}`;
  const stream = await NatsStream.connect({ servers: url, tenant });
  const store = openAlertStore({ dataDir: tmp.dir });
  const bus = new AlertBus();
  const alertWorker = new AlertWorker({ stream, store, bus, tenant, config: { threshold: 20, criticalThreshold: 5, wordRules: [] }, ...worker });
  try {
    await stream.ensureTopic(TOPICS.reports, DEFAULT_TOPIC_CONFIG.reports);
    await alertWorker.start();
    const total = Math.round(opts.latencyRate * opts.latencySeconds);
    const { records, indexOf } = latencyRecords(total, opts.alertRate, tenant);
    const t0s = new Float64Array(total);
    const samples: number[] = [];
    let measureFrom = Infinity;
    bus.subscribe((e) => {
      const now = performance.now();
      const i = indexOf.get(e.alert.lastReportId);
      if (i !== undefined && e.type === 'raised' && t0s[i]! >= measureFrom) samples.push(now - t0s[i]!);
    });
    const begin = performance.now();
    measureFrom = begin + WARMUP_MS;
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - begin) / 1000) * opts.latencyRate));
      if (due > sent) {
        const t0 = performance.now();
        t0s.fill(t0, sent, due);
        await stream.publish(TOPICS.reports, records.slice(sent, due));
        sent = due;
      }
      await sleep(TICK_MS);
    }
    await waitFor('alert worker (latency run)', () => alertWorker.stats().reportsProcessed >= total, 60_000);
    return samples;
  } finally {
    await alertWorker.stop();
    store.close();
    await stream.close();
    tmp.cleanup();
  }
}

const pcts = (samples: number[]): { p50: number; p99: number; n: number } => {
  const s = samples.slice().sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), n: s.length };
};

/** Parts 1 and 2 on one single-node server. */
async function onOneNode(server: NatsTestServer, label: string, tag: string, reports: readonly Report[], opts: NatsBenchOptions): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  const values = reports.map((r) => enc.encode(JSON.stringify(r)));
  const raw = await rawConnect(server.url);
  try {
    // Latency first, on the fresh server: after the throughput runs its tail also measured their leftovers.
    const latValues = values.slice(0, Math.round(opts.latencyRate * opts.latencySeconds));
    while (latValues.length < Math.round(opts.latencyRate * opts.latencySeconds)) latValues.push(values[latValues.length % values.length]!);
    const rawSamples = await rawLatency(raw, `RAWLAT${tag}`, latValues, opts.latencyRate, WARMUP_MS);
    requireSamples(`[${label}] raw latency (messages received after the warm-up)`, rawSamples);
    const alertSamples = await alertLatency(server.url, opts, tag);
    requireSamples(`[${label}] alert latency (raised events after the warm-up)`, alertSamples);
    const rl = pcts(rawSamples);
    const al = pcts(alertSamples);
    const tp = await rawPublishConsume(raw, `RAWTP${tag}`, values, 2);
    const sl = await streamLevel(server.url, values, tag);
    const pl = await platformLevel(server.url, reports, `pl${tag}`);
    const rawRate = Math.min(...tp.perConsumer);
    out[`[${label}] raw: publish rate with 2 consumers reading, msgs/s`] = Math.round(tp.publish);
    out[`[${label}] raw: publish + durable consume, per consumer, msgs/s`] = Math.round(rawRate);
    out[`[${label}] NatsStream: publish rate, records/s`] = Math.round(sl.publish);
    out[`[${label}] NatsStream: group alerts, records/s (ratio to raw)`] = `${Math.round(sl.groups[0]!)} (${(sl.groups[0]! / rawRate).toFixed(2)}x)`;
    out[`[${label}] NatsStream: group archive, records/s (ratio to raw)`] = `${Math.round(sl.groups[1]!)} (${(sl.groups[1]! / rawRate).toFixed(2)}x)`;
    out[`[${label}] platform: ingest rate, reports/s`] = Math.round(pl.publish);
    out[`[${label}] platform: AlertWorker caught up, reports/s (ratio)`] = `${Math.round(pl.alerts)} (${(pl.alerts / rawRate).toFixed(2)}x)`;
    out[`[${label}] platform: ArchiveWorker in lake, reports/s (ratio)`] = `${Math.round(pl.archive)} (${(pl.archive / rawRate).toFixed(2)}x)`;

    out[`[${label}] raw latency publish -> consume at ${opts.latencyRate}/s, p50 / p99 ms (n)`] = `${rl.p50.toFixed(2)} / ${rl.p99.toFixed(2)} (${rl.n})`;
    out[`[${label}] alert latency publish -> bus event, p50 / p99 ms (n)`] = `${al.p50.toFixed(2)} / ${al.p99.toFixed(2)} (${al.n})`;
    out[`[${label}] alert p99 / raw p99`] = Number((al.p99 / rl.p99).toFixed(2));
    out[`[${label}] load average after`] = load();
  } finally {
    await raw.nc.close();
  }
  return out;
}

/** Part 3: raw publish throughput, time-boxed, on a fresh server of `nodes` nodes with `sync`. */
async function durability(nodes: 1 | 3, sync: 'always' | 'default', values: readonly Uint8Array[], forMs: number): Promise<number> {
  const server = await startNatsServer({ nodes });
  let raw: RawClient | undefined;
  try {
    if (sync === 'default') await setSync(server, '2m');
    raw = await rawConnect(server.url);
    await rawStreamPlaced(raw, 'DUR', nodes);
    return (await rawPublish(raw, (i) => `dur.${i % 1000}`, values, 'dur', forMs)).rate;
  } finally {
    await raw?.nc.close();
    await server.stop();
  }
}

/**
 * Part 4 (issue 14): a fresh 3-node cluster, R3, `sync_interval: always` (the shipped production setting). Raw
 * JetStream (publish, 1,000 in flight, one message per report, with 2 durable consumers reading) against NatsStream
 * on packed topics, batches of BATCH with 2 and then 8 calls in flight while groups `alerts` and `archive` consume,
 * and NatsStream on a per-record topic (the format before issue 14) with 2 calls in flight. Each figure carries the
 * 1-minute load average taken right after it (the machine is shared).
 */
async function onThreeNodes(reportsR3: readonly Report[], opts: NatsBenchOptions): Promise<Record<string, number | string>> {
  const values = reportsR3.map((r) => enc.encode(JSON.stringify(r)));
  const out: Record<string, number | string> = {};
  const label = '3 nodes R3, sync always';
  const load1 = (): string => load().split(' ')[0] ?? '?';
  const server = await startNatsServer({ nodes: 3 });
  try {
    await metaGroupCurrent(server, 30_000);
    const raw = await rawConnect(server.url);
    let rawRate: number;
    try {
      const tp = await rawPublishConsume(raw, 'RAWR3', values.slice(0, opts.reportsR3PerMessage), 2, 3);
      rawRate = Math.min(...tp.perConsumer);
      if (!(rawRate > 0) || !Number.isFinite(rawRate)) throw new Error(`[${label}] raw: no sample (${rawRate})`);
      out[`[${label}] raw: publish + durable consume, per consumer, msgs/s (load)`] = `${Math.round(rawRate)} (load ${load1()})`;
    } finally {
      await raw.nc.close();
    }
    const row = (what: string, r: { publish: number; groups: number[] }): void => {
      const g = Math.min(...r.groups);
      out[`[${label}] ${what}: publish / slower group, records/s (ratio to raw; load)`] = `${Math.round(r.publish)} / ${Math.round(g)} (${(g / rawRate).toFixed(1)}x; load ${load1()})`;
    };
    row(`NatsStream packed, ${BATCH} x 2 in flight`, await streamLevel(server.url, values.slice(0, opts.reportsR3), 'r3p2', { replicas: 3, inFlight: 2 }));
    row(`NatsStream packed, ${BATCH} x 8 in flight`, await streamLevel(server.url, values.slice(0, opts.reportsR3), 'r3p8', { replicas: 3, inFlight: 8 }));
    const pl = await platformLevel(server.url, reportsR3.slice(0, opts.reportsR3Platform), 'plr3', { replicas: 3, inFlight: 8 });
    out[`[${label}] platform (Ingestor -> AlertWorker, ArchiveWorker), ${BATCH} x 8 in flight: ingest / alerts / lake (exactly once), reports/s (ratio; load)`] =
      `${Math.round(pl.publish)} / ${Math.round(pl.alerts)} / ${Math.round(pl.archive)} (${(Math.min(pl.alerts, pl.archive) / rawRate).toFixed(1)}x; load ${load1()})`;
    row(`NatsStream per-record topic (before), ${BATCH} x 2 in flight`, await streamLevel(server.url, values.slice(0, opts.reportsR3PerMessage), 'r3r2', {
      replicas: 3, inFlight: 2, topicFormat: 'per-record', topicName: 'benchslrec',
    }));
  } finally {
    await server.stop();
  }
  return out;
}

export async function benchNats(opts: NatsBenchOptions): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = { 'load average at start (1/5/15 min)': load() };
  const reports = generate(Math.max(opts.reports, opts.reportsAlways));
  out['reports per throughput run (sync always / default)'] = `${opts.reportsAlways} / ${opts.reports}`;
  out['mean report size, bytes'] = Math.round(reports.reduce((n, r) => n + JSON.stringify(r).length, 0) / reports.length);
  for (const [label, sync] of [['1 node, sync always', 'always'], ['1 node, default sync', 'default']] as const) {
    const server = await startNatsServer();
    try {
      if (sync === 'default') await setSync(server, '2m');
      const n = sync === 'always' ? opts.reportsAlways : opts.reports;
      Object.assign(out, await onOneNode(server, label, sync === 'always' ? 'a' : 'd', reports.slice(0, n), opts));
    } finally {
      await server.stop();
    }
  }
  const many = generate(Math.max(120_000, opts.reportsR3));
  const values = many.map((r) => enc.encode(JSON.stringify(r)));
  Object.assign(out, await onThreeNodes(many, opts));
  for (const [nodes, sync] of [[1, 'always'], [1, 'default'], [3, 'always'], [3, 'default']] as const) {
    const rate = await durability(nodes, sync, values, opts.durabilityMs);
    out[`raw publish, ${nodes === 1 ? '1 node R1' : '3 nodes R3'}, sync ${sync}, msgs/s`] = Math.round(rate);
  }
  out['load average at end'] = load();
  return out;
}

export const NATS_DEFAULTS: NatsBenchOptions = {
  reports: 15_000, reportsAlways: 6000, latencyRate: 200, latencySeconds: 12, alertRate: 0.25, durabilityMs: 8000, reportsR3: 100_000, reportsR3PerMessage: 4000, reportsR3Platform: 40_000,
};
/** `--quick`: every part briefly (whether it runs and measures; the figures are too small to quote). */
export const NATS_QUICK: NatsBenchOptions = {
  reports: 1000, reportsAlways: 300, latencyRate: 200, latencySeconds: 2, alertRate: 0.25, durabilityMs: 1000, reportsR3: 2000, reportsR3PerMessage: 300, reportsR3Platform: 1000,
};
/** `--only-r3`: part 4 alone (issue 14's goal), with the default sizes. */
export async function benchNatsR3(opts: NatsBenchOptions): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = { 'load average at start (1/5/15 min)': load() };
  Object.assign(out, await onThreeNodes(generate(opts.reportsR3), opts));
  out['load average at end'] = load();
  return out;
}

if (isMain(import.meta.url)) {
  const o = process.argv.includes('--quick') ? NATS_QUICK : NATS_DEFAULTS;
  const t0 = Date.now();
  const r3Only = process.argv.includes('--only-r3');
  printTable(`nats: raw JetStream vs dronewatch on NatsStream; durability settings (${os.cpus().length} cores)`, r3Only ? await benchNatsR3(o) : await benchNats(o));
  process.stdout.write(`\n(took ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  process.exit(0);
}
