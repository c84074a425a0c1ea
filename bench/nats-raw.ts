/**
 * The raw JetStream baseline of bench/nats.ts: the same v3 client dronewatch uses (`@nats-io/transport-node`,
 * `@nats-io/jetstream`) and no dronewatch code, written the fastest way measured on these machines
 * (../shared/notes/nats-jetstream.md): `noAsyncTraces`, async publish with 1,000 in flight and a `msgID` each,
 * a durable pull consumer read with `consume({ max_messages: 1000, callback })` and batched AckAll acks.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { withTimeout } from './util.ts';

export const IN_FLIGHT = 1000;
/** AckAll every this many messages: one ack write per batch instead of one per message. */
const ACK_EVERY = 200;
/** Publisher tick of the latency runs (bench/alerts.ts uses the same). */
export const TICK_MS = 5;

export interface RawClient {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export async function rawConnect(servers: string): Promise<RawClient> {
  const nc = await connect({ servers: servers.split(','), noAsyncTraces: true, timeout: 10_000 });
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  return { nc, js: jetstream(nc, { timeout: 10_000 }), jsm };
}

/** A file-storage stream capturing `<name lowercased>.>` with a 2-minute de-duplication window (msgID). */
export async function rawStream(c: RawClient, name: string, replicas: number): Promise<void> {
  await c.jsm.streams.add({
    name,
    subjects: [`${name.toLowerCase()}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    duplicate_window: nanos(120_000),
  });
}

export interface PublishRun {
  acked: number;
  seconds: number;
  rate: number;
}

/**
 * Publishes `values` with a sliding window of IN_FLIGHT unacknowledged publishes, each with its own msgID; stops
 * issuing new ones after `forMs` (the run is time-boxed so that a slow durability setting cannot stall the suite).
 */
export async function rawPublish(
  c: RawClient, subject: (i: number) => string, values: readonly Uint8Array[], idPrefix: string, forMs = Infinity,
): Promise<PublishRun> {
  const t0 = performance.now();
  const stopAt = t0 + forMs;
  let next = 0;
  let acked = 0;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    let failed = false;
    const pump = (): void => {
      while (!failed && inFlight < IN_FLIGHT && next < values.length && performance.now() < stopAt) {
        const i = next++;
        inFlight++;
        c.js.publish(subject(i), values[i]!, { msgID: `${idPrefix}-${i}` }).then(() => {
          acked++;
          inFlight--;
          pump();
        }, (e: unknown) => {
          failed = true;
          reject(e as Error);
        });
      }
      if (inFlight === 0) resolve();
    };
    pump();
  });
  const seconds = (performance.now() - t0) / 1000;
  return { acked, seconds, rate: acked / seconds };
}

export interface RawConsumer {
  /** performance.now() when the consumer had received `expected` messages. */
  done: Promise<number>;
  received(): number;
  stop(): void;
}

/**
 * A durable AckAll pull consumer from the start of `stream`, consumed with a callback (1,000 messages per pull) and
 * acked every ACK_EVERY messages. `onMessage` gets each message's msgID (for latency runs) when asked for.
 */
export async function rawConsume(
  c: RawClient, stream: string, durable: string, expected: number, onMessage?: (msgId: string, now: number) => void,
): Promise<RawConsumer> {
  await c.jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 20_000,
  });
  const consumer = await c.js.consumers.get(stream, durable);
  let n = 0;
  let resolveDone: (t: number) => void = () => undefined;
  const done = new Promise<number>((r) => { resolveDone = r; });
  const messages = await consumer.consume({
    max_messages: 1000,
    callback: (m) => {
      n++;
      if (onMessage) onMessage(m.headers?.get('Nats-Msg-Id') ?? '', performance.now());
      if (n % ACK_EVERY === 0 || n === expected) m.ack();
      if (n === expected) resolveDone(performance.now());
    },
  });
  return { done, received: () => n, stop: () => messages.stop() };
}

/**
 * Throughput: `consumers` durable consumers start on an empty stream, then `values` are published; each consumer's
 * rate is counted from the first publish to its last message. Also the publish rate with consumers reading.
 */
export async function rawPublishConsume(c: RawClient, name: string, values: readonly Uint8Array[], consumers: number, replicas = 1): Promise<{ publish: number; perConsumer: number[] }> {
  await rawStream(c, name, replicas);
  const readers = await Promise.all(Array.from({ length: consumers }, (_, k) => rawConsume(c, name, `g${k}`, values.length)));
  const t0 = performance.now();
  const pub = await rawPublish(c, (i) => `${name.toLowerCase()}.${i % 1000}`, values, name);
  const ends = await withTimeout(Promise.all(readers.map((r) => r.done)), 120_000, 'raw consumers');
  for (const r of readers) r.stop();
  return { publish: pub.rate, perConsumer: ends.map((t) => values.length / ((t - t0) / 1000)) };
}

/** Throughput of one durable consumer draining a backlog of `expected` messages already in `stream`. */
export async function rawDrain(c: RawClient, stream: string, durable: string, expected: number): Promise<number> {
  const t0 = performance.now();
  const r = await rawConsume(c, stream, durable, expected);
  const t1 = await r.done;
  r.stop();
  return expected / ((t1 - t0) / 1000);
}

/**
 * Latency publish -> durable consumer callback at a fixed rate: every TICK ms the messages due are published
 * (pipelined, not awaited one by one); each message's latency is from just before its publish call to its arrival.
 * Samples after a warm-up only.
 */
export async function rawLatency(c: RawClient, name: string, values: readonly Uint8Array[], rate: number, warmupMs: number): Promise<number[]> {
  await rawStream(c, name, 1);
  const t0s = new Float64Array(values.length);
  const samples: number[] = [];
  let measureFrom = Infinity;
  const reader = await rawConsume(c, name, 'lat', values.length, (id, now) => {
    const i = Number(id.slice(id.lastIndexOf('-') + 1));
    if (t0s[i]! >= measureFrom) samples.push(now - t0s[i]!);
  });
  const subject = `${name.toLowerCase()}`;
  const start = performance.now();
  measureFrom = start + warmupMs;
  let sent = 0;
  while (sent < values.length) {
    const due = Math.min(values.length, Math.floor(((performance.now() - start) / 1000) * rate));
    // As dronewatch's publisher does with a batch (and bench/alerts.ts drives it): all due messages pipelined, the
    // batch awaited before the next tick.
    const t0 = performance.now();
    const batch: Promise<unknown>[] = [];
    for (; sent < due; sent++) {
      t0s[sent] = t0;
      batch.push(c.js.publish(`${subject}.${sent % 1000}`, values[sent]!, { msgID: `${name}-${sent}` }));
    }
    await Promise.all(batch);
    await sleep(TICK_MS);
  }
  // Bounded: a message lost on the way shows as a missing sample (the caller requires samples), not a hang.
  await withTimeout(reader.done, 60_000, 'raw latency consumer').catch(() => undefined);
  reader.stop();
  return samples;
}
