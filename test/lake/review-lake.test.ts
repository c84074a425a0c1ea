import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { compactLake, LakeWriter } from '../../src/lake/index.ts';
import { dropInputs, planCompaction, stageCompaction, switchCompaction } from '../../src/lake/compact.ts';
import { openDuck } from '../../src/lake/duck.ts';
import { parseDataFileRanges } from '../../src/lake/layout.ts';
import { openScratch } from '../../src/lake/scratch.ts';
import { LocalObjectStore } from '../../src/objectstore/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { age, CLOSED, crossingLake, hasPython, HOUR, hourLake, lakeStatsPython, OPEN } from './fixtures/crossing.ts';
import { SampleFleet } from './fixtures/sample.ts';
import { countRows, recordsOf } from './helpers.ts';

/** Review of "compaction across stream partitions" (8196a50..a6e0c52): see /tmp/notes/review-lake.md. */

describe('review-lake', () => {
  const tmp = tempDir('dw-review-lake-');
  after(() => tmp.cleanup());

  it('a closed hour whose block cannot be named (partition > 9999) is counted as nameTooLong, not a failed pass', async () => {
    // docs/lake-format.md "File names": "a block whose name would still be too long is not merged (counted as
    // `nameTooLong`, a warning)". rangesFileName throws a RangeError for a partition > 9999 instead, from
    // planCompaction: the whole pass (every hour, every tenant of the table) fails, and fails again every minute.
    const root = path.join(tmp.dir, 'p10000');
    const reports = new SampleFleet({ drones: 10, seed: 3, start: HOUR }).reports(40);
    const w = await LakeWriter.open(root);
    await w.write('reports', 10000, recordsOf(reports.slice(0, 20), 0));
    await w.write('reports', 10001, recordsOf(reports.slice(20), 0));
    await w.close();
    age(root, CLOSED - 120_000);
    const r = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 60_000, now: CLOSED });
    assert.deepEqual([r.merged, r.nameTooLong], [0, 1], JSON.stringify(r));
  });

  it('the Spark job and the TypeScript readers parse every file name the same way', { skip: !hasPython() }, () => {
    // Python's `\d` matches any Unicode digit (and int() reads it), and `$` matches before a trailing newline: names
    // TypeScript ignores as foreign are read by lake_stats.py (Spark would read a file DuckDB skips, or the reverse).
    const names = [
      'm-0.0.1n_1.0.27.parquet',
      'p0003-0000000000000000-0000000000000019.parquet',
      'm-1\u0660.0.1n_11.0.27.parquet', // "1" + ARABIC-INDIC DIGIT ZERO
      'p000\u0663-0000000000000000-0000000000000019.parquet', // ARABIC-INDIC DIGIT THREE
      'p0003-0000000000000000-0000000000000019.parquet\n',
      'm-0.0.1n_1.0.27.parquet\n',
    ];
    const py = lakeStatsPython('[lake_stats.data_file_ranges(n) for n in data]', names) as ([number, number, number][] | null)[];
    const ts = names.map((n) => parseDataFileRanges(n)?.map((r) => [r.partition, r.first, r.last]) ?? null);
    assert.deepEqual(py, ts);
  });

  it('one range has one name: a non-canonical p-name beside the canonical one does not hide both', async () => {
    // splitLive's comment: "Two distinct files never hold the same set of ranges (one set has one name)". True for
    // m- names (canonical spelling enforced), not for p- names: parseDataFileName reads `p3-0-19.parquet` as the same
    // range as `p0003-0000000000000000-0000000000000019.parquet`, each contains the other, both are dead.
    const root = path.join(tmp.dir, 'canonical');
    const reports = new SampleFleet({ drones: 10, seed: 4, start: HOUR }).reports(20);
    const w = await LakeWriter.open(root);
    await w.write('reports', 3, recordsOf(reports, 0));
    await w.close();
    const dir = path.join(root, 'reports/tenant=default/date=2025-01-15/hour=10');
    const [only] = readdirSync(dir);
    execFileSync('cp', [path.join(dir, only!), path.join(dir, 'p3-0-19.parquet')]);
    assert.equal(await countRows(root, 'reports'), reports.length);
  });

  it('a partition merge listed while the hour was open and switched after the closed hour\'s merge stays contained (coverage the suite lacks)', async () => {
    const root = path.join(tmp.dir, 'late-partition-merge');
    const reports = await hourLake(root, 2, 3); // 3 batches of 20 on partitions 0 and 1
    const store = new LocalObjectStore(root);
    age(root, OPEN - 120_000);
    const open = await planCompaction(store, { table: 'reports', minFiles: 2, olderThanMs: 60_000, now: OPEN });
    assert.equal(open.groups.filter((g) => g.kind === 'partition').length, 2);
    const duck = await openDuck();
    const scratch = await openScratch(path.join(tmp.dir, 'scratch-lpm'));
    try {
      const stagedOpen = await Promise.all(open.groups.map((g) => stageCompaction(store, duck, scratch, g)));
      // The closed hour's merge by another compactor, 11 minutes after the end, switches and drops its inputs first.
      const closed = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 0, now: CLOSED });
      assert.equal(closed.hours, 1, JSON.stringify(closed));
      for (const s of stagedOpen) {
        assert.equal(await switchCompaction(store, s), true);
        await dropInputs(store, s.group);
      }
      assert.equal(await countRows(root, 'reports'), reports.length);
      age(root, CLOSED - 60_000);
      const again = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 0, now: CLOSED });
      assert.equal(again.swept, 2, JSON.stringify(again));
      assert.equal(await countRows(root, 'reports'), reports.length);
    } finally {
      duck.close();
      await scratch.remove();
    }
  });
  it('a crossing left by a compactor on another clock (or an older version) is healed by the next closed-hour merge', async () => {
    // The timing argument holds only while compactors' clocks differ by < closedAfterMs / 2 and every compactor runs
    // this version (docs: older compactors must be stopped first; a rolling upgrade runs both). When it is broken,
    // a partition merge P (p0 0-59) crosses the closed hour's M (p0 0-39, p1 0-19): neither contains the other, both
    // are live, p0 0-39 is read twice. The next closed-hour merge would heal it (it takes every live file and drops
    // copies by report id), but planClosedHour skips the block: M is there and P is 1 single < minFiles.
    const root = path.join(tmp.dir, 'crossing');
    const fleet = await crossingLake(root, path.join(tmp.dir, 'scratch-crossing'));
    age(root, CLOSED - 120_000);
    const heal = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 60_000, now: CLOSED });
    assert.equal(await countRows(root, 'reports'), fleet.length, JSON.stringify(heal));
  });
});
