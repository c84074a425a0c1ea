import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Spark for the tests and the `dronewatch spark` command: the PySpark job deploy/spark/lake_stats.py, run by the Python
 * of the virtual environment .ci/install-spark.sh creates (deploy/spark/.venv, pyspark bundling Spark's jars), on the
 * machine's Java (17 or later). `DRONEWATCH_SPARK_PYTHON` names another Python with pyspark installed.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SPARK_JOB = path.join(ROOT, 'deploy', 'spark', 'lake_stats.py');
export const SPARK_INSTALL_HINT = '.ci/install-spark.sh (a venv in deploy/spark/.venv with pyspark 4, and the s3a jars in deploy/spark/classpath/target/dependency; needs python3-venv, Maven and Java >= 17)';
/**
 * hadoop-aws and the AWS SDK modules Hadoop's s3a:// file system calls (deploy/spark/classpath/pom.xml), which the job
 * adds for an s3a:// lake; `DRONEWATCH_SPARK_S3A_JARS` names another folder (as the job reads it).
 */
export const SPARK_S3A_JARS = path.join(ROOT, 'deploy', 'spark', 'classpath', 'target', 'dependency');
export const MIN_SPARK_JAVA_VERSION = 17;

export interface SparkInstallation {
  python: string;
  javaMajor: number;
}

/** The major version of the machine's Java (`java -version` prints it on stderr), or undefined without one. */
function javaVersion(env: NodeJS.ProcessEnv): number | undefined {
  const java = env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : 'java';
  const r = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 20_000, env });
  const m = /version "(?:1\.)?(\d+)/.exec(`${r.stderr ?? ''}${r.stdout ?? ''}`);
  return m ? Number(m[1]) : undefined;
}

/** What is missing for Spark, or the installation found. */
export function findSpark(env: NodeJS.ProcessEnv = process.env): SparkInstallation | { missing: string } {
  const python = env.DRONEWATCH_SPARK_PYTHON ?? path.join(ROOT, 'deploy', 'spark', '.venv', 'bin', 'python');
  if (!existsSync(python)) return { missing: `no Python with pyspark at ${python}` };
  try {
    execFileSync(python, ['-c', 'import pyspark'], { stdio: 'ignore', timeout: 60_000 });
  } catch {
    return { missing: `${python} cannot import pyspark` };
  }
  const major = javaVersion(env);
  if (major === undefined) return { missing: 'no java on PATH (or JAVA_HOME)' };
  if (major < MIN_SPARK_JAVA_VERSION) return { missing: `Java ${major} (Spark 4 needs ${MIN_SPARK_JAVA_VERSION} or later; set JAVA_HOME)` };
  return { python, javaMajor: major };
}

/**
 * For `describe(name, { skip: sparkOrSkip() }, ...)`: false when Spark can run, else a skip message with the install
 * command. With CI=true a missing Spark is an error: CI must run the Spark suites, not silently skip them.
 */
export function sparkOrSkip(env: NodeJS.ProcessEnv = process.env): string | false {
  const found = findSpark(env);
  if (!('missing' in found)) return false;
  const message = `Spark not available (${found.missing}); install it with: ${SPARK_INSTALL_HINT}`;
  if (env.CI === 'true') throw new Error(`${message} (CI=true: the Spark suites must run)`);
  return message;
}

/** As sparkOrSkip, and the s3a jars must be there too (a lake on S3 through s3a://). */
export function sparkS3aOrSkip(env: NodeJS.ProcessEnv = process.env): string | false {
  const skip = sparkOrSkip(env);
  if (skip) return skip;
  const dir = env.DRONEWATCH_SPARK_S3A_JARS ?? SPARK_S3A_JARS;
  if (existsSync(dir) && readdirSync(dir).some((f) => /^hadoop-aws-.*\.jar$/.test(f))) return false;
  const message = `Spark's s3a jars not available (no hadoop-aws jar in ${dir}); install them with: ${SPARK_INSTALL_HINT}`;
  if (env.CI === 'true') throw new Error(`${message} (CI=true: the Spark suites must run)`);
  return message;
}

