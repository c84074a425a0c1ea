/**
 * Alert latency as an officer's client sees it: from the moment a report is handed to ingestion (validated and
 * published to the stream) to the moment its alert arrives on a live-feed subscriber (SSE over a real TCP socket, in a
 * separate process, like an officer's browser), at a steady 10,000 reports/s with ~1% alert reports, with the whole
 * embedded platform (alert consumer, archive consumer in its thread, HTTP API) in one process. Times are wall-clock
 * (performance.timeOrigin + performance.now()) in both processes.
 * Baseline in the same run: a bare HTTP round trip of an SSE message on the same server (socket write -> read), so
 * the figure can be read as "our pipeline" + "the socket".
 * Security is on, as in production: the subscriber is an officer with an API token, created the way the tests create
 * theirs (test/security/tenant-isolation.test.ts). A refused subscription or a run without samples fails the benchmark.
 * Run: node --import tsx bench/alert-latency-http.ts [reportsPerSecond] [seconds] [reportsPerCall] [alone | json]
 * (`alone`: each call's alerting reports are sent in calls of their own while the rest is ingested, as drones' own
 * requests arriving during a gateway's bulk request; `json`: each call is a JSON body, as HTTP and MQTT hand it over)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { validateConfig } from '../src/config/index.ts';
import { Platform } from '../src/runtime/platform.ts';
import type { Report } from '../src/contract/index.ts';
import { Fleet } from '../src/simulator/index.ts';
import { tempDir } from '../src/testkit/index.ts';
import { subscribeSse } from './sse.ts';
import { isMain, percentile, printTable, requireSamples } from './util.ts';

/** Reports handed to ingestion per call by default: 10,000 reports/s as a call every 10 ms. */
const DEFAULT_REPORTS_PER_CALL = 100;
/** Password hashing at the tests' cost (test/dashboard/helpers.ts TEST_SCRYPT): this measures alerts, not logins. */
const BENCH_SCRYPT = { log2N: 10, r: 8, p: 1 };

interface LatencyOptions {
  reportsPerSecond: number;
  seconds: number;
  /** Reports per ingestion call (a request body). Default 100. */
  reportsPerCall?: number;
  /** The alerting reports of each call are sent on their own, while the rest is ingested as one call. Default false. */
  alertingAlone?: boolean;
  /**
   * Each call hands ingestion a JSON body (as the HTTP route and the MQTT bridge do: `ingestRaw`), serialised before
   * the run, instead of report objects (`ingestReports`). Default false.
   */
  jsonBodies?: boolean;
}

