/**
 * The archive's exactly-once acceptance scenario (crash-scenario.ts) with the lake on a real S3 server, Ceph RGW
 * (one cluster for the file): archivers killed with SIGKILL mid-upload, right after a decision, after a checkpoint and at random, restarted, and
 * every record in the lake exactly once. Skipped with an install hint when Ceph is missing, failing under CI=true.
 */
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { lakeFilesFor } from '../../src/lake/index.ts';
import { cephOrSkip, startCeph, tempDir, type CephCluster } from '../../src/testkit/index.ts';
import { kill, type Child } from './child.ts';
import { crashScenario } from './crash-scenario.ts';

describe('archive: kill -9 at any moment (lake on Ceph RGW)', { skip: cephOrSkip() }, () => {
  const tmp = tempDir('dw-archive-crash-s3-');
  const children: Child[] = [];
  let ceph: CephCluster;
  let bucket: string;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    ceph = await startCeph();
    bucket = await ceph.createBucket();
    // The archiver processes find the server and keys in the environment they inherit, as `dronewatch archive` would.
    for (const [k, v] of Object.entries(ceph.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  }, { timeout: 90_000 });

  after(async () => {
    for (const c of children) await kill(c);
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    await ceph?.stop();
    tmp.cleanup();
  }, { timeout: 60_000 });

  it('stores every report and alert event exactly once', { timeout: 150_000 }, async (t) => {
    const lake = `s3://${bucket}/crash/lake`;
    const files = lakeFilesFor(lake, { cacheDir: path.join(tmp.dir, 'cache') });
    try {
      await crashScenario(t, { dataDir: tmp.dir, lake, files, reports: 10_000, runs: 'upload', children });
    } finally {
      await files.close();
    }
  });
});
