/**
 * The raw Kafka baseline of bench/kafka.ts: the client dronewatch uses (@platformatic/kafka, through its callback API:
 * its promise API needs Node 22) and no dronewatch code. Producer: idempotent, acks=all, `send()` calls of RAW_BATCH
 * messages with RAW_IN_FLIGHT calls outstanding and the compression chosen by the sweep in docs/benchmarks.md ("Kafka").
 * Consumer: a group member reading with the client's own messages stream (`consume()`), offsets committed by its
 * autocommit timer.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Consumer, MessagesStreamFallbackModes, MessagesStreamModes, Producer, ProduceAcks, type CompressionAlgorithmValue, type Message, type MessagesStream, type MessageToProduce } from '@platformatic/kafka';
import { call } from '../src/backend/kafka/client.ts';
import { withTimeout } from './util.ts';

type Outgoing = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

/**
 * Messages per `send()`, sends outstanding, compression: from `node --import tsx bench/kafka.ts --sweep` (docs/benchmarks.md,
 * "Kafka"). On these shared machines no setting of 1,000 to 20,000 per send and 1 to 4 outstanding was faster in every
 * round, sends of 500 were among the slowest, and lz4 and snappy at least as fast as no compression. gzip is unusable
 * on Node 20 (the client compresses it with its promise helper, and the send never completes).
 */
export const RAW_BATCH = 5000;
export const RAW_IN_FLIGHT = 2;
export const RAW_COMPRESSION: CompressionAlgorithmValue = 'lz4';
/** Publisher tick of the latency runs (as bench/nats-raw.ts and bench/alerts.ts). */
export const TICK_MS = 5;

export interface RawProducerSettings {
  batch: number;
  inFlight: number;
  compression: CompressionAlgorithmValue;
}

export const RAW_SETTINGS: RawProducerSettings = { batch: RAW_BATCH, inFlight: RAW_IN_FLIGHT, compression: RAW_COMPRESSION };

export interface RawKafka {
  bootstrap: string[];
  admin: Admin;
  producer: Producer;
  close(): Promise<void>;
}

export function rawConnect(bootstrap: string, compression: CompressionAlgorithmValue = RAW_COMPRESSION): RawKafka {
  const bootstrapBrokers = bootstrap.split(',');
  const admin = new Admin({ bootstrapBrokers, clientId: 'bench-raw-admin' });
  const producer = new Producer({ bootstrapBrokers, clientId: 'bench-raw-producer', idempotent: true, acks: ProduceAcks.ALL, compression });
  return {
    bootstrap: bootstrapBrokers,
    admin,
    producer,
    async close() {
      await Promise.allSettled([call((cb) => producer.close(true, cb)), call((cb) => admin.close(cb))]);
    },
  };
}

/** A topic of `partitions` partitions, replicated `replicas` times, min.insync.replicas 2 when replicated. */
export async function rawTopic(c: RawKafka, name: string, partitions: number, replicas: number): Promise<void> {
  await call((cb) => c.admin.createTopics({
    topics: [name], partitions, replicas,
    configs: [{ name: 'min.insync.replicas', value: String(replicas >= 3 ? 2 : 1) }],
  }, cb));
  // The new topic's leaders may take a moment to reach every broker's metadata.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const md = await call<Awaited<ReturnType<Admin['metadata']>>>((cb) => c.admin.metadata({ topics: [name], forceUpdate: true }, cb)).catch(() => undefined);
    const t = md?.topics.get(name);
    if (t && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0)) return;
    if (Date.now() > deadline) throw new Error(`topic ${name} has no leader for every partition after 10 s`);
    await sleep(100);
  }
}

export interface PublishRun {
  acked: number;
  seconds: number;
  rate: number;
}

