import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { compactLake, LakeWriter, listLiveFiles, LocalLakeStore } from '../../src/lake/index.ts';
import { commitCompaction, planCompaction, publishCompaction, stageCompaction } from '../../src/lake/compact.ts';
import { openDuck } from '../../src/lake/duck.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet } from './fixtures/sample.ts';
import { byId, countRows, lakeRows, recordsOf, reportsInLake } from './helpers.ts';

const START = Date.UTC(2025, 0, 15, 9, 59, 50);

/** A lake with `batches` batches of 60 reports on partition 0 and 3 on partition 1, spanning two hours. */
async function smallFilesLake(root: string, batches = 6): Promise<{ reports: ReturnType<SampleFleet['reports']> }> {
  const reports = new SampleFleet({ drones: 30, seed: 33, start: START }).reports(60 * (batches + 3));
  const w = await LakeWriter.open(root);
  for (let b = 0; b < batches; b++) await w.write('reports', 0, recordsOf(reports.slice(b * 60, (b + 1) * 60), b * 60));
  for (let b = 0; b < 3; b++) await w.write('reports', 1, recordsOf(reports.slice((batches + b) * 60, (batches + b + 1) * 60), b * 60));
  await w.close();
  return { reports };
}

const names = (files: string[]): string[] => files.map((f) => path.basename(path.dirname(f)) + '/' + path.basename(f));

