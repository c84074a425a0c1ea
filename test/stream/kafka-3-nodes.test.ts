/**
 * The stream conformance suite on a 3-node Kafka cluster (KRaft, every topic replicated 3 times, min.insync.replicas 2),
 * the layout docs/ARCHITECTURE.md recommends for production: partitions led by different brokers, so a publish round
 * spans several leaders (one Produce request each, src/backend/kafka/publish.ts) and a group's fetches go to several
 * brokers. The 1-node run and Kafka's specifics are in kafka.test.ts; a broker killed under load in
 * test/distributed/kafka-failures.test.ts. Skipped with the install hint when the Kafka jars or Java 17 are missing
 * (fails with CI=true).
 */
import { after, describe, it } from 'node:test';
import { KafkaStream } from '../../src/backend/kafka/index.ts';
import type { Stream } from '../../src/stream/types.ts';
import { kafkaOrSkip, startKafka, type KafkaTestCluster } from '../../src/testkit/index.ts';
import { runStreamConformance } from './conformance.ts';

const skip = kafkaOrSkip();

if (skip) {
  describe('stream conformance: kafka, 3 nodes', () => {
    it('needs Kafka 4 jars and Java >= 17', { skip }, () => undefined);
  });
} else {
  let cluster: Promise<KafkaTestCluster> | undefined;
  // The conformance suite's members use sessionTimeoutMs 5000: below Kafka's default minimum of 6 s.
  const clusterOnce = (): Promise<KafkaTestCluster> => (cluster ??= startKafka({ nodes: 3, overrides: { 'group.min.session.timeout.ms': 1000 } }));
  after(async () => {
    if (cluster) await (await cluster).stop();
  });

  runStreamConformance('kafka, 3 nodes, replication 3', async () => {
    const brokers = (await clusterOnce()).bootstrap.split(',');
    const opened: Stream[] = [];
    const open = async (): Promise<Stream> => {
      const s = await KafkaStream.connect({ brokers, tenant: 'test3', replicas: 3 });
      opened.push(s);
      return s;
    };
    return {
      stream: await open(),
      reopen: open,
      cleanup: async () => {
        for (const s of opened) await s.close();
      },
    };
  });
}
