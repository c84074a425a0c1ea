/**
 * The commit protocol survives a crash at every step, and a writer racing or outliving another, on a local lake
 * (protocol-suite.ts; s3-ceph.test.ts runs the same cases on Ceph RGW).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { lakeFilesFor, LakeWriter } from '../../src/lake/index.ts';
import { listAll } from '../../src/objectstore/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet } from './fixtures/sample.ts';
import { byId, recordsOf, reportsInLake } from './helpers.ts';
import { protocolSuite } from './protocol-suite.ts';

describe('lake commit protocol on a local directory: crash points and concurrent writers', () => {
  const tmp = tempDir('dw-lake-recovery-');
  after(() => tmp.cleanup());
  let n = 0;
  protocolSuite({
    lake: () => path.join(tmp.dir, `case-${++n}`),
    files: (location) => lakeFilesFor(location),
    scratchDir: path.join(tmp.dir, 'scratch'),
  });
});

describe('lake commit protocol: lakes written by the file-system protocol', () => {
  const tmp = tempDir('dw-lake-legacy-');
  after(() => tmp.cleanup());

  it('rolls back a batch interrupted mid-rename, so that its files never show up next to the rewritten records', async () => {
    const root = path.join(tmp.dir, 'lake');
    const reports = new SampleFleet({ drones: 10, seed: 3 }).reports(210);
    // What the old protocol left: checkpoint 99, a COMMIT for [100, 199] whose file was renamed into place.
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf(reports.slice(0, 100), 0));
    const old = await w.stage('reports', 0, recordsOf(reports.slice(100, 200), 100));
    const dst = old.files[0]!.dst;
    await w.store.putFile(dst, old.files[0]!.src);
    const staging = '_staging/reports/batch-p0000-0000000000100-0000000000199-abc123';
    await w.store.put(`${staging}/COMMIT`, JSON.stringify({ version: 1, kind: 'batch', table: 'reports', partition: 0, firstOffset: 100, lastOffset: 199,
      files: [{ src: '1.parquet', dst, rows: 100 }], deletes: [], checkpoint: true }));
    await w.store.put(`${staging}/1.parquet`, 'staged bytes');
    await w.discard(old);
    const rec = await w.recover('reports', 0);
    assert.deepEqual(rec, { checkpoint: 99, pending: undefined, pruned: 0 });
    assert.equal(await w.store.head(dst), undefined, 'the renamed file of the undecided batch is gone');
    assert.deepEqual((await listAll(w.store, '_staging/')).objects, [], 'and the staging directory');
    // The records come back from the stream in other batches, one overlapping the old range: each stored once.
    await w.write('reports', 0, recordsOf(reports.slice(100, 150), 100));
    await w.write('reports', 0, recordsOf(reports.slice(150), 150));
    await w.close();
    assert.deepStrictEqual(byId(await reportsInLake(root), (r) => r.reportId), byId(reports, (r) => r.reportId));
  });
});
