/**
 * Real Apache Kafka 4.x (KRaft, no ZooKeeper) for tests: one node or a 3-node cluster of combined broker+controller
 * JVMs on free loopback ports, started from the Maven Central jars of deploy/kafka/classpath. Nodes can be killed with
 * SIGKILL and restarted on the same ports and log dirs (crash tests). The properties come from kafkaServerProperties,
 * which also wrote the production examples in deploy/kafka/.
 *
 * Start-up measured on the 2-core CI machine (Java 17, the JVM options below, other suites running), from the call to
 * every node ready, format included: 1 node median 5.3 s (4.0-9.8 s; ~3 s alone on the machine), 3 nodes median
 * 10.2 s (8.3-16.2 s, ~3 s of it the three StorageTool format JVMs). Hence one cluster per test file, not per test.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JvmProcess, keepAtExit, removeAtExit } from './jvm-process.ts';
import { kafkaLog4j2Properties, kafkaServerProperties } from './kafka-config.ts';
import { findKafka, type KafkaInstallation } from './kafka-install.ts';

// Part of this module's API (kafka-install.ts only keeps the file to one thing: finding Java and the jars).
export { findKafka, kafkaOrSkip, KAFKA_INSTALL_HINT, MIN_KAFKA_JAVA_VERSION, type KafkaInstallation } from './kafka-install.ts';
import { freePorts } from './ports.ts';
import { tempDir } from './tmp.ts';

/**
 * JVM options of the test nodes: small heaps (three JVMs share a CI machine), serial GC (no GC threads competing for 2
 * cores), C1 only (TieredStopAtLevel=1: start-up is dominated by class loading and interpretation; C2 would only pay
 * off in long runs), no hsperfdata files in /tmp, and exit instead of limping on after an OutOfMemoryError.
 */
export const KAFKA_TEST_JVM_OPTIONS: readonly string[] = [
  '-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:-UsePerfData',
  '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true',
];

/**
 * Settings only the tests change. A killed broker is fenced (and dropped from every ISR, so acks=all writes go on) after
 * broker.session.timeout.ms: 3 s instead of 9 s. Consumer groups start without the 3 s join delay. The internal topics
 * get one partition each instead of 50: a test needs no coordinator spread, and the first consumer group or
 * transaction does not wait for 50 (x3 replicas) partitions to be created and led on a 2-core machine.
 */
const TEST_OVERRIDES: Record<string, string | number | boolean> = {
  'group.initial.rebalance.delay.ms': 0,
  'broker.heartbeat.interval.ms': 500,
  'broker.session.timeout.ms': 3000,
  'offsets.topic.num.partitions': 1,
  'transaction.state.log.num.partitions': 1,
  'share.coordinator.state.topic.num.partitions': 1,
};

export interface KafkaNode {
  /** node.id (1..n). */
  readonly nodeId: number;
  /** Broker (client) port. */
  readonly port: number;
  readonly controllerPort: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly dataDir: string;
  readonly configFile: string;
  /** The JVM's stdout and stderr (log4j2 writes to stdout). */
  readonly logFile: string;
  running(): boolean;
  /** Sends a signal to the node's process group (default SIGKILL: a crash) and waits for the JVM to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the node again on the same ports and data dir; waits until it is registered and unfenced. */
  restart(): Promise<void>;
}

export interface KafkaTestCluster {
  /** Broker addresses, comma-separated: `127.0.0.1:p1,127.0.0.1:p2`. */
  readonly bootstrap: string;
  readonly nodes: KafkaNode[];
  readonly clusterId: string;
  readonly kafkaVersion: string;
  readonly dir: string;
  /** From the call to every node ready (format included). */
  readonly startupMs: number;
  /** SIGKILLs nodes[i] (an index into `nodes`, 0-based; node ids are 1-based). */
  kill(i: number): Promise<void>;
  /** Restarts nodes[i] on its ports and data dir and waits until it is ready. */
  restart(i: number): Promise<void>;
  /** Kills every node and deletes the temp dir; idempotent. */
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  /** 3 starts a cluster with replication factor 3 and min.insync.replicas 2; default 1 (everything 1). */
  nodes?: 1 | 3;
  /** How long to wait for all nodes to be ready; default 60 s. */
  readyTimeoutMs?: number;
  /** Extra server properties for every node (after the testkit's). */
  overrides?: Record<string, string | number | boolean>;
  /** Replaces KAFKA_TEST_JVM_OPTIONS. */
  jvmOptions?: readonly string[];
}

interface Launch {
  inst: KafkaInstallation;
  jvmOptions: readonly string[];
  log4jFile: string;
}

/** Ports used by Ceph daemons on the same machines (mon 3300/6789, osd/mgr 6800-7300): never handed out. */
const RESERVED_PORTS = (p: number): boolean => p === 3300 || p === 6789 || (p >= 6800 && p <= 7300);

class Node extends JvmProcess implements KafkaNode {
  readonly address: string;

  constructor(
    launch: Launch,
    readonly nodeId: number,
    readonly port: number,
    readonly controllerPort: number,
    readonly dataDir: string,
    readonly configFile: string,
    logFile: string,
  ) {
    super(launch.inst.java, [...launch.jvmOptions, `-Dlog4j2.configurationFile=${launch.log4jFile}`, '-cp', path.join(launch.inst.classpathDir, '*'), 'kafka.Kafka', configFile], logFile);
    this.address = `127.0.0.1:${port}`;
  }

  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    this.spawn();
    await this.waitReady(Date.now() + 60_000);
  }

  /**
   * Ready: the JVM logged "Kafka Server started" (in KRaft a broker logs it only after the controller quorum has
   * registered and unfenced it, so once every node logged it the cluster's metadata has all brokers) and its client
   * port accepts connections. No Kafka client is used: @platformatic/kafka 2.x needs Node 22 (Promise.withResolvers).
   */
  async waitReady(deadline: number): Promise<void> {
    const since = Date.now();
    for (;;) {
      if (!this.running()) throw new Error(`Kafka node ${this.nodeId} ${this.notRunningReason('exited during start-up')}:\n${this.tail()}`);
      if (this.logSinceStart().includes('Kafka Server started') && await accepts(this.port)) return;
      if (Date.now() > deadline) throw new Error(`Kafka node ${this.nodeId} not ready ${Date.now() - since} ms after its start:\n${this.tail()}`);
      await sleep(100);
    }
  }

}

