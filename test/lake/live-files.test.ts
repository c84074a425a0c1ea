import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listLiveFiles } from '../../src/lake/index.ts';
import { checkpointKey, dataFileName, hourOf, parseDataFileName, rangeContains } from '../../src/lake/layout.ts';
import { tempDir } from '../../src/testkit/index.ts';

describe('lake layout: file names', () => {
  it('encodes partition and offsets zero-padded, so names sort by offset, and parses them back', () => {
    const a = dataFileName({ partition: 3, first: 9, last: 120 });
    const b = dataFileName({ partition: 3, first: 121, last: 1000 });
    assert.equal(a, 'p0003-0000000000000009-0000000000000120.parquet');
    assert.ok(a < b);
    assert.deepEqual(parseDataFileName(b), { partition: 3, first: 121, last: 1000 });
    assert.deepEqual(parseDataFileName(dataFileName({ partition: 1023, first: 0, last: Number.MAX_SAFE_INTEGER })), { partition: 1023, first: 0, last: Number.MAX_SAFE_INTEGER });
    for (const bad of ['p0003-0000000000000009-0000000000000120.parquet.tmp-ab12', 'x.parquet', 'p1-5-4.parquet', 'COMMIT']) assert.equal(parseDataFileName(bad), undefined, bad);
    assert.throws(() => dataFileName({ partition: 0, first: -1, last: 2 }));
  });

  it('puts an instant in its UTC hour', () => {
    assert.deepEqual(hourOf(Date.UTC(2025, 0, 15, 23, 59, 59, 999)), { date: '2025-01-15', hour: '23' });
    assert.deepEqual(hourOf(Date.UTC(2025, 0, 16)), { date: '2025-01-16', hour: '00' });
  });

  it('containment is per partition and inclusive', () => {
    assert.ok(rangeContains({ partition: 1, first: 0, last: 10 }, { partition: 1, first: 0, last: 10 }));
    assert.ok(rangeContains({ partition: 1, first: 0, last: 10 }, { partition: 1, first: 3, last: 7 }));
    assert.ok(!rangeContains({ partition: 1, first: 0, last: 10 }, { partition: 2, first: 3, last: 7 }));
    assert.ok(!rangeContains({ partition: 1, first: 5, last: 10 }, { partition: 1, first: 3, last: 7 }));
  });
});

const T = 'default';

