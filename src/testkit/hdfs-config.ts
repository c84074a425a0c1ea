/**
 * The configuration files of the test HDFS (hdfs.ts): one folder per daemon holding `core-site.xml`,
 * `hdfs-site.xml` and `log4j.properties`, put first on the daemon's classpath, where Hadoop looks for them.
 * deploy/hdfs/README.md explains the settings a production cluster needs for dronewatch.
 */

export type HadoopProperties = Record<string, string | number | boolean>;

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Hadoop `*-site.xml`. */
export function hadoopSiteXml(props: HadoopProperties): string {
  const lines = Object.entries(props).map(([k, v]) => `  <property><name>${escapeXml(k)}</name><value>${escapeXml(String(v))}</value></property>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n${lines.join('\n')}\n</configuration>\n`;
}

/** Hadoop 3.5 logs through SLF4J to reload4j (log4j 1.2 API): INFO to stdout (the daemon's log file), chatty classes at WARN. */
export function hdfsLog4jProperties(): string {
  return [
    'log4j.rootLogger=INFO,console',
    'log4j.appender.console=org.apache.log4j.ConsoleAppender',
    'log4j.appender.console.target=System.out',
    'log4j.appender.console.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n',
    // One line per block received, per client trace and per audit event would flood the logs.
    'log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace=WARN',
    'log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN',
    'log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN',
    'log4j.logger.BlockStateChange=WARN',
    'log4j.logger.org.apache.hadoop.hdfs.server.datanode.fsdataset.impl.FsDatasetImpl=WARN',
    'log4j.logger.org.apache.hadoop.security.ShellBasedUnixGroupsMapping=ERROR',
    'log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR',
    '',
  ].join('\n');
}

export interface HdfsTestPorts {
  rpc: number;
  http: number;
  /** Per DataNode: data transfer, HTTP (WebHDFS), IPC. */
  dataNodes: { xfer: number; http: number; ipc: number }[];
}

/** Settings of every daemon of the test cluster (core-site.xml). */
export function hdfsCoreSite(o: { rpcPort: number; tmpDir: string }): HadoopProperties {
  return {
    'fs.defaultFS': `hdfs://127.0.0.1:${o.rpcPort}`,
    'hadoop.tmp.dir': o.tmpDir,
  };
}

/**
 * hdfs-site.xml of the test cluster. Everything listens on 127.0.0.1 and the DataNodes register as `127.0.0.1`
 * (`dfs.datanode.hostname`), so the DataNode addresses the NameNode hands to WebHDFS clients are reachable from the
 * test process. The timing settings make a killed DataNode count as stale after 3 s (the NameNode then stops
 * choosing it for reads and writes) and dead after 14 s, instead of 30 s and 10.5 minutes.
 */
export function hdfsSite(o: {
  ports: HdfsTestPorts;
  nameDir: string;
  /** The DataNode this file is for (its ports and data directory), or undefined for the NameNode's. */
  dataNode?: { index: number; dataDir: string };
  replication: number;
  overrides?: HadoopProperties;
}): HadoopProperties {
  const dn = o.dataNode ? o.ports.dataNodes[o.dataNode.index]! : undefined;
  return {
    'dfs.replication': o.replication,
    'dfs.namenode.rpc-address': `127.0.0.1:${o.ports.rpc}`,
    'dfs.namenode.http-address': `127.0.0.1:${o.ports.http}`,
    'dfs.namenode.name.dir': `file://${o.nameDir}`,
    'dfs.webhdfs.enabled': true,
    'dfs.permissions.enabled': true,
    // The NameNode would reverse-resolve each DataNode's address and compare it with the registered host name.
    'dfs.namenode.datanode.registration.ip-hostname-check': false,
    'dfs.namenode.safemode.extension': 0,
    'dfs.namenode.safemode.min.datanodes': 0,
    'dfs.heartbeat.interval': 1,
    'dfs.namenode.heartbeat.recheck-interval': 2000,
    'dfs.namenode.stale.datanode.interval': 3000,
    'dfs.namenode.avoid.read.stale.datanode': true,
    'dfs.namenode.avoid.write.stale.datanode': true,
    'dfs.namenode.redundancy.interval.seconds': 1,
    // Durable when a put returns: each replica's block file is fsynced when the block is closed.
    'dfs.datanode.synconclose': true,
    'dfs.namenode.handler.count': 10,
    ...(dn && o.dataNode ? {
      'dfs.datanode.data.dir': `file://${o.dataNode.dataDir}`,
      'dfs.datanode.address': `127.0.0.1:${dn.xfer}`,
      'dfs.datanode.http.address': `127.0.0.1:${dn.http}`,
      'dfs.datanode.ipc.address': `127.0.0.1:${dn.ipc}`,
      'dfs.datanode.hostname': '127.0.0.1',
      'dfs.datanode.handler.count': 3,
      'dfs.datanode.du.reserved': 0,
    } : {}),
    ...o.overrides,
  };
}