/** Whether 127.0.0.1:<port> accepts a TCP connection. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port, timeout: 1000 });
    const done = (ok: boolean): void => { sock.destroy(); resolve(ok); };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.once('timeout', () => done(false));
  });
}

/** Distinct free loopback ports outside the ports Ceph uses. */
async function freeKafkaPorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ports = await freePorts(count);
    if (!ports.some(RESERVED_PORTS)) return ports;
  }
  throw new Error('no free ports outside the Ceph range found');
}

/** `kafka-storage.sh format`: writes meta.properties (cluster id, node id) and the bootstrap metadata into the data dir. */
function formatStorage(inst: KafkaInstallation, clusterId: string, configFile: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(inst.java, [...KAFKA_TEST_JVM_OPTIONS, '-cp', path.join(inst.classpathDir, '*'), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configFile],
      { timeout: timeoutMs, encoding: 'utf8' },
      (err, stdout, stderr) => err ? reject(new Error(`Kafka StorageTool format failed for ${configFile}: ${err.message}\n${stdout}${stderr}`)) : resolve());
  });
}

/**
 * A random Kafka cluster id: 16 random bytes, base64url without padding (what `kafka-storage.sh random-uuid` prints).
 * Never one starting with `-`, which the StorageTool's argument parser takes for an option (`-t -x...`: "expected one
 * argument"; 1 start in 64 failed so); Kafka's own Uuid.randomUuid() skips those too.
 */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Starts Kafka (one node or a 3-node cluster, combined broker+controller) in a fresh temp dir; resolves when all are ready. */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaTestCluster> {
  const t0 = Date.now();
  const inst = findKafka();
  const count = opts.nodes ?? 1;
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const tmp = tempDir('dw-kafka-');
  removeAtExit(tmp.dir);
  const log4jFile = path.join(tmp.dir, 'log4j2.properties');
  writeFileSync(log4jFile, kafkaLog4j2Properties());
  const launch: Launch = { inst, jvmOptions: opts.jvmOptions ?? KAFKA_TEST_JVM_OPTIONS, log4jFile };
  const clusterId = randomClusterId();
  let nodes: Node[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    tmp.cleanup();
    keepAtExit(tmp.dir);
  };
  try {
    for (let attempt = 1; ; attempt++) {
      nodes = await createNodes(launch, tmp.dir, count, clusterId, opts.overrides ?? {}, timeoutMs);
      for (const n of nodes) n.spawn();
      try {
        await Promise.all(nodes.map((n) => n.waitReady(t0 + timeoutMs)));
        break;
      } catch (e) {
        await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
        // Another process took one of the free ports between freePorts() and the JVM's bind: start over on new ones.
        const portTaken = nodes.some((n) => n.tail(200).includes('Address already in use'));
        if (!portTaken || attempt >= 3) throw e;
        for (const n of nodes) rmSync(path.dirname(n.configFile), { recursive: true, force: true });
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const at = (i: number): Node => {
    const n = nodes[i];
    if (!n) throw new Error(`no Kafka node at index ${i} (the cluster has ${nodes.length}; indexes are 0-based)`);
    return n;
  };
  return {
    bootstrap: nodes.map((n) => n.address).join(','),
    nodes,
    clusterId,
    kafkaVersion: inst.kafkaVersion,
    dir: tmp.dir,
    startupMs: Date.now() - t0,
    kill: (i) => at(i).kill('SIGKILL'),
    restart: (i) => at(i).restart(),
    stop,
  };
}

/** Picks ports, writes each node's properties and formats its storage (in parallel: each format run is a JVM start). */
async function createNodes(launch: Launch, dir: string, count: number, clusterId: string, overrides: Record<string, string | number | boolean>, timeoutMs: number): Promise<Node[]> {
  const ports = await freeKafkaPorts(count * 2);
  const voters = Array.from({ length: count }, (_, i) => ({ nodeId: i + 1, host: '127.0.0.1', brokerPort: ports[2 * i]!, controllerPort: ports[2 * i + 1]! }));
  const nodes = voters.map((v) => {
    const nodeDir = path.join(dir, `node-${v.nodeId}`);
    mkdirSync(nodeDir, { recursive: true });
    const dataDir = path.join(nodeDir, 'data');
    const configFile = path.join(nodeDir, 'server.properties');
    writeFileSync(configFile, kafkaServerProperties({
      nodeId: v.nodeId,
      host: v.host,
      brokerPort: v.brokerPort,
      controllerPort: v.controllerPort,
      voters,
      logDirs: [dataDir],
      replicationFactor: count === 3 ? 3 : 1,
      minInsyncReplicas: count === 3 ? 2 : 1,
      overrides: { ...TEST_OVERRIDES, ...overrides },
    }));
    return new Node(launch, v.nodeId, v.brokerPort, v.controllerPort, dataDir, configFile, path.join(nodeDir, 'kafka.log'));
  });
  await Promise.all(nodes.map((n) => formatStorage(launch.inst, clusterId, n.configFile, timeoutMs)));
  return nodes;
}
