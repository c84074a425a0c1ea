import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { compactLake, LakeWriter, listLiveFiles } from '../../src/lake/index.ts';
import { dropInputs, planCompaction, stageCompaction, switchCompaction } from '../../src/lake/compact.ts';
import { mergedFileName, PARTITIONS_PER_FILE } from '../../src/lake/compact-plan.ts';
import { openDuck } from '../../src/lake/duck.ts';
import { MAX_FILE_NAME_BYTES, parseDataFileRanges, rangesFileName } from '../../src/lake/layout.ts';
import { splitLive, type DataFile } from '../../src/lake/live-files.ts';
import { LakeCache } from '../../src/lake/cache.ts';
import { openScratch } from '../../src/lake/scratch.ts';
import { LocalObjectStore } from '../../src/objectstore/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { age, CLOSED, HOUR, hourLake, OPEN, parquetOnDisk } from './fixtures/crossing.ts';
import { SampleFleet } from './fixtures/sample.ts';
import { byId, countRows, lakeRows, recordsOf, reportsInLake } from './helpers.ts';

/**
 * Compaction of closed hours across stream partitions (issue 14): one file per tenant-hour (per block of 8
 * partitions) named by every range it holds, and the lake's rules kept with such names.
 */

const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

const live = async (root: string): Promise<string[]> => (await listLiveFiles(root, 'reports', { tenant: 'default' })).map((f) => path.basename(f));

/** Compaction at `now`, every file written a minute before it (the compactor reads mtimes against its clock). */
async function compactAt(root: string, now: number, minFiles = 2): ReturnType<typeof compactLake> {
  age(root, now - 60_000);
  return compactLake(root, { table: 'reports', minFiles, olderThanMs: 0, now });
}

async function planAt(root: string, now: number): ReturnType<typeof planCompaction> {
  age(root, now - 60_000);
  return planCompaction(new LocalObjectStore(root), { table: 'reports', minFiles: 2, olderThanMs: 0, now });
}

const file = (name: string, mtimeMs = 0): DataFile => ({
  ranges: parseDataFileRanges(name)!, tenant: 'default', key: name, dir: '', hour: { date: '2025-01-15', hour: '10' }, size: 1, mtimeMs,
});

describe('lake compaction across partitions: names', () => {
  it('spells a set of ranges one way, and parses it back', () => {
    const ranges = [{ partition: 0, first: 0, last: 59 }, { partition: 3, first: 120, last: 1_000_000 }];
    const name = rangesFileName(ranges);
    assert.equal(name, 'm-0.0.1n_3.3c.lfls.parquet');
    assert.deepEqual(parseDataFileRanges(name), ranges);
    assert.equal(rangesFileName([ranges[0]!]), 'p0000-0000000000000000-0000000000000059.parquet', 'one range: the classic name');
    assert.throws(() => rangesFileName([ranges[1]!, ranges[0]!]), 'unsorted');
    for (const bad of ['m-0.0.1n.parquet', 'm-3.3c.lfls_0.0.1n.parquet', 'm-0.0.1n_0.3c.lfls.parquet', 'm-00.0.1n_3.3c.lfls.parquet',
      'm-0.00.1n_3.3c.lfls.parquet', 'm-0.1n.0_3.3c.lfls.parquet', 'm-0.0.1N_3.3c.lfls.parquet', 'm-0.0.1n_3.3c.lfls.parquet.tmp']) {
      assert.equal(parseDataFileRanges(bad), undefined, bad);
    }
  });

  it('a block of 8 worst-case ranges fits a file name; a longer name is not made', () => {
    const worst = (n: number) => Array.from({ length: n }, (_, i) => ({ partition: 9992 + i - n + 8, first: MAX_OFFSET - 1, last: MAX_OFFSET }));
    const name = mergedFileName(worst(PARTITIONS_PER_FILE));
    assert.ok(name !== undefined && Buffer.byteLength(name) <= MAX_FILE_NAME_BYTES, name);
    assert.deepEqual(parseDataFileRanges(name), worst(PARTITIONS_PER_FILE));
    assert.equal(mergedFileName(worst(PARTITIONS_PER_FILE + 2)), undefined, 'past 255 bytes: no merge');
  });

  it('the cache of a remote lake keeps such a name and its version within a file name', async () => {
    const tmp = tempDir('dw-lake-hours-cache-');
    try {
      const cache = await LakeCache.open({ dir: tmp.dir, maxBytes: 1 << 20 });
      const name = mergedFileName(Array.from({ length: 8 }, (_, i) => ({ partition: 9992 + i, first: MAX_OFFSET - 1, last: MAX_OFFSET })))!;
      const long = { ...file(name), key: `reports/tenant=default/date=2025-01-15/hour=10/${name}`, etag: '"0123456789abcdef0123456789abcdef-12"' };
      const cached = path.basename(cache.pathOf(long));
      assert.ok(Buffer.byteLength(cached) <= MAX_FILE_NAME_BYTES, cached);
      assert.match(cached, /^h-[0-9a-f]{40}\.v-[0-9a-f]{32}-12\.parquet$/);
      assert.notEqual(cached, path.basename(cache.pathOf({ ...long, key: long.key.replace('9992.', '9991.') })), 'distinct names, distinct files');
      const short = file('m-0.0.1n_1.0.27.parquet');
      assert.equal(path.basename(cache.pathOf({ ...short, key: `reports/x/${short.key}`, etag: 'e1' })), 'm-0.0.1n_1.0.27.v-e1.parquet', 'short names kept');
    } finally {
      tmp.cleanup();
    }
  });

  it('a file whose every range is inside another file is dead; one range outside keeps it live', () => {
    const merged = file(rangesFileName([{ partition: 0, first: 0, last: 99 }, { partition: 1, first: 0, last: 49 }]));
    const inputs = [file('p0000-0000000000000000-0000000000000099.parquet'), file('p0001-0000000000000000-0000000000000049.parquet')];
    const later = file('p0001-0000000000000050-0000000000000059.parquet');
    const crossing = file(rangesFileName([{ partition: 0, first: 0, last: 99 }, { partition: 1, first: 0, last: 59 }]));
    const { live: l, dead } = splitLive([merged, ...inputs, later]);
    assert.deepEqual(l.map((f) => f.key), [merged.key, later.key]);
    assert.deepEqual(dead.map((f) => f.key), inputs.map((f) => f.key));
    assert.deepEqual(splitLive([merged, crossing]).live.map((f) => f.key), [crossing.key], 'a bigger merge contains the smaller');
  });
});