describe('lake compaction', () => {
  const tmp = tempDir('dw-lake-compact-');
  after(() => tmp.cleanup());

  it('merges the small files of each partition and hour into one, with identical rows', async () => {
    const root = path.join(tmp.dir, 'basic');
    const { reports } = await smallFilesLake(root);
    const before = await listLiveFiles(root, 'reports');
    const contentBefore = await reportsInLake(root);
    const r = await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    const afterFiles = await listLiveFiles(root, 'reports');
    assert.ok(r.merged >= 2 && r.inputs > r.merged, JSON.stringify(r));
    assert.equal(r.rows, reports.length);
    assert.ok(afterFiles.length < before.length);
    // One file per (hour, partition) now, named by the union of the ranges.
    const keys = names(afterFiles).map((f) => f.slice(0, 'hour=09/p0000'.length));
    assert.equal(new Set(keys).size, keys.length, names(afterFiles).join(' '));
    assert.ok(names(afterFiles).some((f) => f.startsWith('hour=09/p0000-0000000000000000-')), names(afterFiles).join(' '));
    // Nothing but live files remain on disk, and the rows are the same.
    const onDisk = readdirSync(path.join(root, 'reports'), { recursive: true }).filter((f) => String(f).endsWith('.parquet'));
    assert.equal(onDisk.length, afterFiles.length);
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(contentBefore, (x) => x.reportId));
    assert.deepStrictEqual(byId(contentBefore, (x) => x.reportId), byId(reports, (x) => x.reportId));
    // A second run has nothing to do.
    const again = await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    assert.equal(again.merged, 0);
  });

  it('readers listing between the steps see every row exactly once', async () => {
    const root = path.join(tmp.dir, 'steps');
    const { reports } = await smallFilesLake(root);
    const store = new LocalLakeStore(root);
    const { groups } = await planCompaction(store, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    assert.ok(groups.length >= 1);
    const duck = await openDuck();
    try {
      for (const group of groups) {
        const staged = await stageCompaction(store, duck, group);
        assert.equal(await countRows(root, 'reports'), reports.length, 'after staging');
        await commitCompaction(store, staged);
        assert.equal(await countRows(root, 'reports'), reports.length, 'after the marker');
        // The rename alone (a crash before the inputs are deleted): inputs and output both on disk.
        await store.rename(`${staged.stagingKey}/${staged.marker.files[0]!.src}`, staged.marker.files[0]!.dst);
        assert.ok(group.inputs.every((f) => existsSync(store.localPath(f.key))));
        assert.equal(await countRows(root, 'reports'), reports.length, 'after the rename, before the deletes');
        const [row] = await lakeRows(root, 'SELECT count(DISTINCT report_id) AS d FROM reports');
        assert.equal(Number(row!.d), reports.length);
        await publishCompaction(store, staged); // what recovery does: skips the moved file, deletes the inputs
        assert.ok(group.inputs.every((f) => !existsSync(store.localPath(f.key))));
        assert.equal(await countRows(root, 'reports'), reports.length, 'after the deletes');
      }
    } finally {
      duck.close();
    }
  });

  it('recovers an interrupted compaction: forward with a marker, dropped without', async () => {
    for (const withMarker of [true, false]) {
      const root = path.join(tmp.dir, `interrupted-${withMarker}`);
      const { reports } = await smallFilesLake(root);
      const store = new LocalLakeStore(root);
      const { groups } = await planCompaction(store, { table: 'reports', minFiles: 3, olderThanMs: 0 });
      const duck = await openDuck();
      const staged = await stageCompaction(store, duck, groups[0]!);
      duck.close();
      if (withMarker) await commitCompaction(store, staged);
      // The next run recovers first, then compacts what is still eligible.
      await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 0 });
      assert.equal(readdirSync(path.join(root, '_staging', 'reports')).length, 0);
      assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
    }
  });

  it('leaves fresh files, files beyond the checkpoint and partitions with a batch in flight alone', async () => {
    const root = path.join(tmp.dir, 'guards');
    const { reports } = await smallFilesLake(root, 4);
    assert.equal((await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 60_000 })).merged, 0, 'files are too fresh');
    // A batch of partition 0 between rename and checkpoint: its files are not compacted yet.
    const w = await LakeWriter.open(root);
    const extra = new SampleFleet({ drones: 30, seed: 34, start: START }).reports(60);
    const inFlight = await w.stage('reports', 0, recordsOf(extra, 10_000));
    const busy = await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    assert.equal(busy.skippedBusy, 1);
    assert.ok(busy.merged >= 1, 'partition 1 is compacted');
    await w.writeMarker(inFlight);
    for (const f of inFlight.files) {
      await w.store.ensureDir(path.posix.dirname(f.dst));
      await w.store.rename(`${inFlight.stagingKey}/${f.src}`, f.dst);
    }
    await w.discard(inFlight); // simulates staging gone but checkpoint not advanced (never happens in order; worst case)
    const r = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 0 });
    const live = await listLiveFiles(root, 'reports');
    assert.ok(r.merged >= 1);
    assert.ok(live.some((f) => f.endsWith('-0000000000010000-0000000000010059.parquet')), 'the file past the checkpoint stays as it is');
    assert.equal(await countRows(root, 'reports'), reports.length + extra.length);
    await w.close();
  });

  it('sweeps leftover files that a live file contains, once it is old enough', async () => {
    const root = path.join(tmp.dir, 'sweep');
    const { reports } = await smallFilesLake(root, 3);
    const store = new LocalLakeStore(root);
    const { groups } = await planCompaction(store, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    const group = groups.find((g) => g.partition === 0)!;
    const duck = await openDuck();
    const staged = await stageCompaction(store, duck, group);
    duck.close();
    await commitCompaction(store, staged);
    await store.rename(`${staged.stagingKey}/${staged.marker.files[0]!.src}`, staged.marker.files[0]!.dst);
    await store.removeTree(staged.stagingKey); // lost the marker: the inputs are leftovers now
    assert.equal(await countRows(root, 'reports'), reports.length);
    const young = await compactLake(root, { table: 'reports', minFiles: 99, olderThanMs: 60_000 });
    assert.equal(young.swept, 0);
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(store.localPath(group.output), old, old);
    const swept = await compactLake(root, { table: 'reports', minFiles: 99, olderThanMs: 60_000 });
    assert.equal(swept.swept, group.inputs.length);
    assert.ok(group.inputs.every((f) => !existsSync(store.localPath(f.key))));
    assert.equal(await countRows(root, 'reports'), reports.length);
  });
});
