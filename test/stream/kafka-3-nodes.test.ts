/**
 * The stream conformance suite on a 3-node Kafka cluster (KRaft, every topic replicated 3 times, min.insync.replicas 2),
 * the layout docs/ARCHITECTURE.md recommends for production: partitions led by different brokers, so a publish round
 * spans several leaders (one Produce request each, src/backend/kafka/publish.ts) and a group's fetches go to several
 * brokers. The 1-node run and Kafka's specifics are in kafka.test.ts; a broker killed under load in
 * test/distributed/kafka-failures.test.ts. Skipped with the install hint when the Kafka jars or Java 17 are missing
 * (fails with CI=true).
 */
import { describe, it } from 'node:test';
import { kafkaOrSkip } from '../../src/testkit/index.ts';
import { runStreamConformance } from './conformance.ts';
import { kafkaFixture } from './kafka-fixture.ts';

const skip = kafkaOrSkip();

if (skip) {
  describe('stream conformance: kafka, 3 nodes', () => {
    it('needs Kafka 4 jars and Java >= 17', { skip }, () => undefined);
  });
} else {
  runStreamConformance('kafka, 3 nodes, replication 3', kafkaFixture({ nodes: 3, tenant: 'test3', replicas: 3 }).factory);
}
