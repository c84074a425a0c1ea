/**
 * Spark reads a lake on a real HDFS (a NameNode and three DataNodes, replication 3) as it reads one on local disk:
 * the lake is written through the project's own writer over WebHDFS, plus files every reader must skip (a batch
 * beyond its partition's checkpoint, a committed file inside another's range), and one Spark job (local[2]) reads it
 * through the NameNode's RPC address (`hdfs://`), which pyspark's bundled Hadoop client reads. (Its `webhdfs://` file
 * system does not load there: the shaded client lacks its Jersey runtime; docs/analysis.md, "Spark on HDFS".)
 * DuckDB reads the same files over WebHDFS. Both count the same rows per view, and a representative set of statistics
 * (each table, each kind of option, hours and days in a time zone, a period that prunes hours) agree row for row.
 * One JVM for the whole file: its start dominates. Skips with the install hints when HDFS or Spark is missing, fails
 * under CI=true.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lakeFilesFor, openLakeQuery, type LakeFileSet, type LakeQuery } from '../../src/lake/index.ts';
import { hdfsOrSkip, runSparkStats, sparkOrSkip, startHdfs, tempDir, type HdfsTestCluster } from '../../src/testkit/index.ts';
import { addFilesToSkip, assertSameAnswer, assertSameCounts, SPARK_SPEED, sparkPlan, TENANT, writeSparkFixture, type FixtureCounts } from './spark-compare.ts';

/** Reports, sightings, words and alerts; a grid option, a duration, a limit, a time zone; per hour, day and weekday. */
const STATS = ['reports-daily', 'hotspots', 'silent-drones', 'top-words', 'alerts-by-hour', 'reaction-time', 'citizens-score-drop'];

const skip = hdfsOrSkip() || sparkOrSkip();

describe('Spark on a lake on HDFS agrees with DuckDB on the same lake', { skip, timeout: 600_000 }, () => {
  const tmp = tempDir('dw-spark-hdfs-');
  const out = path.join(tmp.dir, 'answers');
  let hdfs: HdfsTestCluster;
  let files: LakeFileSet | undefined;
  let q: LakeQuery;
  let written: FixtureCounts;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    hdfs = await startHdfs();
    // The lake's directories belong to hdfs.user; every client (the writer, DuckDB's cache, Spark) names it through
    // HADOOP_USER_NAME, as a deployment without Kerberos does.
    for (const [k, v] of Object.entries(hdfs.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    const lake = await hdfs.lake('lake');
    written = await writeSparkFixture(lake);
    await addFilesToSkip(lake);
    files = lakeFilesFor(lake, { cacheDir: path.join(tmp.dir, 'cache') });
    q = await openLakeQuery(files, { tenant: TENANT });

    const planFile = path.join(tmp.dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(sparkPlan(STATS)));
    const sparkLake = `${hdfs.fsUri}/lake`;
    const started = Date.now();
    const { stdout } = await runSparkStats({
      lake: sparkLake, tenant: TENANT, out, plan: planFile, counts: true, master: 'local[2]', conf: SPARK_SPEED,
      env: { ...process.env, ...hdfs.env }, timeoutMs: 480_000,
    });
    process.stderr.write(`# hdfs ready in ${hdfs.timings.readyMs} ms; spark job on ${sparkLake}: ${((Date.now() - started) / 1000).toFixed(1)} s (JVM start included)\n${stdout.split('\n').map((l) => `#   ${l}`).join('\n')}\n`);
  }, { timeout: 590_000 });

  after(async () => {
    await q?.close();
    await files?.close();
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    await hdfs?.stop();
    tmp.cleanup();
  }, { timeout: 60_000 });

  it('counts the same rows per view both ways, and exactly the rows written (skipped files skipped)', async () => {
    await assertSameCounts(q, out, written);
  });

  for (const stat of STATS) {
    for (const period of [false, true]) {
      it(`${stat} (${period ? 'a period, other options, Europe/Paris' : 'whole lake, defaults'})`, async () => {
        await assertSameAnswer(q, out, stat, period);
      });
    }
  }
});
