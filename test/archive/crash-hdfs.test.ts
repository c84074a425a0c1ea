/**
 * The archive's exactly-once acceptance scenario (crash-scenario.ts) with the lake on a real HDFS through WebHDFS (a
 * NameNode and three DataNodes, replication 3, one cluster for the file): archivers killed with SIGKILL mid-upload,
 * right after a decision, after a checkpoint and at random, restarted, and every record in the lake exactly once.
 * Skipped with an install hint when the Hadoop jars or Java are missing, failing under CI=true.
 */
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { lakeFilesFor } from '../../src/lake/index.ts';
import { hdfsOrSkip, startHdfs, tempDir, type HdfsTestCluster } from '../../src/testkit/index.ts';
import { kill, type Child } from './child.ts';
import { crashScenario } from './crash-scenario.ts';

describe('archive: kill -9 at any moment (lake on HDFS)', { skip: hdfsOrSkip() }, () => {
  const tmp = tempDir('dw-archive-crash-hdfs-');
  const children: Child[] = [];
  let hdfs: HdfsTestCluster;
  let lake: string;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    hdfs = await startHdfs();
    lake = await hdfs.lake('crash');
    // The archiver processes take their HDFS user from the environment they inherit, as `dronewatch archive` would.
    for (const [k, v] of Object.entries(hdfs.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  }, { timeout: 150_000 });

  after(async () => {
    for (const c of children) await kill(c);
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    await hdfs?.stop();
    tmp.cleanup();
  }, { timeout: 60_000 });

  it('stores every report and alert event exactly once', { timeout: 150_000 }, async (t) => {
    const files = lakeFilesFor(`${lake}/lake`, { cacheDir: path.join(tmp.dir, 'cache') });
    try {
      await crashScenario(t, { dataDir: tmp.dir, lake: `${lake}/lake`, files, reports: 6_000, runs: 'upload', children });
    } finally {
      await files.close();
    }
  });
});
