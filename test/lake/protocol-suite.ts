/**
 * The commit protocol, crash point by crash point and writer against writer, written against a lake location only:
 * recovery.test.ts runs it on a local directory, s3-ceph.test.ts on Ceph RGW. Each case runs the protocol up to a
 * step (what a kill -9 would leave in the store), checks what readers see at that moment, then lets a new writer
 * recover and go on, and checks that every record is in the lake exactly once.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { LakeWriter, type ArchiveRecord, type LakeFileSource, type StagedBatch } from '../../src/lake/index.ts';
import { checkpointKey, commitKey } from '../../src/lake/layout.ts';
import { listAll, openObjectStore, type ObjectStore } from '../../src/objectstore/index.ts';
import { SampleFleet } from './fixtures/sample.ts';
import { byId, countRows, recordsOf, reportsInLake } from './helpers.ts';

export interface ProtocolSuiteOptions {
  /** A fresh, empty lake location for each case. */
  lake: () => string;
  /** How readers see it (a LakeFileSource with its own cache for an S3 lake). */
  files: (location: string) => LakeFileSource;
  scratchDir: string;
}

// Two hours in one batch, so a batch has two files and a crash can fall between their uploads.
const reports = new SampleFleet({ drones: 25, seed: 21, start: Date.UTC(2025, 0, 15, 9, 59, 40) }).reports(400);
const all = recordsOf(reports, 0);
const slice = (from: number, to: number): ArchiveRecord[] => all.filter((r) => r.offset >= from && r.offset <= to);