/** Sends `values` keyed by drone (`drone-<i % 1000>`), `settings.batch` per send and `settings.inFlight` sends outstanding. */
export async function rawProduce(c: RawKafka, topic: string, values: readonly Uint8Array[], settings: RawProducerSettings = RAW_SETTINGS): Promise<PublishRun> {
  const t0 = performance.now();
  let next = 0;
  let acked = 0;
  await Promise.all(Array.from({ length: settings.inFlight }, async () => {
    while (next < values.length) {
      const from = next;
      const to = Math.min(values.length, next + settings.batch);
      next = to;
      const messages: Outgoing[] = [];
      for (let i = from; i < to; i++) messages.push({ topic, key: Buffer.from(`drone-${i % 1000}`), value: Buffer.from(values[i]!) });
      await call((cb) => c.producer.send({ messages, compression: settings.compression }, cb));
      acked += to - from;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  return { acked, seconds, rate: acked / seconds };
}

export interface RawConsumer {
  /** performance.now() when the consumer had received `expected` messages. */
  done: Promise<number>;
  received(): number;
  close(): Promise<void>;
}

/** The raw groups' autocommit interval; KafkaStream's bench groups commit as often (kafka-levels.ts), for a fair comparison. */
export const RAW_COMMIT_INTERVAL_MS = 1000;

/**
 * A member of a new group reading `topic` from the start with the client's messages stream, committing every second.
 * `onMessage` gets each message (for latency runs) when asked for.
 */
export async function rawConsume(bootstrap: string[], topic: string, group: string, expected: number, onMessage?: (m: Message, now: number) => void): Promise<RawConsumer> {
  const consumer = new Consumer({ bootstrapBrokers: bootstrap, clientId: `bench-raw-${group}`, groupId: group, maxWaitTime: 500 });
  let n = 0;
  let resolveDone: (t: number) => void = () => undefined;
  let rejectDone: (e: Error) => void = () => undefined;
  const done = new Promise<number>((resolve, reject) => { resolveDone = resolve; rejectDone = reject; });
  done.catch(() => undefined);
  const stream = await call<MessagesStream<Buffer, Buffer, Buffer, Buffer>>((cb) => consumer.consume({
    topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST, autocommit: RAW_COMMIT_INTERVAL_MS,
  }, cb));
  stream.on('data', (m) => {
    n++;
    if (onMessage) onMessage(m, performance.now());
    if (n === expected) resolveDone(performance.now());
  });
  stream.on('error', (e) => rejectDone(e));
  return {
    done,
    received: () => n,
    async close() {
      await call((cb) => stream.close(cb)).catch(() => undefined);
      await call((cb) => consumer.close(true, cb)).catch(() => undefined);
    },
  };
}

/**
 * Throughput: `consumers` groups start on an empty topic, then `values` are produced; each group's rate is counted from
 * the first send to its last message. Also the produce rate with the groups reading.
 */
export async function rawProduceConsume(c: RawKafka, topic: string, values: readonly Uint8Array[], consumers: number, settings: RawProducerSettings = RAW_SETTINGS, timeoutMs = 180_000): Promise<{ publish: number; perConsumer: number[] }> {
  const readers = await Promise.all(Array.from({ length: consumers }, (_, k) => rawConsume(c.bootstrap, topic, `${topic}-g${k}`, values.length)));
  try {
    const t0 = performance.now();
    const pub = await rawProduce(c, topic, values, settings);
    const ends = await withTimeout(Promise.all(readers.map((r) => r.done)), timeoutMs, 'raw consumers')
      .catch((e: unknown) => { throw new Error(`${(e as Error).message} (received ${readers.map((r) => r.received()).join(', ')} of ${values.length})`); });
    return { publish: pub.rate, perConsumer: ends.map((t) => values.length / ((t - t0) / 1000)) };
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}

/**
 * Latency produce -> consumer at a fixed rate: every TICK_MS the messages due are sent in one `send()` (as dronewatch's
 * publisher sends a batch), awaited before the next tick. Each message's latency from just before its send call
 * (`fromCall`) and from the send's acknowledgement (`fromAck`; a message the consumer saw before the producer's callback
 * ran counts 0) to its arrival in the consumer's `data` handler. Samples after a warm-up only.
 */
export async function rawLatency(c: RawKafka, topic: string, values: readonly Uint8Array[], rate: number, warmupMs: number): Promise<{ fromCall: number[]; fromAck: number[] }> {
  const t0s = new Float64Array(values.length);
  const t1s = new Float64Array(values.length).fill(Number.NaN);
  const fromCall: number[] = [];
  const fromAck: number[] = [];
  let measureFrom = Infinity;
  const arrivals: [number, number][] = [];
  // +1: the warm-up message below.
  const reader = await rawConsume(c.bootstrap, topic, `${topic}-lat`, values.length + 1, (m, now) => {
    const i = Number(m.key.toString('utf8'));
    if (t0s[i]! >= measureFrom) arrivals.push([i, now]);
  });
  try {
    // The producer's first send also fetches its producer id and the topic's metadata: not part of any sample.
    await call((cb) => c.producer.send({ messages: [{ topic, key: Buffer.from('warm-up'), value: Buffer.from(values[0]!) }] }, cb));
    const start = performance.now();
    measureFrom = start + warmupMs;
    let sent = 0;
    while (sent < values.length) {
      const due = Math.min(values.length, Math.floor(((performance.now() - start) / 1000) * rate));
      if (due > sent) {
        const t0 = performance.now();
        const messages: Outgoing[] = [];
        // The key is the message's index (spread over the partitions by the client's partitioner).
        for (let i = sent; i < due; i++) {
          t0s[i] = t0;
          messages.push({ topic, key: Buffer.from(String(i)), value: Buffer.from(values[i]!) });
        }
        await call((cb) => c.producer.send({ messages }, cb));
        t1s.fill(performance.now(), sent, due);
        sent = due;
      }
      await sleep(TICK_MS);
    }
    // Bounded: a message lost on the way shows as a missing sample (the caller requires samples), not a hang.
    await withTimeout(reader.done, 60_000, 'raw latency consumer').catch(() => undefined);
  } finally {
    await reader.close();
  }
  for (const [i, now] of arrivals) {
    fromCall.push(now - t0s[i]!);
    fromAck.push(Number.isNaN(t1s[i]!) ? 0 : Math.max(0, now - t1s[i]!));
  }
  return { fromCall, fromAck };
}
