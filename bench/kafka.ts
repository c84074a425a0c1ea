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
 * Experiments: --sweep [n] (raw producer settings), --part=<pair|raw|stream|platform|stages|latency> [n] [--c2] [--profile=<file>]
 * [--batch=<records per publish> --in-flight=<publishes outstanding>] (KafkaStream's publishing in pair and stream).
 * The measurements are in bench/kafka-levels.ts, their CPU and request counts in bench/kafka-cost.ts.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { findKafka, KAFKA_TEST_JVM_OPTIONS, startKafka } from '../src/testkit/index.ts';
import { CpuSpan, RequestCount } from './kafka-cost.ts';
import {
  alertLatency, BATCH, CALLS_IN_FLIGHT, enc, fmt, KAFKA_DEFAULTS, KAFKA_QUICK, lastPlatformRequests, PARTITIONS, pcts, platformLevel, r0, REPLICAS, stages,
  streamLevel, WARMUP_MS, type KafkaBenchOptions,
} from './kafka-levels.ts';
import { rawConnect, rawLatency, rawProduce, rawProduceConsume, rawTopic, RAW_SETTINGS, type RawProducerSettings } from './kafka-raw.ts';
import { loadAverage as load, recentReports as generate } from './stream-bench.ts';
import { isMain, printTable, requireSamples, withTimeout } from './util.ts';

export { KAFKA_DEFAULTS, KAFKA_QUICK, type KafkaBenchOptions } from './kafka-levels.ts';

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
    // The same with the raw producer's load (its sends' size and number outstanding, as publish calls): the rows above
    // compare an ingest process's 2 calls of 500 with raw's 2 sends of 5,000, and a publish round carries at most what
    // its callers have outstanding (acks=all: no call returns before replication), so they compare loads as well as
    // clients. Runs after raw and the default row: on a warmer cluster than raw's.
    cpu = new CpuSpan(cluster);
    requests = new RequestCount();
    const slr = await streamLevel(brokers, values, 'r', { batch: RAW_SETTINGS.batch, inFlight: RAW_SETTINGS.inFlight });
    const slrCpu = cpu.end();
    const slrRequests = requests.end(values.length);
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
    const atRaw = `KafkaStream at the raw producer's load (publish calls of ${RAW_SETTINGS.batch}, ${RAW_SETTINGS.inFlight} in flight)`;
    out[`${atRaw}: groups, records/s (ratio to raw)`] = `${ratio(slr.groups[0]!)} / ${ratio(slr.groups[1]!)}`;
    out[`${atRaw}: CPU us/record dronewatch / brokers; requests per 1,000`] = `${perMsg(slrCpu)}; ${slrRequests}`;
    out['platform: ingest rate, reports/s'] = r0(pl.publish!);
    out['platform: AlertWorker caught up, reports/s (ratio)'] = ratio(pl.alerts!);
    out['platform: ArchiveWorker, every report in the lake, reports/s (ratio)'] = ratio(pl.archive!);
    out['platform: end to end (both caught up), reports/s'] = r0(pl.all!);
    out['platform: CPU us/report, dronewatch process / 3 brokers'] = `${r0(pl.procUs!)} / ${r0(pl.brokersUs!)}`;
    out['platform: requests per 1,000 reports, ingestion + alert worker (not the archive thread)'] = lastPlatformRequests;
    out['platform: archive flushes (3 topics x 8 partitions); ms per flush: stage / marker / publish / stream commit / clean'] =
      `${pl.flushes}; ${[pl.flushStage, pl.flushMarker, pl.flushPublish, pl.flushCommit, pl.flushClean].map((x) => x!.toFixed(1)).join(' / ')}`;
    out['platform: archive flushing, seconds per second of the run (3 topic loops)'] = Number(pl.flushSecondsPerSecond!.toFixed(2));
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
  // --batch=<n> --in-flight=<n>: KafkaStream's publish calls (default an ingest process's: BATCH reports, CALLS_IN_FLIGHT
  // at a time), e.g. the raw producer's 5,000 x 2, to tell the stream's cost from its callers' concurrency.
  const opt = (name: string, dflt: number): number => {
    const v = Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} must be a positive integer`);
    return v;
  };
  const publishLoad = { batch: opt('batch', BATCH), inFlight: opt('in-flight', CALLS_IN_FLIGHT) };
  // --raw-batch=<n> --raw-in-flight=<n>: the raw producer's sends in pair and raw (default its best, RAW_SETTINGS).
  const rawSettings: RawProducerSettings = { ...RAW_SETTINGS, batch: opt('raw-batch', RAW_SETTINGS.batch), inFlight: opt('raw-in-flight', RAW_SETTINGS.inFlight) };
  const cluster = await startKafka({ nodes: 3, ...(c2 ? { jvmOptions: KAFKA_TEST_JVM_OPTIONS.filter((o) => !o.startsWith('-XX:TieredStopAtLevel')) } : {}) });
  const out: Record<string, number | string> = {
    'load average at start': load(), reports: n, 'broker JIT': c2 ? 'C1 + C2' : 'C1 only (testkit)',
    'KafkaStream publish calls': `${publishLoad.batch} records, ${publishLoad.inFlight} in flight`,
    'raw producer sends': `${rawSettings.batch} messages, ${rawSettings.inFlight} in flight`,
  };
  try {
    if (part === 'pair') {
      // raw then KafkaStream on the same cluster, twice (the first round warms the brokers' JIT up): the ratio of one
      // run, for trying a change to the stream.
      for (const round of [1, 2]) {
        const raw = rawConnect(cluster.bootstrap);
        let rawSlowest = 0;
        try {
          await rawTopic(raw, `raw-tp${round}`, PARTITIONS, REPLICAS);
          const tp = await rawProduceConsume(raw, `raw-tp${round}`, values, 2, rawSettings);
          rawSlowest = Math.min(...tp.perConsumer);
          out[`${round}: raw produce / per group msgs/s`] = `${r0(tp.publish)} / ${tp.perConsumer.map(r0).join(' / ')}`;
        } finally {
          await raw.close();
        }
        const requests = new RequestCount();
        const sl = await streamLevel(cluster.bootstrap.split(','), values, `x${round}`, publishLoad);
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
        const tp = await rawProduceConsume(raw, 'raw-tp', values, 2, rawSettings);
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
      const sl = await streamLevel(cluster.bootstrap.split(','), values, 'x', publishLoad);
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
