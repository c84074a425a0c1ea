import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, utimesSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { applyRetention, compactLake, LakeWriter, listLiveFiles } from '../../src/lake/index.ts';
import { dropInputs, planCompaction, stageCompaction, switchCompaction } from '../../src/lake/compact.ts';
import { openDuck } from '../../src/lake/duck.ts';
import { openScratch } from '../../src/lake/scratch.ts';
import { LocalObjectStore } from '../../src/objectstore/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { parquetOnDisk } from './fixtures/crossing.ts';
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
    const before = await listLiveFiles(root, 'reports', { tenant: 'default' });
    const contentBefore = await reportsInLake(root);
    const r = await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    const afterFiles = await listLiveFiles(root, 'reports', { tenant: 'default' });
    assert.ok(r.merged >= 2 && r.inputs > r.merged, JSON.stringify(r));
    assert.equal(r.rows, reports.length);
    assert.ok(afterFiles.length < before.length, 'fewer files');
    // One file per (hour, partition) now, named by the union of the ranges.
    const keys = names(afterFiles).map((f) => f.slice(0, 'hour=09/p0000'.length));
    assert.equal(new Set(keys).size, keys.length, names(afterFiles).join(' '));
    assert.ok(names(afterFiles).some((f) => f.startsWith('hour=09/p0000-0000000000000000-')), names(afterFiles).join(' '));
    // With no grace time the inputs are gone at once, and the rows are the same.
    assert.equal(parquetOnDisk(root).length, afterFiles.length);
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(contentBefore, (x) => x.reportId));
    assert.deepStrictEqual(byId(contentBefore, (x) => x.reportId), byId(reports, (x) => x.reportId));
    const again = await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    assert.equal(again.merged, 0, 'a second run has nothing to do');
  });

  it('an aborted signal stops the pass between two merges; the rest is merged by the next pass, every row once', async () => {
    const root = path.join(tmp.dir, 'aborted');
    const { reports } = await smallFilesLake(root);
    const abort = new AbortController();
    // Aborted as the first merge is logged: that merge completes, no other starts.
    const logger = pino({ level: 'info' }, { write: (l: string) => { if (l.includes('lake: compacted')) abort.abort(); } });
    const first = await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 0, logger, signal: abort.signal });
    assert.equal(first.merged, 1, JSON.stringify(first));
    assert.equal(first.stopped, true);
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
    const rest = await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    assert.ok(rest.merged >= 1 && rest.stopped === undefined, JSON.stringify(rest));
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
    const aborted = new AbortController();
    aborted.abort();
    assert.equal((await compactLake(root, { table: 'reports', minFiles: 1, olderThanMs: 0, signal: aborted.signal })).merged, 0);
  });

  it('a stop during a merge ends it without switching anything; the next pass merges, every row once', async () => {
    const root = path.join(tmp.dir, 'stopped-mid-merge');
    const { reports } = await smallFilesLake(root);
    const local = new LocalObjectStore(root);
    const abort = new AbortController();
    // A store that downloads its inputs (as S3 and HDFS lakes do), and the stop arriving while the first merge is
    // being built: between its downloads and its queries, or during them (DuckDB interrupted).
    const remote = new Proxy(Object.create(null) as object, {
      get: (_t, name) => {
        if (name === 'getToFile') {
          return async (key: string, file: string): Promise<boolean> => {
            const ok = await local.getToFile(key, file);
            setImmediate(() => abort.abort());
            return ok;
          };
        }
        const v = (local as unknown as Record<string | symbol, unknown>)[name];
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(local) : v;
      },
    }) as LocalObjectStore;
    const stopped = await compactLake(remote, { table: 'reports', minFiles: 3, olderThanMs: 0, signal: abort.signal });
    assert.equal(stopped.stopped, true, JSON.stringify(stopped));
    assert.equal(stopped.merged, 0, JSON.stringify(stopped));
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
    const next = await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    assert.ok(next.merged >= 2, JSON.stringify(next));
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
  });

  it('keeps one copy of a report stored twice (a retry after the duplicate window): the first received', async () => {
    // Regression: a drone retrying more than 10 minutes later (its answer lost) got its report stored twice, and the
    // lake kept both for ever. The copies share partition and hour, so the merge of that hour drops the later one.
    const root = path.join(tmp.dir, 'copies');
    const reports = new SampleFleet({ drones: 10, seed: 7, start: START }).reports(120);
    const retried = reports.slice(10, 15).map((r) => ({ ...r, receivedAt: r.receivedAt + 45 * 60_000 }));
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf(reports.slice(0, 60), 0));
    await w.write('reports', 0, recordsOf([...reports.slice(60), ...retried], 60));
    await w.close();
    assert.equal(await countRows(root, 'reports'), reports.length + retried.length, 'stored twice before compaction');
    const r = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 0 });
    assert.equal(r.duplicates, retried.length, JSON.stringify(r));
    assert.equal(r.rows, reports.length, 'rows written by the merges');
    const after = await reportsInLake(root);
    assert.equal(after.length, reports.length, 'once each');
    assert.deepStrictEqual(byId(after, (x) => x.reportId), byId(reports, (x) => x.reportId), 'the first received copies, unchanged');
  });

  it('readers listing between the steps see every row exactly once', async () => {
    const root = path.join(tmp.dir, 'steps');
    const { reports } = await smallFilesLake(root);
    const store = new LocalObjectStore(root);
    const { groups } = await planCompaction(store, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    assert.ok(groups.length >= 1, 'something to merge');
    const duck = await openDuck();
    const scratch = await openScratch(path.join(tmp.dir, 'scratch'));
    try {
      for (const group of groups.slice(0, 2)) {
        const staged = await stageCompaction(store, duck, scratch, group);
        assert.equal(await countRows(root, 'reports'), reports.length, 'after the merge, before the switch');
        assert.equal(await switchCompaction(store, staged), true);
        // A crash here leaves inputs and merged file both in the store: readers skip the contained inputs.
        assert.ok(group.inputs.every((f) => existsSync(store.pathOf(f.key))), 'inputs still there');
        const [row] = await lakeRows(root, 'SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
        assert.deepEqual(row, { n: reports.length, d: reports.length }, 'after the switch, before the deletes');
        await dropInputs(store, group);
        assert.ok(group.inputs.every((f) => !existsSync(store.pathOf(f.key))), 'inputs deleted');
        assert.equal(await countRows(root, 'reports'), reports.length, 'after the deletes');
      }
    } finally {
      duck.close();
      await scratch.remove();
    }
  });

  it('keeps the inputs for the grace time, then a later run sweeps them', async () => {
    const root = path.join(tmp.dir, 'sweep');
    const { reports } = await smallFilesLake(root, 3);
    const filesBefore = parquetOnDisk(root).length;
    const old = (Date.now() - 120_000) / 1000;
    for (const f of parquetOnDisk(root)) utimesSync(path.join(root, 'reports', f), old, old); // written 2 minutes ago
    const r = await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 60_000 });
    assert.ok(r.merged >= 1, 'old files are merged');
    assert.equal(r.swept, 0);
    assert.equal(parquetOnDisk(root).length, filesBefore + r.merged, 'inputs kept while a reader may still read them');
    assert.equal(await countRows(root, 'reports'), reports.length);
    const young = await compactLake(root, { table: 'reports', minFiles: 99, olderThanMs: 60_000 });
    assert.equal(young.swept, 0, 'the merged file is too young');
    for (const f of parquetOnDisk(root)) utimesSync(path.join(root, 'reports', f), old, old);
    const swept = await compactLake(root, { table: 'reports', minFiles: 99, olderThanMs: 60_000 });
    assert.equal(swept.swept, r.inputs);
    assert.equal(parquetOnDisk(root).length, filesBefore - r.inputs + r.merged);
    assert.equal(await countRows(root, 'reports'), reports.length);
  });

  it('leaves fresh files alone, and never merges a batch beyond the checkpoint', async () => {
    const root = path.join(tmp.dir, 'guards');
    const { reports } = await smallFilesLake(root, 4);
    assert.equal((await compactLake(root, { table: 'reports', minFiles: 3, olderThanMs: 60_000 })).merged, 0, 'files are too fresh');
    // A batch of partition 0 decided and uploaded but not checkpointed: invisible, and not compacted.
    const w = await LakeWriter.open(root);
    const extra = new SampleFleet({ drones: 30, seed: 34, start: START }).reports(60);
    const inFlight = await w.stage('reports', 0, recordsOf(extra, 10_000), { first: 240, last: 10_059 });
    assert.equal(await w.writeMarker(inFlight), 'decided');
    for (const f of inFlight.files) await w.store.putFile(f.dst, f.src);
    const r = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 0 });
    assert.ok(r.merged >= 1, 'the committed files are merged');
    assert.equal(await countRows(root, 'reports'), reports.length, 'the batch in flight stays invisible');
    assert.ok(parquetOnDisk(root).some((f) => f.endsWith('p0000-0000000000000240-0000000000010059.parquet')), 'and untouched');
    await w.publish(inFlight);
    await w.discard(inFlight);
    await w.close();
    assert.equal(await countRows(root, 'reports'), reports.length + extra.length);
  });

  it('withdraws a merged file uploaded into an hour that retention condemned meanwhile', async () => {
    const root = path.join(tmp.dir, 'retention-race');
    await smallFilesLake(root, 4);
    const store = new LocalObjectStore(root);
    const { groups } = await planCompaction(store, { table: 'reports', minFiles: 3, olderThanMs: 0 });
    const duck = await openDuck();
    const scratch = await openScratch(path.join(tmp.dir, 'scratch'));
    try {
      const staged = await stageCompaction(store, duck, scratch, groups[0]!);
      // Retention runs while the merge is being built: every hour of 2025 goes.
      const gone = await applyRetention(store, { table: 'reports', maxAgeDays: 1, now: Date.UTC(2026, 0, 1) });
      assert.ok(gone.files > 0, 'retention deleted the hours');
      assert.equal(await switchCompaction(store, staged), false, 'the merge is withdrawn');
      assert.equal(existsSync(store.pathOf(groups[0]!.output)), false, 'and its file deleted');
      assert.equal(await countRows(root, 'reports'), 0);
    } finally {
      duck.close();
      await scratch.remove();
    }
  });
});
