/**
 * Shared by the stream benchmarks (bench/kafka.ts, bench/nats.ts): the load average, simulated reports ending about now,
 * a bounded wait, ingestion calls kept in flight, and a stream publishing to two consumer groups.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AcceptedReport, Report } from '../src/contract/index.ts';
import { Fleet, REPORT_INTERVAL_MS } from '../src/simulator/index.ts';
import type { OutgoingRecord, Stream, StreamRecord } from '../src/stream/index.ts';
import { withTimeout } from './util.ts';

/** The 1, 5 and 15 minute load averages, as printed beside every figure. */
export const loadAverage = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/** Simulated reports of 1,000 drones (one a minute each), ending about now: ingestion refuses reports from the future. */
export function recentReports(n: number): Report[] {
  const drones = 1000;
  return new Fleet({ drones, seed: 11, start: Date.now() - (Math.ceil(n / drones) + 2) * REPORT_INTERVAL_MS }).take(n);
}

/** Waits until `cond` holds (checked every 5 ms) and returns when; throws after timeoutMs, with `progress()` if given. */
export async function waitFor(what: string, cond: () => boolean, timeoutMs: number, progress: () => string = () => ''): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not done after ${timeoutMs / 1000} s${progress() ? ` (${progress()})` : ''}`);
    await sleep(5);
  }
  return performance.now();
}

/** Runs `call` over [0, n) in ranges of `batch`, `inFlight` calls at a time (requests being served at once). */
export async function inBatches(n: number, batch: number, inFlight: number, call: (from: number, to: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const from = next;
      next = Math.min(n, next + batch);
      await call(from, next);
    }
  }));
}

/**
 * A stream alone at the records level: publishes `values` in batches (`inFlight` calls at a time, each record with a
 * de-duplication id, as ingestion publishes) while two groups (`alerts`, `archive`) poll and commit them; rates from
 * the first publish. The stream is the caller's (connected, closed by it).
 */
export async function publishWithTwoGroups(
  stream: Stream, values: readonly Uint8Array[], tag: string,
  opts: {
    topic: Parameters<Stream['ensureTopic']>[1]; batch: number; inFlight: number; catchUpMs: number; label: string;
    /**
     * Commit at most this often (the records of the polls since, at once), and the last ones after the group's time
     * is taken; 0 commits after every poll. Kafka's bench passes its raw groups' autocommit interval: a baseline
     * committing once a second beside groups committing every poll compared the commits, not the streams.
     */
    commitEveryMs?: number;
    /** Topic name (default `benchsl`): another one for a second topic format on the same server. */
    topicName?: string;
  },
): Promise<{ publish: number; groups: number[] }> {
  const topic = opts.topicName ?? 'benchsl';
  await stream.ensureTopic(topic, opts.topic);
  const n = values.length;
  const groups = await Promise.all(['alerts', 'archive'].map((group) => stream.consumer({ topic, group })));
  const counts = [0, 0];
  const ends: number[] = [];
  let running = true;
  const every = opts.commitEveryMs ?? 0;
  const loops = groups.map(async (c, k) => {
    const uncommitted = new Map<number, StreamRecord>();
    let lastCommit = performance.now();
    while (running && counts[k]! < n) {
      const recs = await c.poll({ maxRecords: 1000, waitMs: 100 });
      counts[k]! += recs.length;
      // A commit is the highest offset per partition: the last record of each partition polled since is enough.
      for (const r of recs) uncommitted.set(r.partition, r);
      if (uncommitted.size > 0 && performance.now() - lastCommit >= every) {
        await c.commit([...uncommitted.values()]);
        uncommitted.clear();
        lastCommit = performance.now();
      }
    }
    ends[k] = performance.now();
    if (uncommitted.size > 0) await c.commit([...uncommitted.values()]);
  });
  const t0 = performance.now();
  await inBatches(n, opts.batch, opts.inFlight, (from, to) => {
    const batch: OutgoingRecord[] = [];
    for (let j = from; j < to; j++) batch.push({ key: `drone-${j % 1000}`, value: values[j]!, id: `${tag}-${j}` });
    return stream.publish(topic, batch);
  });
  const published = performance.now();
  try {
    await withTimeout(Promise.all(loops), opts.catchUpMs, `${opts.label} groups catching up`)
      .catch((e: unknown) => { throw new Error(`${(e as Error).message} (${counts.join(', ')} of ${n})`); });
  } finally {
    running = false;
  }
  await Promise.all(groups.map((c) => c.close()));
  // No records or a group that never finished is no measurement: fail rather than print NaN or Infinity.
  if (n === 0 || counts.some((c) => c < n) || ends.length !== 2) throw new Error(`${opts.label}: no complete sample (${counts.join(', ')} of ${n})`);
  return { publish: n / ((published - t0) / 1000), groups: ends.map((t) => n / ((t - t0) / 1000)) };
}

/**
 * The latency runs' reports, as records for the `reports` topic: `total` reports of 1,000 drones in the last minute,
 * each with a passer-by and one citizen whose score is below 20 (an alert at the default threshold) with probability
 * `alertRate` (a fixed seed: every run sends the same). `indexOf`: alerting report id -> its index.
 */
export function latencyRecords(total: number, alertRate: number, tenant: string): { records: OutgoingRecord[]; indexOf: Map<string, number> } {
  const enc = new TextEncoder();
  let seed = 3;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const start = Date.now() - 60_000;
  const records: OutgoingRecord[] = [];
  const indexOf = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const droneId = `drone-${i % 1000}`;
    const ts = start + i;
    const alert = rnd() < alertRate;
    const r: AcceptedReport = {
      droneId, timestamp: new Date(ts).toISOString(), position: { lat: 48.85, lon: 2.35 },
      citizens: [{ name: `citizen-${i}`, score: alert ? Math.floor(rnd() * 20) : 20 + Math.floor(rnd() * 80) }, { name: 'passer-by', score: 90 }],
      words: ['hello', 'street'], reportId: `${droneId}:${ts}`, ts, receivedAt: ts, tenant,
    };
    if (alert) indexOf.set(r.reportId, i);
    records.push({ key: droneId, id: r.reportId, value: enc.encode(JSON.stringify(r)) });
  }
  return { records, indexOf };
}