describe('lake compaction across partitions', () => {
  const tmp = tempDir('dw-lake-hours-');
  after(() => tmp.cleanup());

  it('merges every partition of a closed hour into one file, every row exactly once', async () => {
    const root = path.join(tmp.dir, 'basic');
    const reports = await hourLake(root);
    const r = await compactAt(root, CLOSED);
    assert.equal(r.merged, 1, JSON.stringify(r));
    assert.equal(r.hours, 1);
    assert.equal(r.rows, reports.length);
    const files = await live(root);
    assert.deepEqual(files, ['m-0.0.1n_1.0.1n_2.0.1n.parquet']);
    assert.deepEqual(parquetOnDisk(root).map((f) => path.basename(f)), files, 'inputs deleted (no grace time)');
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
    const [row] = await lakeRows(root, 'SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
    assert.deepEqual(row, { n: reports.length, d: reports.length });
    assert.equal((await compactAt(root, CLOSED)).merged, 0, 'nothing left to do');
  });

  it('merges per partition while the hour is open, across partitions once it is closed', async () => {
    const root = path.join(tmp.dir, 'open');
    const reports = await hourLake(root, 2, 3);
    age(root, OPEN - 120_000);
    const open = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 60_000, now: OPEN });
    assert.deepEqual([open.merged, open.hours], [2, 0], JSON.stringify(open));
    assert.equal((await live(root)).filter((f) => f.startsWith('p')).length, 2, 'one file per partition');
    // 5 minutes after the end (half of closedAfterMs): neither kind of merge.
    assert.equal((await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 60_000, now: HOUR + 3_600_000 + 5 * 60_000 })).merged, 0);
    age(root, CLOSED - 120_000);
    const closed = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 60_000, now: CLOSED });
    assert.deepEqual([closed.merged, closed.hours], [1, 1], JSON.stringify(closed));
    assert.equal(closed.swept, 6, 'the batch files, contained in both merges');
    assert.equal(await countRows(root, 'reports'), reports.length);
    // A closed hour is merged only when every file of it is old enough: a gate, not a filter.
    const young = path.join(tmp.dir, 'young');
    await hourLake(young, 2, 3);
    assert.equal((await compactLake(young, { table: 'reports', minFiles: 2, olderThanMs: 60_000, now: Date.now() })).merged, 0);
  });

  it('readers see the inputs or the merged file, never both: between each step and after a crash before or during the deletes', async () => {
    const root = path.join(tmp.dir, 'steps');
    const reports = await hourLake(root);
    const store = new LocalObjectStore(root);
    const { groups } = await planAt(root, CLOSED);
    assert.equal(groups.length, 1);
    const group = groups[0]!;
    assert.equal(group.kind, 'hour');
    const duck = await openDuck();
    const scratch = await openScratch(path.join(tmp.dir, 'scratch'));
    try {
      const staged = await stageCompaction(store, duck, scratch, group);
      assert.equal(await countRows(root, 'reports'), reports.length, 'merged, not switched');
      assert.equal(await switchCompaction(store, staged), true);
      // Killed here: the merged file and its 9 inputs are all in the lake.
      assert.equal(parquetOnDisk(root).length, 10);
      assert.deepEqual(await live(root), [path.basename(group.output)], 'readers list the merged file alone');
      const [row] = await lakeRows(root, 'SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
      assert.deepEqual(row, { n: reports.length, d: reports.length });
      // Killed in the middle of the deletes: some inputs gone, the others still contained in the merged file.
      await store.deleteMany(group.inputs.slice(0, 4).map((f) => f.key));
      assert.deepEqual(await live(root), [path.basename(group.output)]);
      assert.equal(await countRows(root, 'reports'), reports.length, 'after part of the deletes');
      // The next compactor (after the crash) finds nothing to merge and sweeps the rest.
      const next = await compactAt(root, CLOSED);
      assert.deepEqual([next.merged, next.swept], [0, 5], JSON.stringify(next));
      assert.deepEqual(parquetOnDisk(root).map((f) => path.basename(f)), [path.basename(group.output)]);
      await dropInputs(store, group); // the crashed compactor's deletes, replayed late: nothing left to delete
      assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
    } finally {
      duck.close();
      await scratch.remove();
    }
  });

  it('a partition\'s later batch after the merge stays live, and the next merge of the hour contains both', async () => {
    const root = path.join(tmp.dir, 'late');
    const reports = await hourLake(root);
    await compactAt(root, CLOSED);
    const late = new SampleFleet({ drones: 30, seed: 9, start: HOUR + 40 * 60_000 }).reports(40);
    const w = await LakeWriter.open(root);
    await w.write('reports', 1, recordsOf(late.slice(0, 20), 60));
    assert.equal(await countRows(root, 'reports'), reports.length + 20, 'the late batch is live beside the merged file');
    // One late file (< minFiles beside the merged file): left alone, each merge rewrites the whole hour.
    assert.equal((await compactAt(root, CLOSED)).merged, 0);
    await w.write('reports', 2, recordsOf(late.slice(20), 60));
    // A batch decided and uploaded but not checkpointed is beyond the checkpoint: never merged, never hidden.
    const pending = await w.stage('reports', 0, recordsOf(new SampleFleet({ drones: 3, seed: 11, start: HOUR + 50 * 60_000 }).reports(5), 60));
    assert.equal(await w.writeMarker(pending), 'decided');
    for (const f of pending.files) await w.store.putFile(f.dst, f.src);
    const again = await compactAt(root, CLOSED);
    assert.deepEqual([again.merged, again.inputs, again.rows], [1, 3, reports.length + 40], JSON.stringify(again));
    assert.deepEqual((await live(root)).sort(), ['m-0.0.1n_1.0.27_2.0.27.parquet'], 'the pending batch is not visible yet');
    await w.publish(pending);
    await w.discard(pending);
    await w.close();
    assert.deepEqual((await live(root)).sort(), ['m-0.0.1n_1.0.27_2.0.27.parquet', 'p0000-0000000000000060-0000000000000064.parquet']);
    assert.equal(await countRows(root, 'reports'), reports.length + 45);
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId).map((x) => x.reportId).length, reports.length + 45);
  });

  it('two compactors racing on a closed hour: the later merge contains the earlier, every row once whatever the order', async () => {
    const root = path.join(tmp.dir, 'race');
    const reports = await hourLake(root);
    const store = new LocalObjectStore(root);
    const a = (await planAt(root, CLOSED)).groups[0]!;
    const late = new SampleFleet({ drones: 30, seed: 13, start: HOUR + 45 * 60_000 }).reports(20);
    const w = await LakeWriter.open(root);
    await w.write('reports', 2, recordsOf(late, 60));
    await w.close();
    const b = (await planAt(root, CLOSED)).groups[0]!;
    const duck = await openDuck();
    const scratch = await openScratch(path.join(tmp.dir, 'scratch-race'));
    try {
      const [sa, sb] = [await stageCompaction(store, duck, scratch, a), await stageCompaction(store, duck, scratch, b)];
      assert.equal(await switchCompaction(store, sb), true); // the later listing switches first
      assert.equal(await countRows(root, 'reports'), reports.length + late.length);
      assert.equal(await switchCompaction(store, sa), true); // then the earlier one: contained, hence dead
      assert.deepEqual(await live(root), [path.basename(b.output)]);
      await dropInputs(store, a); // a deletes its inputs (b holds them)
      assert.equal(await countRows(root, 'reports'), reports.length + late.length);
      assert.equal(existsSync(store.pathOf(a.output)), true, 'a\'s file stays until the sweep');
      const r = await compactAt(root, CLOSED);
      assert.equal(r.merged, 0);
      assert.deepEqual(parquetOnDisk(root).map((f) => path.basename(f)), [path.basename(b.output)], 'swept: a\'s file and the late batch');
      assert.equal(await countRows(root, 'reports'), reports.length + late.length);
    } finally {
      duck.close();
      await scratch.remove();
    }
  });

  it('keeps one copy of a report stored twice in two partitions\' batches of the hour, the first received', async () => {
    const root = path.join(tmp.dir, 'copies');
    const reports = new SampleFleet({ drones: 10, seed: 7, start: HOUR }).reports(60);
    const retried = reports.slice(10, 15).map((r) => ({ ...r, receivedAt: r.receivedAt + 45 * 60_000 }));
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf(reports.slice(0, 30), 0));
    await w.write('reports', 0, recordsOf(retried, 30));
    await w.write('reports', 1, recordsOf(reports.slice(30), 0));
    await w.close();
    const r = await compactAt(root, CLOSED);
    assert.deepEqual([r.hours, r.duplicates, r.rows], [1, retried.length, reports.length], JSON.stringify(r));
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
  });

  it('more partitions than a file takes: one file per block of 8', async () => {
    const root = path.join(tmp.dir, 'blocks');
    const reports = await hourLake(root, PARTITIONS_PER_FILE + 2, 1);
    const r = await compactAt(root, CLOSED);
    assert.deepEqual([r.merged, r.hours, r.nameTooLong], [2, 2, 0], JSON.stringify(r));
    const files = (await live(root)).sort();
    assert.equal(files.length, 2);
    assert.deepEqual(files.map((f) => parseDataFileRanges(f)!.map((x) => x.partition)), [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9]]);
    assert.equal(await countRows(root, 'reports'), reports.length);
  });

  it('never merges a partition of a closed hour alone, nor a file merged across partitions into one partition\'s file', async () => {
    const root = path.join(tmp.dir, 'kinds');
    await hourLake(root, 2, 2);
    await compactAt(root, CLOSED);
    const w = await LakeWriter.open(root);
    const late = new SampleFleet({ drones: 30, seed: 17, start: HOUR + 30 * 60_000 }).reports(40);
    await w.write('reports', 0, recordsOf(late.slice(0, 20), 40));
    await w.write('reports', 0, recordsOf(late.slice(20), 60));
    await w.close();
    // A compactor whose clock says the hour is still open (skew) finds a merged file there and leaves the hour alone.
    const { groups } = await planAt(root, OPEN);
    assert.deepEqual(groups, []);
  });

  it('an open hour\'s partition merge stops at a younger file: its range never spans a file it does not hold', async () => {
    // Regression: the merge took every old enough file and named itself by their smallest and largest offsets, so a
    // batch uploaded again in between (a late writer's re-upload of its decided range: a fresh mtime) fell inside the
    // merged range without being in it, and readers skipped its rows as a merged-away input.
    const root = path.join(tmp.dir, 'prefix');
    const reports = await hourLake(root, 1, 4);
    age(root, OPEN - 120_000);
    const third = parquetOnDisk(root).find((f) => f.endsWith('p0000-0000000000000040-0000000000000059.parquet'))!;
    utimesSync(path.join(root, 'reports', third), OPEN / 1000, OPEN / 1000);
    const r = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 60_000, now: OPEN });
    assert.deepEqual([r.merged, r.inputs], [1, 2], JSON.stringify(r));
    assert.deepEqual((await live(root)).sort(), ['p0000-0000000000000000-0000000000000039.parquet',
      'p0000-0000000000000040-0000000000000059.parquet', 'p0000-0000000000000060-0000000000000079.parquet']);
    assert.equal(await countRows(root, 'reports'), reports.length);
  });
});
