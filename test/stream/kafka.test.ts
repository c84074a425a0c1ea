/**
 * KafkaStream against a real Kafka 4 broker (one KRaft node, fresh log dir) started once for the file: the stream
 * conformance suite, then what is specific to Kafka (kafka:// URLs, topic layout and configs, tenants).
 * Skipped with the install hint when the Kafka jars or Java 17 are missing (fails with CI=true).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, ConfigResourceTypes } from '@platformatic/kafka';
import { KafkaStream, kafkaBrokers } from '../../src/backend/kafka/index.ts';
import { freePorts, kafkaOrSkip } from '../../src/testkit/index.ts';
import { runStreamConformance } from './conformance.ts';
import { kafkaFixture } from './kafka-fixture.ts';
import { drain, rec, text, uniq } from './conformance-helpers.ts';
import { partitionOf } from '../../src/stream/types.ts';

const skip = kafkaOrSkip();

/** Admin calls through their callback form: the client's promises need Node 22 (see src/backend/kafka/client.ts). */
function call<T>(fn: (cb: (e: Error | null, v?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((e, v) => (e ? reject(e) : resolve(v as T))));
}

if (skip) {
  describe('stream conformance: kafka', () => {
    it('needs Kafka 4 jars and Java >= 17', { skip }, () => undefined);
  });
} else {
  const kafka = kafkaFixture({ nodes: 1, tenant: 'test' });
  const brokersOf = kafka.brokers;
  runStreamConformance('kafka', kafka.factory);

  describe('kafka stream specifics', { timeout: 60_000 }, () => {
    it('parses kafka:// URLs and refuses bad ones naming stream.url', () => {
      assert.deepEqual(kafkaBrokers('kafka://10.0.0.1:9092'), ['10.0.0.1:9092']);
      assert.deepEqual(kafkaBrokers('kafka://k1.example:9092,k2.example:9093/'), ['k1.example:9092', 'k2.example:9093']);
      for (const bad of ['nats://h:4222', 'kafka://', 'kafka://host', 'kafka://host:99999', 'kafka://u:p@host:9092', 'kafka://h:9092/path', 'kafka://h:9092,,h2:9092']) {
        assert.throws(() => kafkaBrokers(bad), (e: unknown) => {
          const err = e as { code?: string; details?: { field: string }[] };
          assert.equal(err.code, 'DW_CONFIG_INVALID', `${bad}: ${String(e)}`);
          assert.equal(err.details?.[0]?.field, 'stream.url', bad);
          return true;
        });
      }
    });

    it('creates the Kafka topic with its partitions, replication factor and retention', { timeout: 20_000 }, async () => {
      const brokers = await brokersOf();
      const s = await KafkaStream.connect({ brokers, tenant: 'lyon', replicas: 1 });
      const admin = new Admin({ clientId: 'kafka-test', bootstrapBrokers: brokers });
      try {
        assert.equal(s.name, `kafka:${brokers.join(',')}`);
        const t = uniq('layout');
        await s.ensureTopic(t, { partitions: 4, duplicateWindowMs: 60_000, retention: { maxAgeMs: 3_600_000, maxBytes: 4_000_000 } });
        const name = `dw.lyon.${t}`;
        const md = await call<Awaited<ReturnType<Admin['metadata']>>>((cb) => admin.metadata({ topics: [name] }, cb));
        const topic = md.topics.get(name);
        assert.equal(topic?.partitionsCount, 4, 'the topic has the partitions asked for');
        assert.ok(topic!.partitions.every((p) => p.replicas.length === 1), 'replication factor 1');
        const [desc] = await call<Awaited<ReturnType<Admin['describeConfigs']>>>((cb) => admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: name }] }, cb));
        const cfg = new Map(desc!.configs.map((c) => [c.name, c.value]));
        assert.equal(cfg.get('retention.ms'), '3600000', 'maxAgeMs becomes retention.ms');
        assert.equal(cfg.get('retention.bytes'), '1000000', 'maxBytes is shared by the partitions (retention.bytes is per partition)');
        assert.equal(cfg.get('message.timestamp.type'), 'LogAppendTime', 'timestamps are append times');
        assert.equal(cfg.get('cleanup.policy'), 'delete');
        assert.equal(cfg.get('min.insync.replicas'), '1');
        // Records carry their key's partition (partitionOf), and the id rides in a header hidden from readers.
        const [ack] = await s.publish(t, [rec('drone-7', 'a', { id: 'r1', headers: { '~mine': 'x' } })]);
        const [back] = await s.read(t, { partition: ack!.partition });
        assert.deepEqual({ ...back!.headers }, { '~mine': 'x' }, 'a caller header starting with ~ reads back unchanged');
      } finally {
        await call((cb) => admin.close(cb));
        await s.close();
      }
    });

    it('keeps tenants apart on a shared topic name, groups included', { timeout: 20_000 }, async () => {
      const brokers = await brokersOf();
      const paris = await KafkaStream.connect({ brokers, tenant: 'paris' });
      const lyon = await KafkaStream.connect({ brokers, tenant: 'lyon' });
      try {
        const t = uniq('tenants');
        await paris.ensureTopic(t, { partitions: 2 });
        await lyon.ensureTopic(t, { partitions: 2 });
        await paris.publish(t, [rec('d1', 'paris-1'), rec('d2', 'paris-2')]);
        await lyon.publish(t, [rec('d1', 'lyon-1')]);
        assert.deepEqual((await paris.read(t)).map(text).sort(), ['paris-1', 'paris-2']);
        assert.deepEqual((await lyon.read(t)).map(text), ['lyon-1']);
        const g = uniq('g');
        const c = await lyon.consumer({ topic: t, group: g });
        assert.deepEqual((await drain(c, 1)).map(text), ['lyon-1']);
        assert.deepEqual(await paris.groups(t), [], 'the lyon group is not a paris group');
        assert.equal((await paris.lag(t, g)).reduce((n, l) => n + l.lag, 0), 2, 'the same group name in paris is another group');
        await c.close();
      } finally {
        await paris.close();
        await lyon.close();
      }
    });

    it('de-duplicates ids appended by another stream (another process, or this one before a restart)', { timeout: 20_000 }, async () => {
      const brokers = await brokersOf();
      const a = await KafkaStream.connect({ brokers, tenant: 'dedup' });
      const b = await KafkaStream.connect({ brokers, tenant: 'dedup' });
      try {
        const t = uniq('dedup');
        await a.ensureTopic(t, { partitions: 3, duplicateWindowMs: 60_000 });
        const [first] = await a.publish(t, [rec('drone-1', 'one', { id: 'report-1' })]);
        // b never called ensureTopic: the window comes from the catalog topic.
        const [again] = await b.publish(t, [rec('drone-1', 'one again', { id: 'report-1' })]);
        assert.deepEqual(again, { partition: first!.partition, offset: first!.offset, duplicate: true });
        const [fresh] = await b.publish(t, [rec('drone-1', 'two', { id: 'report-2' })]);
        const [echo] = await a.publish(t, [rec('drone-1', 'two again', { id: 'report-2' })]);
        assert.deepEqual(echo, { ...fresh!, duplicate: true }, 'a catches up with what b appended');
        assert.deepEqual((await a.read(t)).map(text), ['one', 'two']);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('delivers a record appended to a partition whose earlier records are still buffered without waiting out another fetch', { timeout: 60_000 }, async () => {
      // One leader holds both partitions. When a fetch brings p0's record, the leader's next fetch goes out at once;
      // it used to leave p0 out until poll() had emptied p0's buffer, so p0's next record waited for that fetch's long
      // poll (500 ms) to run out: the alert latency's p99 on Kafka.
      const brokers = await brokersOf();
      const s = await KafkaStream.connect({ brokers, tenant: 'prefetch' });
      try {
        const t = uniq('prefetch');
        await s.ensureTopic(t, { partitions: 2 });
        const key0 = Array.from({ length: 100 }, (_, i) => `drone-${i}`).find((k) => partitionOf(k, 2) === 0)!;
        const c = await s.consumer({ topic: t, group: uniq('g'), start: 'latest' });
        assert.deepEqual(await c.poll({ waitMs: 0 }), [], 'nothing yet; the first fetch is out');
        const waits: number[] = [];
        for (let i = 0; i < 5; i++) {
          await s.publish(t, [rec(key0, `first-${i}`)]);
          assert.deepEqual((await c.poll({ waitMs: 5000 })).map(text), [`first-${i}`]);
          await s.publish(t, [rec(key0, `second-${i}`)]);
          const t0 = performance.now();
          assert.deepEqual((await c.poll({ waitMs: 5000 })).map(text), [`second-${i}`]);
          waits.push(performance.now() - t0);
        }
        const median = waits.sort((a, b) => a - b)[2]!;
        assert.ok(median < 300, `the second record of a partition came ${median.toFixed(0)} ms after its publish (median of ${waits.map((w) => w.toFixed(0)).join(', ')}): a fetch without its partition was waited out`);
        await c.close();
      } finally {
        await s.close();
      }
    });

    it('fails with DW_STREAM_UNAVAILABLE when no broker answers', { timeout: 20_000 }, async () => {
      const [port] = await freePorts(1);
      await assert.rejects(KafkaStream.connect({ brokers: [`127.0.0.1:${port}`], retryForMs: 1000 }), (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'DW_STREAM_UNAVAILABLE', String(e));
        return true;
      });
    });
  });
}