export function protocolSuite(o: ProtocolSuiteOptions): void {
  const open = (lake: string): Promise<LakeWriter> => LakeWriter.open(lake, { scratchDir: o.scratchDir });

  /** Runs the protocol for [100, 399] up to `crash`, after a complete batch [0, 99]; returns what a reader saw. */
  async function crashAfter(lake: string, crash: (w: LakeWriter, b: StagedBatch, store: ObjectStore) => Promise<void>): Promise<number> {
    const w = await open(lake);
    await w.write('reports', 2, slice(0, 99));
    const batch = await w.stage('reports', 2, slice(100, 399), { first: 100, last: 399 });
    assert.equal(batch.files.length, 2, 'the batch spans two hours');
    await crash(w, batch, w.store);
    await w.close(); // the process is gone: nothing after this point runs (its scratch files go too)
    return countRows(o.files(lake), 'reports');
  }

  /** What the next owner does: recover, complete the pending batch from the stream's records, then go on. */
  async function nextOwner(lake: string): Promise<{ pending: { first: number; last: number } | undefined; checkpoint: number | undefined }> {
    const w = await open(lake);
    try {
      const rec = await w.recover('reports', 2);
      let cp = rec.checkpoint ?? -1;
      if (rec.pending) {
        const b = await w.stage('reports', 2, slice(rec.pending.first, rec.pending.last), rec.pending);
        assert.equal(await w.writeMarker(b), 'decided', 'the pending range is completed');
        await w.publish(b);
        await w.discard(b);
        cp = rec.pending.last;
      }
      if (cp < 399) await w.write('reports', 2, slice(cp + 1, 399));
      return { pending: rec.pending, checkpoint: rec.checkpoint };
    } finally {
      await w.close();
    }
  }

  async function exactlyOnce(lake: string): Promise<void> {
    assert.deepStrictEqual(byId(await reportsInLake(o.files(lake)), (r) => r.reportId), byId(reports, (r) => r.reportId));
    const store = openObjectStore(lake);
    try {
      assert.deepEqual((await listAll(store, '_commits/')).objects.map((x) => x.key), [], 'no commit record left');
      const w = await open(lake);
      assert.equal(await w.checkpoint('reports', 2), 399);
      await w.close();
    } finally {
      await store.close();
    }
  }

  it('crash after building the batch locally: nothing in the lake, the records are written by the next owner', async () => {
    const lake = o.lake();
    assert.equal(await crashAfter(lake, async () => {}), 100);
    assert.deepEqual(await nextOwner(lake), { pending: undefined, checkpoint: 99 });
    await exactlyOnce(lake);
  });

  it('crash right after the decision: the next owner completes exactly that range', async () => {
    const lake = o.lake();
    assert.equal(await crashAfter(lake, async (w, b) => assert.equal(await w.writeMarker(b), 'decided')), 100);
    assert.deepEqual(await nextOwner(lake), { pending: { first: 100, last: 399 }, checkpoint: 99 });
    await exactlyOnce(lake);
  });

  it('kill mid-upload (one of two files up): readers see none of the batch, the next owner completes it', async () => {
    const lake = o.lake();
    const seen = await crashAfter(lake, async (w, b, store) => {
      await w.writeMarker(b);
      await store.putFile(b.files[0]!.dst, b.files[0]!.src);
    });
    assert.equal(seen, 100, 'a half-uploaded batch is invisible');
    assert.deepEqual((await nextOwner(lake)).pending, { first: 100, last: 399 });
    await exactlyOnce(lake);
  });

  it('crash after the uploads, before the checkpoint: still invisible, then completed onto the same keys', async () => {
    const lake = o.lake();
    const seen = await crashAfter(lake, async (w, b, store) => {
      await w.writeMarker(b);
      for (const f of b.files) await store.putFile(f.dst, f.src);
    });
    assert.equal(seen, 100);
    await nextOwner(lake);
    await exactlyOnce(lake);
  });

  it('crash after the checkpoint, before the cleanup: the batch is visible whole; recovery prunes its record', async () => {
    const lake = o.lake();
    assert.equal(await crashAfter(lake, async (w, b) => {
      await w.writeMarker(b);
      await w.publish(b);
    }), 400);
    const w = await open(lake);
    const rec = await w.recover('reports', 2);
    await w.close();
    assert.deepEqual(rec, { checkpoint: 399, pending: undefined, pruned: 1 });
    await exactlyOnce(lake);
  });

  it('two writers deciding different ranges at the same offset: one wins, the other completes the winner\'s range', async () => {
    const lake = o.lake();
    const a = await open(lake);
    const b = await open(lake);
    await a.write('reports', 2, slice(0, 99));
    const ba = await a.stage('reports', 2, slice(100, 249), { first: 100, last: 249 });
    const bb = await b.stage('reports', 2, slice(100, 399), { first: 100, last: 399 });
    assert.equal(await a.writeMarker(ba), 'decided');
    assert.equal(await b.writeMarker(bb), 'superseded', 'the second decision at offset 100 loses');
    await b.discard(bb);
    // b re-reads the lake and completes a's range (a may be dead); a, alive after all, publishes the same keys too.
    const rec = await b.recover('reports', 2);
    assert.deepEqual(rec.pending, { first: 100, last: 249 });
    const again = await b.stage('reports', 2, slice(100, 249), rec.pending);
    assert.equal(await b.writeMarker(again), 'decided', 'the same range is decided already: completing it is allowed');
    await b.publish(again);
    await b.discard(again);
    await a.publish(ba);
    await a.discard(ba);
    await b.write('reports', 2, slice(250, 399));
    await a.close();
    await b.close();
    await exactlyOnce(lake);
  });

  it('a writer paused past everything: its late decision is refused, its late checkpoint moves nothing back', async () => {
    const lake = o.lake();
    const zombie = await open(lake);
    const owner = await open(lake);
    await zombie.write('reports', 2, slice(0, 99));
    const late = await zombie.stage('reports', 2, slice(100, 399), { first: 100, last: 399 });
    await owner.write('reports', 2, slice(100, 249)); // the owner decides, publishes and prunes [100, 249]
    await owner.write('reports', 2, slice(250, 399));
    // The pruned record at 100 no longer blocks a put-if-absent: the checkpoint check after it does.
    assert.equal(await zombie.writeMarker(late), 'superseded');
    assert.equal(await zombie.store.head(commitKey('reports', 2, 100)), undefined, 'the stale record was taken back');
    await zombie.store.put(checkpointKey('reports', 2, 99), '{"offset":99}', { ifAbsent: true });
    assert.equal(await owner.checkpoint('reports', 2), 399, 'the highest checkpoint wins');
    await zombie.discard(late);
    await zombie.close();
    await owner.close();
    await exactlyOnce(lake);
  });
}