export interface SparkStatsRun {
  /** Statistic name (deploy/spark/stats/<stat>.sql). */
  stat: string;
  /** Output name under `out` (default the statistic's). */
  name?: string;
  from?: string;
  to?: string;
  tz?: string;
  cell?: number;
  minutes?: number;
  limit?: number;
}

export interface SparkStatsOptions {
  /** Lake location as Hadoop knows it: a directory, hdfs://, webhdfs://, s3a://. */
  lake: string;
  tenant?: string;
  out: string;
  format?: 'csv' | 'parquet';
  /** Statistic names (with the options below), or a plan file for several parameter sets in one Spark session. */
  stats?: readonly string[];
  plan?: string;
  from?: string;
  to?: string;
  tz?: string;
  cell?: number | string;
  minutes?: number | string;
  limit?: number | string;
  /** Also write `<out>/table-counts`: rows of every view. */
  counts?: boolean;
  /** Spark master (default local[2]). */
  master?: string;
  /** Spark settings, as spark-submit's --conf. */
  conf?: Readonly<Record<string, string>>;
  python?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** The command line of the job (the python, then its arguments). */
export function sparkStatsArgs(o: SparkStatsOptions): string[] {
  const args = [SPARK_JOB, '--lake', o.lake, '--out', o.out, '--tenant', o.tenant ?? 'default', '--format', o.format ?? 'csv', '--master', o.master ?? 'local[2]'];
  for (const k of ['from', 'to', 'tz', 'cell', 'minutes', 'limit', 'plan'] as const) {
    const v = o[k];
    if (v !== undefined) args.push(`--${k}`, String(v));
  }
  if (o.counts) args.push('--counts');
  for (const [k, v] of Object.entries(o.conf ?? {})) args.push('--conf', `${k}=${v}`);
  args.push(...(o.stats ?? []));
  return args;
}

/** Runs the job to the end; rejects with its stderr's tail when it fails. */
export function runSparkStats(o: SparkStatsOptions): Promise<{ stdout: string; stderr: string }> {
  const python = o.python ?? (() => {
    const found = findSpark(o.env);
    if ('missing' in found) throw new Error(`Spark not available (${found.missing}); install it with: ${SPARK_INSTALL_HINT}`);
    return found.python;
  })();
  return new Promise((resolve, reject) => {
    execFile(python, sparkStatsArgs(o), { timeout: o.timeoutMs ?? 300_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: { SPARK_LOCAL_IP: '127.0.0.1', ...(o.env ?? process.env), PYTHONUNBUFFERED: '1' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`spark job failed (${err.killed ? 'timed out' : `exit ${String(err.code)}`}):\n${stderr.split('\n').slice(-40).join('\n')}`));
        else resolve({ stdout, stderr });
      });
  });
}

/**
 * One RFC 4180 CSV text as rows of fields (quoted fields may hold commas, quotes and newlines). An empty unquoted field
 * is null: the job writes an empty string as `""` and a null as nothing.
 */
export function parseCsv(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  const end = (): void => { row.push(field === '' && !wasQuoted ? null : field); field = ''; wasQuoted = false; };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') { quoted = true; wasQuoted = true; } else if (ch === ',') end(); else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      end(); rows.push(row); row = [];
    } else field += ch;
  }
  if (field !== '' || wasQuoted || row.length > 0) { end(); rows.push(row); }
  return rows;
}

/** The answer Spark wrote to `<dir>` as CSV (part files, header first in each): column names and rows. */
export function readSparkCsv(dir: string): { columns: string[]; rows: (string | null)[][] } {
  const parts = readdirSync(dir).filter((f) => f.startsWith('part-') && f.endsWith('.csv')).sort();
  const rows: (string | null)[][] = [];
  let columns: string[] | undefined;
  for (const p of parts) {
    const all = parseCsv(readFileSync(path.join(dir, p), 'utf8'));
    if (all.length === 0) continue;
    columns ??= all[0]!.map((c) => c ?? '');
    rows.push(...all.slice(1));
  }
  return { columns: columns ?? [], rows };
}
