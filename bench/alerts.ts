/**
 * Alert latency: from `stream.publish` of a report batch to the alert event on the bus listener, in one process on a
 * real SqliteStream, with ~1% of reports alerting. The baseline, measured in the same run on a fresh stream with the
 * same traffic, is the raw stream: publish -> a plain consumer's poll returning the record, no alert logic.
 *
 *   node --import tsx bench/alerts.ts [--rate 10000] [--seconds 10]
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AlertBus, AlertWorker } from '../src/alerts/index.ts';
import type { AcceptedReport } from '../src/contract/types.ts';
import { partitionOf } from '../src/stream/index.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../src/stream/topics.ts';
import type { OutgoingRecord, Stream } from '../src/stream/types.ts';
import { tempDir } from '../src/testkit/index.ts';
import { openAlertStore, openStream } from '../src/backend/index.ts';

const WARMUP_MS = 500;
const TICK_MS = 5;
const ALERT_RATE = 0.01;

interface Traffic {
  records: OutgoingRecord[];
  /** Report ids of the alerting reports. */
  alerting: Set<string>;
}

function makeTraffic(total: number): Traffic {
  const enc = new TextEncoder();
  const records: OutgoingRecord[] = [];
  const alerting = new Set<string>();
  const start = Date.now();
  let seed = 1;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < total; i++) {
    const droneId = `drone-${i % 1000}`;
    const ts = start + i;
    const alert = rnd() < ALERT_RATE;
    const r: AcceptedReport = {
      droneId,
      timestamp: new Date(ts).toISOString(),
      position: { lat: 48.85 + rnd() / 100, lon: 2.35 + rnd() / 100 },
      citizens: [
        { name: `citizen-${Math.floor(rnd() * 100_000)}`, score: alert ? Math.floor(rnd() * 20) : 20 + Math.floor(rnd() * 80) },
        { name: `citizen-${Math.floor(rnd() * 100_000)}`, score: 20 + Math.floor(rnd() * 80) },
      ],
      words: ['hello', 'street'],
      reportId: `${droneId}:${ts}`,
      ts,
      receivedAt: ts,
      tenant: 'default',
    };
    if (alert) alerting.add(r.reportId);
    records.push({ key: droneId, id: r.reportId, value: enc.encode(JSON.stringify(r)) });
  }
  return { records, alerting };
}

/**
 * Publishes the traffic at `rate` per second in small batches; `onPublish(firstIndex, count, t0)` is called with the
 * time taken right before each `stream.publish` call, `onAck` with the time its promise resolved.
 */
