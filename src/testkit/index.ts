export { tempDir } from './tmp.ts';
export { spawnTsx, waitUntil, killChild, type Child } from './child.ts';
export { freePorts } from './ports.ts';
export { startCeph, cephOrSkip, missingCephBinaries, CEPH_INSTALL_HINT, type CephCluster, type CephOptions, type CephTimings } from './ceph.ts';
export type { OsdStore } from './ceph-conf.ts';
export {
  startNatsServer, natsServerOrSkip, findNatsServer, natsServerConfig, NATS_INSTALL_HINT,
  type NatsTestServer, type NatsNode, type StartNatsOptions, type NatsNodeConfig,
} from './nats-server.ts';
export { CHROMIUM_ARGS, CHROMIUM_INSTALL_HINT, CHROMIUM_PATH, chromiumOrSkip, launchChromium } from './browser.ts';
export {
  startKafka, kafkaOrSkip, findKafka, KAFKA_INSTALL_HINT, KAFKA_TEST_JVM_OPTIONS, MIN_KAFKA_JAVA_VERSION,
  type KafkaTestCluster, type KafkaNode, type StartKafkaOptions, type KafkaInstallation,
} from './kafka.ts';
export { kafkaServerProperties, kafkaLog4j2Properties, kafkaProductionNode, type KafkaNodeConfig, type KafkaVoter } from './kafka-config.ts';
export {
  startHdfs, hdfsOrSkip, findHdfs, HDFS_INSTALL_HINT, HDFS_TEST_JVM_OPTIONS, MIN_HDFS_JAVA_VERSION, hadoopSiteXml, hdfsSite, hdfsCoreSite,
  hdfsLog4jProperties, type HdfsTestCluster, type HdfsDaemon, type HdfsTimings, type StartHdfsOptions, type HdfsInstallation,
  type HadoopProperties, type HdfsTestPorts,
} from './hdfs.ts';
export {
  findSpark, sparkOrSkip, runSparkStats, sparkStatsArgs, parseCsv, readSparkCsv, SPARK_JOB, SPARK_INSTALL_HINT, MIN_SPARK_JAVA_VERSION,
  type SparkInstallation, type SparkStatsOptions, type SparkStatsRun,
} from './spark.ts';
