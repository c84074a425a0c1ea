/**
 * A real HDFS for tests: one NameNode and three DataNodes (replication 3), each its own JVM, started from the Maven
 * Central jars of deploy/hdfs/classpath on free loopback ports in a temp folder, WebHDFS on. DataNodes can be killed
 * with SIGKILL and restarted on the same ports and data (crash tests). deploy/hdfs/README.md has the measured start
 * time and memory: one cluster per test file, not per test.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hadoopSiteXml, hdfsCoreSite, hdfsLog4jProperties, hdfsSite, type HadoopProperties, type HdfsTestPorts } from './hdfs-config.ts';
import { findHdfs, type HdfsInstallation } from './hdfs-install.ts';
import { JvmProcess, keepAtExit, removeAtExit } from './jvm-process.ts';
import { freePorts } from './ports.ts';
import { tempDir } from './tmp.ts';

export { findHdfs, hdfsOrSkip, HDFS_INSTALL_HINT, MIN_HDFS_JAVA_VERSION, type HdfsInstallation } from './hdfs-install.ts';
export { hadoopSiteXml, hdfsCoreSite, hdfsLog4jProperties, hdfsSite, type HadoopProperties, type HdfsTestPorts } from './hdfs-config.ts';

/**
 * Small heaps (four JVMs share a CI machine), serial GC (no GC threads competing for 2 cores), C1 only (start-up is
 * class loading and interpretation), no hsperfdata files, exit on OutOfMemoryError rather than limp on.
 */
export const HDFS_TEST_JVM_OPTIONS: readonly string[] = [
  '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:-UsePerfData', '-XX:+ExitOnOutOfMemoryError',
  '-Djava.net.preferIPv4Stack=true', '-Djava.awt.headless=true',
];
const NAMENODE_HEAP = ['-Xms128m', '-Xmx384m'];
const DATANODE_HEAP = ['-Xms64m', '-Xmx256m'];

const NAMENODE_CLASS = 'org.apache.hadoop.hdfs.server.namenode.NameNode';
const DATANODE_CLASS = 'org.apache.hadoop.hdfs.server.datanode.DataNode';

export interface HdfsDaemon {
  readonly name: string;
  /** The JVM's stdout and stderr. */
  readonly logFile: string;
  running(): boolean;
  pid(): number | undefined;
  /** Sends a signal to the daemon's process group (default SIGKILL: a crash) and waits for the JVM to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** The last lines of its log. */
  tail(lines?: number): string;
}

export interface HdfsTimings {
  /** `NameNode -format` (a JVM of its own). */
  formatMs: number;
  /** From the call to the NameNode answering WebHDFS. */
  nameNodeMs: number;
  /** ...to every DataNode live and safe mode off: the cluster takes writes. */
  readyMs: number;
}

export interface HdfsTestCluster {
  /** `http://127.0.0.1:<port>`: the NameNode's HTTP address (WebHDFS under /webhdfs/v1). */
  readonly httpAddress: string;
  readonly httpPort: number;
  /** `hdfs://127.0.0.1:<rpc port>` */
  readonly fsUri: string;
  /** The user the daemons run as: HDFS's superuser. */
  readonly superuser: string;
  /** The user `lake()` directories belong to, and what `env` sets HADOOP_USER_NAME to: not a superuser. */
  readonly user: string;
  /** Environment for a process reaching the lake as `user` (HADOOP_USER_NAME). */
  readonly env: Record<string, string>;
  readonly nameNode: HdfsDaemon;
  readonly dataNodes: HdfsDaemon[];
  readonly hadoopVersion: string;
  readonly dir: string;
  readonly timings: HdfsTimings;
  /** Makes `/<name>` (a fresh one when omitted) owned by `user` and returns its `webhdfs://` location. */
  lake(name?: string): Promise<string>;
  /** SIGKILLs DataNode i (0-based). */
  killDataNode(i: number): Promise<void>;
  /** Starts DataNode i again on its ports and data, and waits until the NameNode counts it live. */
  restartDataNode(i: number): Promise<void>;
  /** DataNodes the NameNode counts as live (it counts a killed one dead only after 14 s). */
  liveDataNodes(): Promise<number>;
  /** Resident memory of every daemon, in bytes (from /proc). */
  memory(): Record<string, number>;
  /** Kills every daemon and deletes the temp dir; idempotent. */
  stop(): Promise<void>;
}

export interface StartHdfsOptions {
  /** DataNodes; default 3 (replication = min(3, dataNodes)). */
  dataNodes?: number;
  /** The whole start must finish within this; default 120 s (four JVMs on a loaded 2-core machine). */
  readyTimeoutMs?: number;
  /** Extra hdfs-site.xml settings for every daemon. */
  overrides?: HadoopProperties;
  /** Owner of `lake()` directories; default `dronewatch`. */
  user?: string;
}