describe('listLiveFiles', () => {
  const tmp = tempDir('dw-lake-live-');
  after(() => tmp.cleanup());

  /** Only names matter for listing: empty files are enough. */
  function touch(root: string, table: string, date: string, hour: string, names: string[], tenant = T): void {
    const dir = path.join(root, table, `tenant=${tenant}`, `date=${date}`, `hour=${hour}`);
    mkdirSync(dir, { recursive: true });
    for (const n of names) writeFileSync(path.join(dir, n), '');
  }
  /** Readers only see files at or below their partition's checkpoint. */
  function checkpoint(root: string, table: 'reports' | 'alerts', partition: number, offset: number): void {
    const file = path.join(root, ...checkpointKey(table, partition, offset).split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ offset }));
  }
  const f = (partition: number, first: number, last: number): string => dataFileName({ partition, first, last });

  it('prunes by hour directory for a time range', async () => {
    const root = path.join(tmp.dir, 'prune');
    touch(root, 'reports', '2025-01-14', '23', [f(0, 0, 9)]);
    touch(root, 'reports', '2025-01-15', '00', [f(0, 10, 19)]);
    touch(root, 'reports', '2025-01-15', '10', [f(0, 20, 29), f(1, 0, 5)]);
    touch(root, 'reports', '2025-01-15', '11', [f(0, 30, 39)]);
    touch(root, 'reports', '2025-01-16', '00', [f(0, 40, 49)]);
    checkpoint(root, 'reports', 0, 49);
    checkpoint(root, 'reports', 1, 5);
    const rel = (files: string[]): string[] => files.map((x) => path.relative(path.join(root, 'reports', `tenant=${T}`), x));
    assert.equal((await listLiveFiles(root, 'reports', { tenant: T })).length, 6);
    assert.deepEqual(rel(await listLiveFiles(root, 'reports', { tenant: T, range: { from: new Date(Date.UTC(2025, 0, 15, 10, 30)), to: new Date(Date.UTC(2025, 0, 15, 11, 0)) } })), [
      `date=2025-01-15/hour=10/${f(0, 20, 29)}`, `date=2025-01-15/hour=10/${f(1, 0, 5)}`, `date=2025-01-15/hour=11/${f(0, 30, 39)}`,
    ]);
    assert.deepEqual(rel(await listLiveFiles(root, 'reports', { tenant: T, range: { to: new Date(Date.UTC(2025, 0, 14, 23, 59)) } })), [`date=2025-01-14/hour=23/${f(0, 0, 9)}`]);
    assert.deepEqual(rel(await listLiveFiles(root, 'reports', { tenant: T, range: { from: new Date(Date.UTC(2025, 0, 15, 12)) } })), [`date=2025-01-16/hour=00/${f(0, 40, 49)}`]);
    assert.deepEqual(await listLiveFiles(root, 'reports', { tenant: T, range: { from: new Date(Date.UTC(2026, 0, 1)) } }), []);
    assert.deepEqual(await listLiveFiles(root, 'alerts', { tenant: T }), []);
    assert.deepEqual(await listLiveFiles(path.join(tmp.dir, 'no-such-lake'), 'reports', { tenant: T }), []);
  });

  it('skips files contained in a bigger range of the same partition, and anything not named by a range', async () => {
    const root = path.join(tmp.dir, 'contain');
    touch(root, 'alerts', '2025-01-15', '10', [
      f(0, 0, 9), f(0, 10, 19), f(0, 0, 19), // a compaction whose inputs are not deleted yet
      f(0, 20, 29), // newer than the merged file
      f(1, 5, 15), // another partition: overlapping offsets mean nothing
      `${f(0, 30, 39)}.tmp-1a2b3c`, 'notes.txt',
    ]);
    checkpoint(root, 'alerts', 0, 29);
    checkpoint(root, 'alerts', 1, 15);
    const live = (await listLiveFiles(root, 'alerts', { tenant: T })).map((x) => path.basename(x));
    assert.deepEqual(live, [f(0, 0, 19), f(0, 20, 29), f(1, 5, 15)]);
  });

  it('hides files beyond their partition\'s checkpoint (a batch being written) and partitions without one', async () => {
    const root = path.join(tmp.dir, 'frontier');
    touch(root, 'reports', '2025-01-15', '10', [f(0, 0, 9), f(0, 10, 19), f(1, 0, 4), f(2, 0, 3)]);
    touch(root, 'reports', '2025-01-15', '11', [f(0, 10, 19)]);
    checkpoint(root, 'reports', 0, 9);
    checkpoint(root, 'reports', 1, 4);
    const live = async (): Promise<string[]> => (await listLiveFiles(root, 'reports', { tenant: T })).map((x) => path.relative(path.join(root, 'reports', `tenant=${T}`), x));
    assert.deepEqual(await live(), [`date=2025-01-15/hour=10/${f(0, 0, 9)}`, `date=2025-01-15/hour=10/${f(1, 0, 4)}`]);
    // The checkpoint of the batch [10, 19] makes both of its files visible at once; an older checkpoint left behind
    // (or written late by a stalled writer) changes nothing: the highest one counts.
    checkpoint(root, 'reports', 0, 19);
    checkpoint(root, 'reports', 0, 3);
    assert.deepEqual(await live(), [
      `date=2025-01-15/hour=10/${f(0, 0, 9)}`, `date=2025-01-15/hour=10/${f(0, 10, 19)}`, `date=2025-01-15/hour=10/${f(1, 0, 4)}`,
      `date=2025-01-15/hour=11/${f(0, 10, 19)}`,
    ]);
  });

  it('reads the checkpoint file of lakes written by the previous protocol', async () => {
    const root = path.join(tmp.dir, 'legacy');
    touch(root, 'reports', '2025-01-15', '10', [f(3, 0, 9), f(3, 10, 19)]);
    mkdirSync(path.join(root, '_checkpoints', 'reports'), { recursive: true });
    writeFileSync(path.join(root, '_checkpoints', 'reports', 'p0003.json'), JSON.stringify({ offset: 9, updatedAt: 1 }));
    assert.deepEqual((await listLiveFiles(root, 'reports', { tenant: T })).map((x) => path.basename(x)), [f(3, 0, 9)]);
  });
});
