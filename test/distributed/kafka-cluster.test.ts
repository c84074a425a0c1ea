/**
 * A real 3-node Apache Kafka 4 cluster (KRaft, combined broker+controller nodes, replication factor 3,
 * min.insync.replicas 2) from the testkit, driven by a real client (@platformatic/kafka): an acks=all producer keeps
 * working when the partition leader is killed with SIGKILL, the killed node restarts on its ports and data and rejoins
 * the ISR, and no acknowledged record is lost. Skipped without the Kafka jars and Java >= 17 (.ci/install-kafka.sh).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { kafkaOrSkip, startKafka, waitUntil, type KafkaTestCluster } from '../../src/testkit/index.ts';

// @platformatic/kafka 2.x calls Promise.withResolvers (Node 22; the package declares node >= 22.22), which Node 20
// lacks. Same semantics as the built-in, defined only where it is missing.
const P = Promise as unknown as { withResolvers?: <T>() => { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } };
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = <T>() => {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const skip = kafkaOrSkip();
const TOPIC = 'dw-kafka-cluster-test';

describe('3-node Kafka cluster (KRaft): acks=all producing survives a killed broker', { skip, timeout: 90_000 }, () => {
  let kafka: KafkaTestCluster | undefined;
  let admin: Admin | undefined;
  let producer: Producer<string, string, string, string> | undefined;
  /** Records whose send resolved: acknowledged by the leader after min.insync.replicas replicas had them. */
  let acked = 0;
  let killedIndex = -1;

  before(async () => {
    kafka = await startKafka({ nodes: 3 });
    const bootstrapBrokers = kafka.bootstrap.split(',');
    admin = new Admin({ clientId: 'dw-test-admin', bootstrapBrokers });
    // Idempotent: a send retried after a leader change cannot be written twice, so the log's end offset must equal the
    // number of acknowledged sends. Retries cover the ~3 s (broker.session.timeout.ms) until a killed leader is replaced.
    producer = new Producer({
      clientId: 'dw-test-producer', bootstrapBrokers, serializers: stringSerializers,
      acks: ProduceAcks.ALL, idempotent: true, retries: 20, retryDelay: 500,
    });
  });

  after(async () => {
    await producer?.close(true).catch(() => undefined);
    await admin?.close().catch(() => undefined);
    await kafka?.stop();
  });

  async function partition(): Promise<{ leader: number; replicas: number[]; isr: number[] }> {
    const md = await admin!.metadata({ topics: [TOPIC], forceUpdate: true });
    const p = md.topics.get(TOPIC)?.partitions[0];
    assert.ok(p, `no metadata for ${TOPIC}`);
    return { leader: p.leader, replicas: [...p.replicas].sort(), isr: [...p.isr].sort() };
  }

  async function produce(n: number, label: string): Promise<void> {
    for (let i = 0; i < n; i++) {
      const res = await producer!.send({ messages: [{ topic: TOPIC, key: `${label}-${i}`, value: JSON.stringify({ label, i }) }] });
      assert.equal(res.offsets?.[0]?.offset, BigInt(acked), 'each acknowledged record gets the next offset');
      acked++;
    }
  }

  async function endOffset(): Promise<bigint> {
    const [topic] = await admin!.listOffsets({ topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
    const p = topic?.partitions[0];
    assert.ok(p, 'listOffsets answered no partition');
    return p.offset;
  }

  it('creates a topic with replication factor 3 and produces to it with acks=all', { timeout: 30_000 }, async () => {
    const k = kafka!;
    assert.equal(k.nodes.length, 3);
    assert.deepEqual(k.nodes.map((n) => n.nodeId), [1, 2, 3]);
    const created = await admin!.createTopics({ topics: [TOPIC], partitions: 1, replicas: 3 });
    assert.equal(created[0]?.replicas, 3);
    // The partition exists on all three brokers as soon as the controller has created it, but the client's view may lag.
    await waitUntil('the partition to have 3 in-sync replicas', async () => (await partition()).isr.length === 3, 15_000);
    assert.deepEqual((await partition()).replicas, [1, 2, 3]);
    await produce(20, 'before-kill');
    assert.equal(await endOffset(), BigInt(acked));
  });

  it('keeps producing with acks=all after the partition leader is killed with SIGKILL', { timeout: 30_000 }, async () => {
    const k = kafka!;
    const { leader } = await partition();
    killedIndex = k.nodes.findIndex((n) => n.nodeId === leader);
    assert.ok(killedIndex >= 0, `leader ${leader} is not one of the nodes`);
    await k.kill(killedIndex);
    assert.equal(k.nodes[killedIndex]!.running(), false);
    // min.insync.replicas=2 of 3: the two survivors are enough, once the controller has fenced the dead broker.
    await produce(20, 'after-kill');
    const p = await partition();
    assert.notEqual(p.leader, leader, 'a surviving replica leads');
    assert.ok(!p.isr.includes(leader), `the killed broker ${leader} left the ISR (${p.isr.join(',')})`);
    assert.equal(p.isr.length, 2);
    assert.equal(await endOffset(), BigInt(acked));
  });

  it('restarts the killed broker, which catches up and rejoins the ISR', { timeout: 30_000 }, async () => {
    const k = kafka!;
    assert.ok(killedIndex >= 0, 'the previous test killed a broker');
    const restarted = k.nodes[killedIndex]!;
    await k.restart(killedIndex);
    assert.ok(restarted.running());
    await waitUntil(`broker ${restarted.nodeId} back in the ISR`, async () => (await partition()).isr.length === 3, 15_000);
    // Proof that it really is an in-sync replica: with another broker killed, acks=all writes need it (2 of 3).
    const other = k.nodes.findIndex((n, i) => i !== killedIndex && n.running());
    await k.kill(other);
    await produce(10, 'after-rejoin');
    const p = await partition();
    assert.ok(p.isr.includes(restarted.nodeId), `restarted broker ${restarted.nodeId} in the ISR (${p.isr.join(',')})`);
    assert.equal(await endOffset(), BigInt(acked), 'no acknowledged record lost, none written twice');
    assert.equal(acked, 50);
  });
});
