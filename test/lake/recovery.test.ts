/**
 * The commit protocol survives a crash at every step: each test runs the protocol up to a step (what a kill -9
 * would leave on disk), then runs recovery, and checks that readers see each record exactly once (or not at all if
 * the batch was not decided) and that the checkpoint says so.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { LakeWriter, listLiveFiles, type StagedBatch } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet } from './fixtures/sample.ts';
import { byId, countRows, recordsOf, reportsInLake } from './helpers.ts';

describe('lake commit protocol: recovery from every crash point', () => {
  const tmp = tempDir('dw-lake-recovery-');
  after(() => tmp.cleanup());
  // Two hours in one batch, so a batch has two files and a crash can fall between their renames.
  const reports = new SampleFleet({ drones: 25, seed: 21, start: Date.UTC(2025, 0, 15, 9, 59, 40) }).reports(400);
  let n = 0;

  async function scenario(crash: (w: LakeWriter, b: StagedBatch) => Promise<void>): Promise<{ root: string; batch: StagedBatch; report: { rolledForward: number; discarded: number } }> {
    const root = path.join(tmp.dir, `case-${++n}`);
    const before = await LakeWriter.open(root);
    await before.write('reports', 2, recordsOf(reports.slice(0, 100), 0)); // an earlier, complete batch
    const batch = await before.stage('reports', 2, recordsOf(reports.slice(100), 100));
    assert.equal(batch.files.length, 2);
    await crash(before, batch);
    await before.close(); // the process is gone: nothing after this point runs
    const after = await LakeWriter.open(root);
    const report = await after.recover('reports', 2);
    await after.close();
    assert.deepEqual(readdirSync(path.join(root, '_staging', 'reports')), [], 'no staging left after recovery');
    return { root, batch, report };
  }

  async function checkpointOf(root: string): Promise<number | undefined> {
    const w = await LakeWriter.open(root);
    try {
      return await w.checkpoint('reports', 2);
    } finally {
      await w.close();
    }
  }

  it('crash after staging (no COMMIT): the batch is dropped, the earlier one stays', async () => {
    const { root, report } = await scenario(async () => {});
    assert.deepEqual(report, { rolledForward: 0, discarded: 1 });
    assert.equal(await countRows(root, 'reports'), 100);
    assert.equal(await checkpointOf(root), 99);
  });

  it('crash right after the COMMIT marker: recovery publishes the batch and advances the checkpoint', async () => {
    const { root, report } = await scenario(async (w, b) => w.writeMarker(b));
    assert.deepEqual(report, { rolledForward: 1, discarded: 0 });
    assert.deepStrictEqual(byId(await reportsInLake(root), (r) => r.reportId), byId(reports, (r) => r.reportId));
    assert.equal(await checkpointOf(root), 399);
  });

  it('crash between the renames of one batch: the rest is moved, nothing twice', async () => {
    const { root, batch } = await scenario(async (w, b) => {
      await w.writeMarker(b);
      const f = b.files[0]!;
      await w.store.ensureDir(path.posix.dirname(f.dst));
      await w.store.rename(`${b.stagingKey}/${f.src}`, f.dst);
    });
    assert.equal((await listLiveFiles(root, 'reports')).length, 2 + 1); // batch 0-99 lies in hour 09 only
    assert.equal(await countRows(root, 'reports'), 400);
    assert.deepStrictEqual(byId(await reportsInLake(root), (r) => r.reportId), byId(reports, (r) => r.reportId));
    assert.equal(await checkpointOf(root), batch.lastOffset);
  });

  it('crash after the renames, before the checkpoint: recovery writes the checkpoint', async () => {
    const { root } = await scenario(async (w, b) => {
      await w.writeMarker(b);
      for (const f of b.files) {
        await w.store.ensureDir(path.posix.dirname(f.dst));
        await w.store.rename(`${b.stagingKey}/${f.src}`, f.dst);
      }
    });
    assert.equal(await countRows(root, 'reports'), 400);
    assert.equal(await checkpointOf(root), 399);
  });

  it('crash after the checkpoint, before cleanup: recovery is idempotent', async () => {
    const { root, report } = await scenario(async (w, b) => {
      await w.writeMarker(b);
      await w.publish(b);
    });
    assert.deepEqual(report, { rolledForward: 1, discarded: 0 });
    assert.equal(await countRows(root, 'reports'), 400);
    assert.equal(await checkpointOf(root), 399);
  });

  it('recovery of one partition leaves the staging of other partitions alone, and never moves a checkpoint back', async () => {
    const root = path.join(tmp.dir, 'partitions');
    const w = await LakeWriter.open(root);
    await w.write('reports', 1, recordsOf(reports.slice(0, 50), 1000));
    const other = await w.stage('reports', 1, recordsOf(reports.slice(50, 80), 500)); // an old, stale range
    await w.writeMarker(other);
    const mine = await w.stage('reports', 2, recordsOf(reports.slice(80, 100), 0));
    assert.deepEqual(await w.recover('reports', 2), { rolledForward: 0, discarded: 1 });
    assert.ok(!readdirSync(path.join(root, '_staging', 'reports')).some((d) => d === path.posix.basename(mine.stagingKey)));
    assert.equal(readdirSync(path.join(root, '_staging', 'reports')).length, 1);
    assert.deepEqual(await w.recover('reports'), { rolledForward: 1, discarded: 0 });
    assert.equal(await w.checkpoint('reports', 1), 1049);
    await w.close();
  });
});