async function drive(
  stream: Stream,
  traffic: Traffic,
  rate: number,
  onPublish: (from: number, count: number, t0: number) => void,
  onAck: (from: number, count: number, t1: number) => void,
): Promise<number> {
  const start = performance.now();
  let sent = 0;
  const total = traffic.records.length;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    if (due > sent) {
      const batch = traffic.records.slice(sent, due);
      const t0 = performance.now();
      onPublish(sent, batch.length, t0);
      await stream.publish(TOPICS.reports, batch);
      onAck(sent, batch.length, performance.now());
      sent = due;
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  return (sent / (performance.now() - start)) * 1000;
}

function percentiles(samples: number[]): { p50: number; p99: number; max: number; n: number } {
  const s = samples.slice().sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN, n: s.length };
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

interface RunResult {
  /** From just before `stream.publish` to the record/event reaching its reader. */
  fromPublish: number[];
  /** From the publish promise resolving (the report is durable) to the record/event reaching its reader. */
  fromAck: number[];
  /** Duration of the `stream.publish` calls. */
  publishCall: number[];
  rate: number;
}

/** Times of each record's publish call and ack, by record index; latencies only counted after the warm-up. */
class Clock {
  readonly t0: Float64Array;
  readonly t1: Float64Array;
  readonly result: RunResult = { fromPublish: [], fromAck: [], publishCall: [], rate: 0 };
  measureFrom = Infinity;
  constructor(n: number) {
    this.t0 = new Float64Array(n);
    this.t1 = new Float64Array(n).fill(NaN);
  }
  published = (from: number, count: number, t0: number): void => {
    for (let i = from; i < from + count; i++) this.t0[i] = t0;
  };
  acked = (from: number, count: number, t1: number): void => {
    for (let i = from; i < from + count; i++) this.t1[i] = t1;
    if (this.t0[from]! >= this.measureFrom) this.result.publishCall.push(t1 - this.t0[from]!);
  };
  arrived(i: number, now: number): void {
    if (!(this.t0[i]! >= this.measureFrom)) return;
    this.result.fromPublish.push(now - this.t0[i]!);
    // The reader can see a record before the publisher's continuation ran (same event-loop turn): count it as 0.
    this.result.fromAck.push(Number.isNaN(this.t1[i]!) ? 0 : Math.max(0, now - this.t1[i]!));
  }
}

async function baselineRun(traffic: Traffic, rate: number): Promise<RunResult> {
  const tmp = tempDir('dronewatch-bench-');
  const stream = await openStream('sqlite', { dataDir: tmp.dir });
  try {
    await stream.ensureTopic(TOPICS.reports, DEFAULT_TOPIC_CONFIG.reports);
    const consumer = await stream.consumer({ topic: TOPICS.reports, group: 'baseline' });
    const clock = new Clock(traffic.records.length);
    // A record is recognised by its rank in its partition (publish order is kept per partition): no parsing needed.
    const partitions = await stream.partitionsOf(TOPICS.reports);
    const byPartition: number[][] = Array.from({ length: partitions }, () => []);
    traffic.records.forEach((r, i) => byPartition[partitionOf(r.key, partitions)]!.push(i));
    const readPos = new Array<number>(partitions).fill(0);
    let received = 0;
    const abort = new AbortController();
    const loop = (async () => {
      while (!abort.signal.aborted) {
        const recs = await consumer.poll({ maxRecords: 1000, waitMs: 100, signal: abort.signal });
        const now = performance.now();
        for (const r of recs) clock.arrived(byPartition[r.partition]![readPos[r.partition]!++]!, now);
        received += recs.length;
        if (recs.length > 0) await consumer.commit(recs);
      }
    })();
    clock.measureFrom = performance.now() + WARMUP_MS;
    clock.result.rate = await drive(stream, traffic, rate, clock.published, clock.acked);
    await waitUntil(() => received >= traffic.records.length, 30_000);
    abort.abort();
    await loop;
    await consumer.close();
    return clock.result;
  } finally {
    await stream.close();
    tmp.cleanup();
  }
}

async function alertRun(traffic: Traffic, rate: number): Promise<RunResult & { events: number }> {
  const tmp = tempDir('dronewatch-bench-');
  const stream = await openStream('sqlite', { dataDir: tmp.dir });
  const store = openAlertStore({ dataDir: tmp.dir });
  await store.offloadCheckpoints(); // as the platform runs it
  const bus = new AlertBus();
  const worker = new AlertWorker({ stream, store, bus, config: { threshold: 20, criticalThreshold: 5, wordRules: [] } });
  try {
    await worker.start();
    const clock = new Clock(traffic.records.length);
    const indexOf = new Map<string, number>();
    traffic.records.forEach((r, i) => traffic.alerting.has(r.id!) && indexOf.set(r.id!, i));
    let events = 0;
    bus.subscribe((e) => {
      const now = performance.now();
      events++;
      const i = indexOf.get(e.alert.lastReportId);
      if (i !== undefined) clock.arrived(i, now);
    });
    clock.measureFrom = performance.now() + WARMUP_MS;
    clock.result.rate = await drive(stream, traffic, rate, clock.published, clock.acked);
    await waitUntil(() => worker.stats().reportsProcessed >= traffic.records.length, 30_000);
    return { ...clock.result, events };
  } finally {
    await worker.stop();
    store.close();
    await stream.close();
    tmp.cleanup();
  }
}

export async function benchAlerts(opts: { reportsPerSecond: number; seconds: number }): Promise<Record<string, number>> {
  const traffic = makeTraffic(Math.round(opts.reportsPerSecond * opts.seconds));
  const base = await baselineRun(traffic, opts.reportsPerSecond);
  const alerts = await alertRun(traffic, opts.reportsPerSecond);
  const out: Record<string, number> = {
    reportsPerSecondTarget: opts.reportsPerSecond,
    baselineReportsPerSecond: Math.round(base.rate),
    alertReportsPerSecond: Math.round(alerts.rate),
    alertEvents: alerts.events,
  };
  const put = (prefix: string, samples: number[]): void => {
    const p = percentiles(samples);
    Object.assign(out, { [`${prefix}Samples`]: p.n, [`${prefix}P50Ms`]: round(p.p50), [`${prefix}P99Ms`]: round(p.p99), [`${prefix}MaxMs`]: round(p.max) });
  };
  put('baselinePublishCall', base.publishCall);
  put('baseline', base.fromPublish);
  put('baselineFromAck', base.fromAck);
  put('alertPublishCall', alerts.publishCall);
  put('alert', alerts.fromPublish);
  put('alertFromAck', alerts.fromAck);
  return out;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { rate: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '10' } } });
  const r = await benchAlerts({ reportsPerSecond: Number(values.rate), seconds: Number(values.seconds) });
  const line = (label: string, p: string): string =>
    `  ${label.padEnd(40)} p50 ${r[`${p}P50Ms`]} ms  p99 ${r[`${p}P99Ms`]} ms  max ${r[`${p}MaxMs`]} ms  (${r[`${p}Samples`]} samples)`;
  console.log(`alerts bench: ${r.reportsPerSecondTarget} reports/s target, ~${ALERT_RATE * 100}% alerting, one process, SqliteStream`);
  console.log(`baseline (raw stream, ${r.baselineReportsPerSecond} reports/s achieved)`);
  console.log(line('stream.publish call', 'baselinePublishCall'));
  console.log(line('publish call -> poll returns record', 'baseline'));
  console.log(line('publish acked -> poll returns record', 'baselineFromAck'));
  console.log(`alert worker (${r.alertReportsPerSecond} reports/s achieved, ${r.alertEvents} events)`);
  console.log(line('stream.publish call', 'alertPublishCall'));
  console.log(line('publish call -> alert event on the bus', 'alert'));
  console.log(line('publish acked -> alert event on the bus', 'alertFromAck'));
  console.log(JSON.stringify(r));
}
