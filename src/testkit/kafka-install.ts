/**
 * Where the Kafka broker for tests comes from: the jars of deploy/kafka/classpath (Maven Central, put in place by
 * .ci/install-kafka.sh) and a Java >= 17. The processes themselves are kafka.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Kafka 4 brokers and tools refuse to run on older Java. */
export const MIN_KAFKA_JAVA_VERSION = 17;

export const KAFKA_INSTALL_HINT =
  'run .ci/install-kafka.sh, which runs mvn dependency:copy-dependencies in deploy/kafka/classpath (needs Maven and ' +
  `Java >= ${MIN_KAFKA_JAVA_VERSION}; the jars land in deploy/kafka/classpath/target/dependency), or point KAFKA_CLASSPATH ` +
  'at a folder holding the Kafka 4.x jars, and JAVA_HOME at a Java >= 17.';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEFAULT_CLASSPATH = path.join(REPO_ROOT, 'deploy/kafka/classpath/target/dependency');

export interface KafkaInstallation {
  java: string;
  javaVersion: number;
  /** Folder of the broker's jars (`java -cp '<folder>/*'`). */
  classpathDir: string;
  kafkaVersion: string;
}

/** Locates the Kafka jars (KAFKA_CLASSPATH, else deploy/kafka/classpath/target/dependency) and Java >= 17 (JAVA_HOME, else PATH). */
export function findKafka(): KafkaInstallation {
  const classpathDir = process.env.KAFKA_CLASSPATH || DEFAULT_CLASSPATH;
  if (!existsSync(classpathDir)) throw new Error(`no Kafka jars: ${classpathDir} does not exist; ${KAFKA_INSTALL_HINT}`);
  const kafkaJar = readdirSync(classpathDir).map((f) => /^kafka_2\.1[23]-(\d+\.\d+\.\d+)\.jar$/.exec(f)).find((m) => m !== null);
  if (!kafkaJar) throw new Error(`no kafka_2.13-<version>.jar in ${classpathDir}; ${KAFKA_INSTALL_HINT}`);
  const kafkaVersion = kafkaJar[1]!;
  if (Number(kafkaVersion.split('.')[0]) < 4) throw new Error(`${classpathDir} holds Kafka ${kafkaVersion}; the testkit needs 4.x (KRaft only); ${KAFKA_INSTALL_HINT}`);

  let java: string | undefined;
  if (process.env.JAVA_HOME) {
    java = path.join(process.env.JAVA_HOME, 'bin', 'java');
    if (!existsSync(java)) throw new Error(`JAVA_HOME=${process.env.JAVA_HOME} has no bin/java; ${KAFKA_INSTALL_HINT}`);
  } else {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      if (dir && existsSync(path.join(dir, 'java'))) { java = path.join(dir, 'java'); break; }
    }
  }
  if (!java) throw new Error(`java not found (JAVA_HOME unset, none on PATH); ${KAFKA_INSTALL_HINT}`);
  const res = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  // `java -version` writes to stderr: 'openjdk version "17.0.15" ...' (Java 8 said "1.8.0_...").
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${res.stderr ?? ''}${res.stdout ?? ''}`);
  if (!m) throw new Error(`cannot read the version of ${java} (${res.error?.message ?? res.stderr}); ${KAFKA_INSTALL_HINT}`);
  const javaVersion = m[1] === '1' ? Number(m[2]) : Number(m[1]);
  if (javaVersion < MIN_KAFKA_JAVA_VERSION) throw new Error(`${java} is Java ${javaVersion}; Kafka 4 needs ${MIN_KAFKA_JAVA_VERSION} or later; ${KAFKA_INSTALL_HINT}`);
  return { java, javaVersion, classpathDir, kafkaVersion };
}

/**
 * For tests: undefined when Kafka can be started, else a skip message with the install hint.
 * With CI=true a missing installation throws instead: CI must not pass by skipping.
 */
export function kafkaOrSkip(): string | undefined {
  try {
    findKafka();
    return undefined;
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    return (e as Error).message;
  }
}
