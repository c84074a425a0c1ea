/**
 * Where the HDFS daemons for tests come from: the jars of deploy/hdfs/classpath (Maven Central, put in place by
 * .ci/install-hdfs.sh) and a Java >= 17. The processes themselves are hdfs.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Hadoop 3.5's classes are Java 17 class files. */
export const MIN_HDFS_JAVA_VERSION = 17;

export const HDFS_INSTALL_HINT =
  'run .ci/install-hdfs.sh, which runs mvn dependency:copy-dependencies in deploy/hdfs/classpath (needs Maven and ' +
  `Java >= ${MIN_HDFS_JAVA_VERSION}; the jars land in deploy/hdfs/classpath/target/dependency), or point HDFS_CLASSPATH ` +
  'at a folder holding the Hadoop 3.x HDFS jars (hadoop-hdfs, hadoop-hdfs-client, hadoop-common and their dependencies), and JAVA_HOME at a Java >= 17.';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEFAULT_CLASSPATH = path.join(REPO_ROOT, 'deploy/hdfs/classpath/target/dependency');

export interface HdfsInstallation {
  java: string;
  javaVersion: number;
  /** Folder of the daemons' jars (`java -cp '<conf>:<folder>/*'`). */
  classpathDir: string;
  hadoopVersion: string;
}

function findJava(): string {
  if (process.env.JAVA_HOME) {
    const java = path.join(process.env.JAVA_HOME, 'bin', 'java');
    if (!existsSync(java)) throw new Error(`JAVA_HOME=${process.env.JAVA_HOME} has no bin/java; ${HDFS_INSTALL_HINT}`);
    return java;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'java'))) return path.join(dir, 'java');
  }
  throw new Error(`java not found (JAVA_HOME unset, none on PATH); ${HDFS_INSTALL_HINT}`);
}

/** Locates the HDFS jars (HDFS_CLASSPATH, else deploy/hdfs/classpath/target/dependency) and Java >= 17 (JAVA_HOME, else PATH). */
export function findHdfs(): HdfsInstallation {
  const classpathDir = process.env.HDFS_CLASSPATH || DEFAULT_CLASSPATH;
  if (!existsSync(classpathDir)) throw new Error(`no HDFS jars: ${classpathDir} does not exist; ${HDFS_INSTALL_HINT}`);
  const files = readdirSync(classpathDir);
  const hdfsJar = files.map((f) => /^hadoop-hdfs-(\d+\.\d+\.\d+)\.jar$/.exec(f)).find((m) => m !== null);
  if (!hdfsJar) throw new Error(`no hadoop-hdfs-<version>.jar in ${classpathDir}; ${HDFS_INSTALL_HINT}`);
  const hadoopVersion = hdfsJar[1]!;
  if (Number(hadoopVersion.split('.')[0]) < 3) throw new Error(`${classpathDir} holds Hadoop ${hadoopVersion}; the testkit needs 3.x; ${HDFS_INSTALL_HINT}`);
  for (const needed of ['hadoop-common', 'hadoop-hdfs-client']) {
    if (!files.includes(`${needed}-${hadoopVersion}.jar`)) throw new Error(`no ${needed}-${hadoopVersion}.jar in ${classpathDir}; ${HDFS_INSTALL_HINT}`);
  }
  const java = findJava();
  const res = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${res.stderr ?? ''}${res.stdout ?? ''}`);
  if (!m) throw new Error(`cannot read the version of ${java} (${res.error?.message ?? res.stderr}); ${HDFS_INSTALL_HINT}`);
  const javaVersion = m[1] === '1' ? Number(m[2]) : Number(m[1]);
  if (javaVersion < MIN_HDFS_JAVA_VERSION) throw new Error(`${java} is Java ${javaVersion}; Hadoop ${hadoopVersion} needs ${MIN_HDFS_JAVA_VERSION} or later; ${HDFS_INSTALL_HINT}`);
  return { java, javaVersion, classpathDir, hadoopVersion };
}

/**
 * For `describe(name, { skip: hdfsOrSkip() }, ...)`: false when HDFS can be started, else a skip message with the
 * install hint. With CI=true a missing installation throws instead: CI must not pass by skipping.
 */
export function hdfsOrSkip(): string | false {
  try {
    findHdfs();
    return false;
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    return (e as Error).message;
  }
}