class Daemon extends JvmProcess implements HdfsDaemon {
  constructor(inst: HdfsInstallation, readonly name: string, mainClass: string, confDir: string, heap: readonly string[], logFile: string) {
    super(inst.java, [...HDFS_TEST_JVM_OPTIONS, ...heap, `-Dlog4j.configuration=file:${path.join(confDir, 'log4j.properties')}`,
      `-Dhadoop.log.dir=${path.dirname(logFile)}`, '-cp', `${confDir}${path.delimiter}${path.join(inst.classpathDir, '*')}`, mainClass], logFile);
  }

  failure(): Error | undefined {
    if (this.running()) return undefined;
    return new Error(`HDFS ${this.name} ${this.notRunningReason('exited')}:\n${this.tail()}`);
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function format(inst: HdfsInstallation, confDir: string, logFile: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(inst.java, [...HDFS_TEST_JVM_OPTIONS, ...NAMENODE_HEAP, `-Dlog4j.configuration=file:${path.join(confDir, 'log4j.properties')}`,
      '-cp', `${confDir}${path.delimiter}${path.join(inst.classpathDir, '*')}`, NAMENODE_CLASS, '-format', '-force', '-nonInteractive'],
    { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
    (err, stdout, stderr) => {
      writeFileSync(logFile, `${stdout}${stderr}`);
      if (err) reject(new Error(`HDFS NameNode -format failed: ${err.message}\n${`${stdout}${stderr}`.split('\n').slice(-30).join('\n')}`));
      else resolve();
    });
  });
}

/** Writes one daemon's configuration folder: site files, logging, and the empty web-app folders its HTTP server requires. */
function writeConf(dir: string, core: HadoopProperties, site: HadoopProperties): string {
  const conf = path.join(dir, 'conf');
  // HttpServer2 refuses to start without `webapps/<name>` on the classpath; the Maven jars do not ship them (the
  // distribution's share/ folder does). WebHDFS itself is a servlet registered in code: empty folders suffice.
  for (const app of ['hdfs', 'datanode', 'secondary', 'static']) mkdirSync(path.join(conf, 'webapps', app), { recursive: true });
  writeFileSync(path.join(conf, 'core-site.xml'), hadoopSiteXml(core));
  writeFileSync(path.join(conf, 'hdfs-site.xml'), hadoopSiteXml(site));
  writeFileSync(path.join(conf, 'log4j.properties'), hdfsLog4jProperties());
  return conf;
}

/** Starts an HDFS cluster in a fresh temp dir; resolves when every DataNode is live and the NameNode takes writes. */
export async function startHdfs(opts: StartHdfsOptions = {}): Promise<HdfsTestCluster> {
  const t0 = Date.now();
  const inst = findHdfs();
  const count = opts.dataNodes ?? 3;
  const deadline = t0 + (opts.readyTimeoutMs ?? 120_000);
  const user = opts.user ?? 'dronewatch';
  const superuser = os.userInfo().username;
  const tmp = tempDir('dw-hdfs-');
  removeAtExit(tmp.dir);
  const all: Daemon[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(all.map((d) => d.kill('SIGKILL')));
    tmp.cleanup();
    keepAtExit(tmp.dir);
  };
  try {
    const p = await freePorts(2 + 3 * count);
    const ports: HdfsTestPorts = { rpc: p[0]!, http: p[1]!, dataNodes: Array.from({ length: count }, (_, i) => ({ xfer: p[2 + 3 * i]!, http: p[3 + 3 * i]!, ipc: p[4 + 3 * i]! })) };
    const nameDir = path.join(tmp.dir, 'namenode', 'name');
    const replication = Math.min(3, count);
    const core = hdfsCoreSite({ rpcPort: ports.rpc, tmpDir: path.join(tmp.dir, 'hadoop-tmp') });
    const nnDir = path.join(tmp.dir, 'namenode');
    mkdirSync(nnDir, { recursive: true });
    const nnConf = writeConf(nnDir, core, hdfsSite({ ports, nameDir, replication, ...(opts.overrides ? { overrides: opts.overrides } : {}) }));
    const nameNode = new Daemon(inst, 'NameNode', NAMENODE_CLASS, nnConf, NAMENODE_HEAP, path.join(nnDir, 'namenode.log'));
    all.push(nameNode);
    const dataNodes = Array.from({ length: count }, (_, i) => {
      const dir = path.join(tmp.dir, `datanode-${i + 1}`);
      mkdirSync(path.join(dir, 'data'), { recursive: true });
      const conf = writeConf(dir, core, hdfsSite({ ports, nameDir, replication, dataNode: { index: i, dataDir: path.join(dir, 'data') }, ...(opts.overrides ? { overrides: opts.overrides } : {}) }));
      const d = new Daemon(inst, `DataNode ${i + 1}`, DATANODE_CLASS, conf, DATANODE_HEAP, path.join(dir, 'datanode.log'));
      all.push(d);
      return d;
    });

    await format(inst, nnConf, path.join(nnDir, 'format.log'), Math.max(1000, deadline - Date.now()));
    const formatMs = Date.now() - t0;
    // All at once: a DataNode retries its NameNode connection every second, and on 2 cores the JVMs' class loading overlaps.
    for (const d of all) d.spawn();
    const httpAddress = `http://127.0.0.1:${ports.http}`;
    const alive = (): void => {
      const failed = all.map((d) => d.failure()).find((e) => e !== undefined);
      if (failed) throw failed;
    };
    await waitFor('the NameNode to answer WebHDFS', deadline, alive, async () => (await httpJson(`${httpAddress}/webhdfs/v1/?op=GETFILESTATUS&user.name=${superuser}`)) !== undefined, nameNode);
    const nameNodeMs = Date.now() - t0;
    const state = async (): Promise<{ live: number; safemode: boolean } | undefined> => {
      const info = await httpJson(`${httpAddress}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo`) as { beans?: { LiveNodes?: string; Safemode?: string }[] } | undefined;
      const bean = info?.beans?.[0];
      if (!bean || typeof bean.LiveNodes !== 'string') return undefined;
      return { live: Object.keys(JSON.parse(bean.LiveNodes) as object).length, safemode: (bean.Safemode ?? '') !== '' };
    };
    await waitFor(`${count} DataNodes to register`, deadline, alive, async () => {
      const s = await state();
      return s !== undefined && s.live === count && !s.safemode;
    }, nameNode);
    const readyMs = Date.now() - t0;

    let lakes = 0;
    const nn = async (method: string, p: string, op: string, params: Record<string, string> = {}): Promise<void> => {
      const q = new URLSearchParams({ op, 'user.name': superuser, ...params });
      const res = await fetch(`${httpAddress}/webhdfs/v1${p}?${q.toString()}`, { method });
      if (!res.ok) throw new Error(`HDFS ${op} ${p} failed: HTTP ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    const liveDataNodes = async (): Promise<number> => (await state())?.live ?? 0;
    const at = (i: number): Daemon => {
      const d = dataNodes[i];
      if (!d) throw new Error(`no DataNode at index ${i} (the cluster has ${dataNodes.length}; indexes are 0-based)`);
      return d;
    };
    return {
      httpAddress,
      httpPort: ports.http,
      fsUri: `hdfs://127.0.0.1:${ports.rpc}`,
      superuser,
      user,
      env: { HADOOP_USER_NAME: user },
      nameNode,
      dataNodes,
      hadoopVersion: inst.hadoopVersion,
      dir: tmp.dir,
      timings: { formatMs, nameNodeMs, readyMs },
      async lake(name) {
        const dir = `/${name ?? `lake-${++lakes}-${Date.now().toString(36)}`}`;
        await nn('PUT', dir, 'MKDIRS');
        await nn('PUT', dir, 'SETOWNER', { owner: user });
        return `webhdfs://127.0.0.1:${ports.http}${dir}`;
      },
      killDataNode: (i) => at(i).kill('SIGKILL'),
      async restartDataNode(i) {
        const d = at(i);
        await d.kill('SIGKILL');
        d.spawn();
        // The NameNode may still count the old process live (it is dead only after 14 s) under the same DataNode id:
        // the new process's own log says when it has registered and reported its blocks.
        await waitFor(`DataNode ${i + 1} to register again`, Date.now() + 90_000, () => { const e = d.failure(); if (e) throw e; },
          async () => /Successfully sent block report/.test(d.logSinceStart()) && (await liveDataNodes()) === count, d);
      },
      liveDataNodes,
      memory: () => Object.fromEntries(all.map((d) => [d.name, d.pid() === undefined ? 0 : rssBytes(d.pid()!)])),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function httpJson(url: string): Promise<unknown> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    return await res.json();
  } catch {
    return undefined;
  }
}

async function waitFor(what: string, deadline: number, check: () => void, ok: () => Promise<boolean>, daemon: Daemon): Promise<void> {
  for (;;) {
    check();
    if (await ok()) return;
    if (Date.now() > deadline) throw new Error(`HDFS: timed out waiting for ${what}; ${daemon.name} log:\n${daemon.tail()}`);
    await sleep(200);
  }
}
