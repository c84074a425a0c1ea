/**
 * The text of a Kafka 4.x KRaft node's server.properties and of its log4j2 configuration. One writer for the testkit's
 * nodes and for the production examples in deploy/kafka/ (test/distributed/kafka-config.test.ts checks those files
 * are exactly what this writes for the production inputs), so the cluster the tests run is the cluster we deploy.
 */

export interface KafkaVoter {
  nodeId: number;
  host: string;
  controllerPort: number;
}

export interface KafkaNodeConfig {
  nodeId: number;
  /** The name clients and the other nodes reach this node by (advertised, and in the voter list). */
  host: string;
  /** Address the listeners bind to; defaults to `host`. '0.0.0.0' on machines whose name resolves to another interface. */
  bindHost?: string;
  /** Client and inter-broker listener (PLAINTEXT). */
  brokerPort: number;
  /** KRaft controller listener. */
  controllerPort: number;
  /** Every controller of the quorum, this node included (static quorum: `controller.quorum.voters`). */
  voters: KafkaVoter[];
  /** Data directories; the first also holds the KRaft metadata log. */
  logDirs: string[];
  /** Replicas of every topic created without an explicit factor, and of Kafka's internal topics. */
  replicationFactor: number;
  /** Acknowledged (acks=all) writes survive the loss of replicationFactor - minInsyncReplicas replicas. */
  minInsyncReplicas: number;
  /** Settings appended after the shared ones (later keys win in a properties file); tests use it for fast timeouts. */
  overrides?: Record<string, string | number | boolean>;
}

/** server.properties for a combined broker+controller node. */
export function kafkaServerProperties(c: KafkaNodeConfig): string {
  if (c.minInsyncReplicas > c.replicationFactor) {
    throw new Error(`min.insync.replicas ${c.minInsyncReplicas} > replication factor ${c.replicationFactor}: no acks=all write could succeed`);
  }
  if (!c.voters.some((v) => v.nodeId === c.nodeId)) throw new Error(`node ${c.nodeId} is not in its own voter list`);
  const bind = c.bindHost ?? c.host;
  const lines = [
    '# Written by kafkaServerProperties() in src/testkit/kafka-config.ts (the testkit starts its nodes from the same writer).',
    '# Apache Kafka 4.x in KRaft mode: this node is both a broker and a controller of the metadata quorum.',
    `node.id=${c.nodeId}`,
    'process.roles=broker,controller',
    `listeners=PLAINTEXT://${bind}:${c.brokerPort},CONTROLLER://${bind}:${c.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${c.host}:${c.brokerPort}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    '# Static quorum: the voters are fixed here, so `kafka-storage format` needs no --initial-controllers.',
    `controller.quorum.voters=${c.voters.map((v) => `${v.nodeId}@${v.host}:${v.controllerPort}`).join(',')}`,
    `log.dirs=${c.logDirs.join(',')}`,
    '',
    '# Every acks=all write is on min.insync.replicas replicas before it is acknowledged; with 3 replicas and 2 in sync',
    '# one node can be down (crash, upgrade) and producing goes on without losing acknowledged records.',
    `default.replication.factor=${c.replicationFactor}`,
    `min.insync.replicas=${c.minInsyncReplicas}`,
    `offsets.topic.replication.factor=${c.replicationFactor}`,
    `transaction.state.log.replication.factor=${c.replicationFactor}`,
    `transaction.state.log.min.isr=${c.minInsyncReplicas}`,
    `share.coordinator.state.topic.replication.factor=${c.replicationFactor}`,
    `share.coordinator.state.topic.min.isr=${c.minInsyncReplicas}`,
    '# An out-of-sync replica never becomes leader: that would silently drop acknowledged records.',
    'unclean.leader.election.enable=false',
    '',
    '# dronewatch creates its own topics, with their partitions and retention (retention.ms / retention.bytes per topic);',
    '# a typo in a topic name must fail instead of creating a topic with the defaults below.',
    'auto.create.topics.enable=false',
    'num.partitions=1',
    '# Broker-wide retention defaults, left at Kafka\'s values (only for topics created without their own):',
    '#log.retention.hours=168',
    '#log.retention.bytes=-1',
    '#log.segment.bytes=1073741824',
    '# Durability comes from replication (acks=all, min.insync.replicas), not from fsync: log.flush.* stay at defaults.',
  ];
  const overrides = Object.entries(c.overrides ?? {});
  if (overrides.length > 0) {
    lines.push('', '# Overrides', ...overrides.map(([k, v]) => `${k}=${String(v)}`));
  }
  return lines.join('\n') + '\n';
}

/**
 * log4j2 configuration (properties syntax, read by the log4j-core of Kafka 4): INFO to stdout, which the testkit sends to
 * a per-node file and systemd to the journal. The request and state-change loggers are at WARN because at INFO they log
 * per request and per partition, which hides the start-up and failure lines.
 */
export function kafkaLog4j2Properties(): string {
  return [
    '# log4j2 configuration for Kafka 4 brokers (written by kafkaLog4j2Properties() in src/testkit/kafka-config.ts).',
    'status=warn',
    'appender.out.type=Console',
    'appender.out.name=STDOUT',
    'appender.out.layout.type=PatternLayout',
    'appender.out.layout.pattern=[%d] %p %m (%c)%n',
    'rootLogger.level=INFO',
    'rootLogger.appenderRef.out.ref=STDOUT',
    'logger.request.name=kafka.request.logger',
    'logger.request.level=WARN',
    'logger.state.name=state.change.logger',
    'logger.state.level=WARN',
    '',
  ].join('\n');
}

/** The three production nodes of deploy/kafka/node-<n>.properties. */
export function kafkaProductionNode(nodeId: 1 | 2 | 3): KafkaNodeConfig {
  const voters = [1, 2, 3].map((n) => ({ nodeId: n, host: `kafka-${n}.example.internal`, controllerPort: 9093 }));
  return {
    nodeId,
    host: `kafka-${nodeId}.example.internal`,
    bindHost: '0.0.0.0',
    brokerPort: 9092,
    controllerPort: 9093,
    voters,
    logDirs: ['/var/lib/kafka/data'],
    replicationFactor: 3,
    minInsyncReplicas: 2,
  };
}
