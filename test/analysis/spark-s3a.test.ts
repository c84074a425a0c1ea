/**
 * Spark reads a lake on S3 (a real Ceph RGW) through Hadoop's s3a:// file system as it reads one on local disk. The lake
 * is written through the project's own S3 store, plus files every reader must skip; one Spark job (local[2]) reads it
 * with the s3a jars .ci/install-spark.sh resolves (hadoop-aws of pyspark's Hadoop version and the AWS SDK modules, no
 * SDK bundle) and nothing but the environment dronewatch itself reads (S3_ENDPOINT, AWS_ACCESS_KEY_ID, ...): the job
 * derives the s3a endpoint settings, S3A takes the credentials from the variables (none on a command line). DuckDB
 * reads the same objects. Both count the same rows per view, and a set of statistics agree row for row. Skips with
 * the install hints when Ceph, Spark or the s3a jars are missing, fails under CI=true.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lakeFilesFor, openLakeQuery, type LakeFileSet, type LakeQuery } from '../../src/lake/index.ts';
import { cephOrSkip, runSparkStats, startCeph, tempDir, type CephCluster } from '../../src/testkit/index.ts';
import { sparkS3aOrSkip } from '../../src/testkit/spark.ts';
import { addFilesToSkip, assertSameAnswer, assertSameCounts, SPARK_SPEED, sparkPlan, TENANT, writeSparkFixture, type FixtureCounts } from './spark-compare.ts';

/** Reports, sightings, words and alerts; a grid option, a limit, a time zone. */
const STATS = ['reports-daily', 'hotspots', 'top-words', 'alerts-by-hour'];

const skip = cephOrSkip() || sparkS3aOrSkip();

describe('Spark on a lake on S3 (Ceph RGW, s3a://) agrees with DuckDB on the same lake', { skip, timeout: 600_000 }, () => {
  const tmp = tempDir('dw-spark-s3a-');
  const out = path.join(tmp.dir, 'answers');
  let ceph: CephCluster;
  let files: LakeFileSet | undefined;
  let q: LakeQuery;
  let written: FixtureCounts;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    ceph = await startCeph();
    for (const [k, v] of Object.entries(ceph.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    const bucket = await ceph.createBucket();
    const lake = `s3://${bucket}/lake`;
    written = await writeSparkFixture(lake);
    await addFilesToSkip(lake);
    files = lakeFilesFor(lake, { cacheDir: path.join(tmp.dir, 'cache') });
    q = await openLakeQuery(files, { tenant: TENANT });

    const planFile = path.join(tmp.dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(sparkPlan(STATS)));
    const started = Date.now();
    const { stdout } = await runSparkStats({
      lake: `s3a://${bucket}/lake`, tenant: TENANT, out, plan: planFile, counts: true, master: 'local[2]', conf: SPARK_SPEED,
      env: { ...process.env, ...ceph.env }, timeoutMs: 480_000,
    });
    process.stderr.write(`# ceph ready in ${ceph.timings.readyMs} ms; spark job on s3a://${bucket}/lake: ${((Date.now() - started) / 1000).toFixed(1)} s (JVM start included)\n${stdout.split('\n').map((l) => `#   ${l}`).join('\n')}\n`);
  }, { timeout: 590_000 });

  after(async () => {
    await q?.close();
    await files?.close();
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    await ceph?.stop();
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
