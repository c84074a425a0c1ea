/**
 * The stream conformance suite's fixture on a Kafka cluster from the testkit, started once for the test file before its
 * tests and stopped after them: kafka.test.ts (1 node) and kafka-3-nodes.test.ts (3 nodes, replication 3).
 */
import { after, before } from 'node:test';
import { KafkaStream } from '../../src/backend/kafka/index.ts';
import type { Stream } from '../../src/stream/types.ts';
import { startKafka, type KafkaTestCluster } from '../../src/testkit/index.ts';
import type { StreamFactory } from './conformance.ts';

export interface KafkaFixture {
  /** For runStreamConformance. */
  factory: StreamFactory;
  brokers(): Promise<string[]>;
}

export function kafkaFixture(opts: { nodes: 1 | 3; tenant: string; replicas?: number }): KafkaFixture {
  let cluster: Promise<KafkaTestCluster> | undefined;
  // The conformance suite's members use sessionTimeoutMs 5000: below Kafka's default minimum of 6 s.
  const clusterOnce = (): Promise<KafkaTestCluster> => (cluster ??= startKafka({ nodes: opts.nodes, overrides: { 'group.min.session.timeout.ms': 1000 } }));
  // Started before the tests, so that its start-up (three JVMs on a loaded machine: tens of seconds) is not charged
  // to the first test's timeout.
  before(async () => { await clusterOnce(); }, { timeout: 240_000 });
  after(async () => {
    if (cluster) await (await cluster).stop();
  });
  const brokers = async (): Promise<string[]> => (await clusterOnce()).bootstrap.split(',');
  return {
    brokers,
    factory: async () => {
      const list = await brokers();
      const opened: Stream[] = [];
      const open = async (): Promise<Stream> => {
        const s = await KafkaStream.connect({ brokers: list, tenant: opts.tenant, ...(opts.replicas ? { replicas: opts.replicas } : {}) });
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
    },
  };
}