async function socketBaseline(samples: number): Promise<number[]> {
  let res: http.ServerResponse | undefined;
  const server = http.createServer((_req, r) => {
    r.writeHead(200, { 'content-type': 'text/event-stream' });
    r.socket?.setNoDelay(true);
    r.write(': hi\n\n');
    res = r;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const lat: number[] = [];
  let sentAt = 0;
  let got: (() => void) | undefined;
  const close = await subscribeSse(`http://127.0.0.1:${port}/`, (_d, at) => {
    lat.push(at - sentAt);
    got?.();
  });
  while (!res) await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < samples; i++) {
    const done = new Promise<void>((r) => { got = r; });
    sentAt = performance.timeOrigin + performance.now();
    res.write(`data: ${i}\n\n`);
    await done;
    await new Promise((r) => setTimeout(r, 2));
  }
  close();
  server.close();
  return lat.sort((a, b) => a - b);
}

const isAlerting = (r: Report): boolean => r.citizens.some((c) => c.score < 20);
/** The id ingestion gives a report (its alert's lastReportId). */
const idOf = (r: Report): string => `${r.droneId}:${Date.parse(r.timestamp)}`;

interface JsonCall {
  body: Buffer;
  /** Ids of the reports that raise an alert. */
  alertingIds: string[];
  reports: number;
}

/** One call's reports as a JSON array body. */
function jsonCall(reports: Report[]): JsonCall {
  return { body: Buffer.from(JSON.stringify(reports)), alertingIds: reports.filter(isAlerting).map(idOf), reports: reports.length };
}

export async function benchAlertLatencyHttp(opts: LatencyOptions): Promise<Record<string, number>> {
  const tmp = tempDir('dw-bench-lat-');
  const config = validateConfig({ dataDir: tmp.dir, http: { port: 0 }, ingest: { maxClockSkewMs: 10 * 365 * 86_400_000 } });
  const platform = await Platform.open(config, { scrypt: BENCH_SCRYPT });
  let child: ChildProcess | undefined;
  try {
    await platform.start({ alerts: true, archive: 'thread', http: 'api' });
    return await measure(platform, config.tenant, opts, (c) => { child = c; });
  } finally {
    child?.kill();
    await platform.stop();
    tmp.cleanup();
  }
}

async function measure(platform: Platform, tenant: string, opts: LatencyOptions, spawned: (c: ChildProcess) => void): Promise<Record<string, number>> {
  // An officer of the deployment's tenant (the live feed needs alerts:read) and an API token of theirs for the subscriber.
  const security = platform.security!;
  await security.createUser({ tenant, username: 'bench-officer', roles: ['officer'], password: 'bench officer password, not used to log in' });
  const { token } = await security.createApiToken('bench-officer', 'bench live feed');
  const fleet = new Fleet({ drones: 10_000, seed: 11, start: Date.parse('2026-11-20T00:00:00Z') });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  // Where the time goes: the ingestion call's return and the alert's event on the in-process bus (what the SSE
  // route writes from), against the same start.
  const accepted: number[] = [];
  const onBus: number[] = [];
  const wallNow = (): number => performance.timeOrigin + performance.now();
  const unsubscribe = platform.bus.subscribe((e) => {
    const t = sentAt.get(e.alert.lastReportId);
    if (t !== undefined && (e.type === 'raised' || e.type === 'updated')) onBus.push(wallNow() - t);
  });
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/sse-subscriber.ts', import.meta.url).pathname, `${platform.address}/v1/alerts/stream`], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DW_BENCH_TOKEN: token },
  });
  spawned(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'connected') return resolve();
      const [reportId, type, at] = line.split(' ');
      const t = sentAt.get(reportId!);
      if (t !== undefined && (type === 'raised' || type === 'updated')) latencies.push(Number(at) - t);
    });
    child.once('close', (code) => reject(new Error(`the SSE subscriber exited (status ${code}) before it was connected: ${stderr.trim() || '(no message)'}`)));
  });
  // A subscriber that dies during the run leaves a handful of samples that look like a result: that fails the suite.
  let exited: string | undefined;
  child.once('close', (code) => { exited = `the SSE subscriber exited (status ${code}) during the run: ${stderr.trim() || '(no message)'}`; });
  // A call of `reportsPerCall` reports every tickMs: the size of an ingestion call is what the alert path waits behind.
  const perTick = opts.reportsPerCall ?? DEFAULT_REPORTS_PER_CALL;
  const tickMs = (perTick * 1000) / opts.reportsPerSecond;
  const ticks = Math.round((opts.seconds * 1000) / tickMs);
  // JSON bodies are made before the run (the drones' work, not the platform's): Buffers outside the heap.
  const bodies: (JsonCall | undefined)[] = opts.jsonBodies ? Array.from({ length: ticks }, () => jsonCall(fleet.take(perTick))) : [];
  const t0 = performance.now();
  const elu0 = performance.eventLoopUtilization();
  let sent = 0;
  /** Hands ingestion the call of tick `t`: when it started, its reports, and how many of them alert. */
  const send = async (t: number): Promise<{ at: number; reports: number; alerting: number }> => {
    if (opts.jsonBodies) {
      const call = bodies[t]!;
      bodies[t] = undefined;
      const at = wallNow();
      for (const id of call.alertingIds) sentAt.set(id, at);
      await platform.ingestor.ingestRaw(call.body, 'json', 'bench');
      return { at, reports: call.reports, alerting: call.alertingIds.length };
    }
    const batch: Report[] = fleet.take(perTick);
    const at = wallNow();
    const alerting = batch.filter(isAlerting);
    for (const r of alerting) sentAt.set(idOf(r), at);
    if (opts.alertingAlone) {
      // The alerting reports arrive on their own (a drone's own request) while the bulk call is being ingested: they
      // are handed over as soon as the event loop lets them, and timed from their arrival.
      const bulk = platform.ingestor.ingestReports(batch.filter((r) => !alerting.includes(r)), 'bench');
      const alone = new Promise<void>((resolve, reject) => setImmediate(() => {
        Promise.all(alerting.map((r) => platform.ingestor.ingestReports([r], 'bench'))).then(() => resolve(), reject);
      }));
      await Promise.all([bulk, alone]);
    } else {
      await platform.ingestor.ingestReports(batch, 'bench');
    }
    return { at, reports: batch.length, alerting: alerting.length };
  };
  for (let t = 0; t < ticks; t++) {
    const { at, reports, alerting } = await send(t);
    if (alerting > 0) accepted.push(wallNow() - at);
    sent += reports;
    const wait = t0 + (t + 1) * tickMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const elapsed = (performance.now() - t0) / 1000;
  const busy = performance.eventLoopUtilization(elu0).utilization;
  await new Promise((r) => setTimeout(r, 500));
  unsubscribe();
  if (exited) throw new Error(exited);
  requireSamples(`alerts received by the SSE subscriber (${sentAt.size} alerting reports sent)${stderr ? `; subscriber: ${stderr.trim()}` : ''}`, latencies);
  latencies.sort((a, b) => a - b);
  accepted.sort((a, b) => a - b);
  onBus.sort((a, b) => a - b);
  requireSamples('alerts on the in-process bus', onBus);
  const base = await socketBaseline(500);
  requireSamples('bare SSE socket baseline', base);
  return {
    'offered reports/s': opts.reportsPerSecond,
    'reports per ingestion call': perTick,
    'alerting reports in calls of their own': opts.alertingAlone ? 1 : 0,
    'JSON bodies (ingestRaw)': opts.jsonBodies ? 1 : 0,
    'achieved reports/s': Math.round(sent / elapsed),
    'main thread busy % (event loop utilisation)': Math.round(busy * 1000) / 10,
    'alert samples': latencies.length,
    'alert latency p50 ms': percentile(latencies, 0.5),
    'alert latency p99 ms': percentile(latencies, 0.99),
    'alert latency max ms': latencies[latencies.length - 1]!,
    'split: ingestion call returned p50 ms': percentile(accepted, 0.5),
    'split: ingestion call returned p99 ms': percentile(accepted, 0.99),
    'split: alert on the in-process bus p50 ms': percentile(onBus, 0.5),
    'split: alert on the in-process bus p99 ms': percentile(onBus, 0.99),
    'baseline: SSE socket write->read p50 ms': percentile(base, 0.5),
    'baseline: SSE socket write->read p99 ms': percentile(base, 0.99),
  };
}

if (isMain(import.meta.url)) {
  const rate = Number(process.argv[2] ?? 10_000);
  const seconds = Number(process.argv[3] ?? 10);
  const reportsPerCall = Number(process.argv[4] ?? DEFAULT_REPORTS_PER_CALL);
  const flags = process.argv.slice(5);
  const alertingAlone = flags.includes('alone');
  const jsonBodies = flags.includes('json');
  if (alertingAlone && jsonBodies) throw new Error('`alone` and `json` do not go together');
  printTable(`alert latency, report -> SSE subscriber, ${rate} reports/s for ${seconds} s, ${reportsPerCall} reports per call${alertingAlone ? ', alerting reports alone' : ''}${jsonBodies ? ', JSON bodies' : ''}`,
    await benchAlertLatencyHttp({ reportsPerSecond: rate, seconds, reportsPerCall, alertingAlone, jsonBodies }));
  process.exit(0);
}
