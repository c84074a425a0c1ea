import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { compactLake, DEFAULT_COMPACTION_MEMORY_LIMIT, openCompactionDuck } from '../../src/lake/compact.ts';
import { crosses } from '../../src/lake/compact-plan.ts';
import type { DataFile } from '../../src/lake/live-files.ts';
import { createLogger, silentLogger } from '../../src/util/log.ts';
import { validateConfig } from '../../src/config/index.ts';
import { archiveWorkerOptions } from '../../src/runtime/archive-host.ts';
import type { Stream } from '../../src/stream/types.ts';
import { age, CLOSED, crossingLake, lakeStatsPython } from './fixtures/crossing.ts';
import { countRows } from './helpers.ts';
import { queryRows } from '../../src/lake/duck.ts';
import { dataFileName, parseDataFileName, parseDataFileRanges } from '../../src/lake/layout.ts';
import { openScratch } from '../../src/lake/scratch.ts';
import { tempDir } from '../../src/testkit/index.ts';

/** Fixes of the review of compaction across partitions (/tmp/notes/review-lake.md: F1, F3, F6-F9). */

describe('lake fixes', () => {
  const tmp = tempDir('dw-lake-fixes-');
  after(() => tmp.cleanup());

  it('F3: the compaction DuckDB is bounded: memory_limit, spill under the scratch dir, one thread, no insertion order', async () => {
    const scratch = await openScratch(path.join(tmp.dir, 'scratch'));
    const settings = async (opts: Parameters<typeof openCompactionDuck>[1]): Promise<Record<string, unknown>> => {
      const duck = await openCompactionDuck(scratch, opts);
      try {
        const [row] = await queryRows(duck.conn, `SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t,
          current_setting('temp_directory') AS d, current_setting('preserve_insertion_order') AS o`);
        return row!;
      } finally {
        duck.close();
      }
    };
    try {
      assert.equal(DEFAULT_COMPACTION_MEMORY_LIMIT, '1GB');
      const d = await settings({});
      // DuckDB reports 1GB as 953.6 MiB.
      assert.match(String(d.m), /^953\.6 MiB$/);
      assert.equal(Number(d.t), 1);
      assert.equal(d.d, path.join(scratch.dir, 'spill'));
      assert.equal(d.o, false);
      const e = await settings({ memoryLimit: '512MB', threads: 2 });
      assert.match(String(e.m), /^488\.2 MiB$/);
      assert.equal(Number(e.t), 2);
      await assert.rejects(() => openCompactionDuck(scratch, { threads: 0 }), RangeError);
    } finally {
      await scratch.remove();
    }
  });

  it('F8: a p- name parses only in its canonical spelling (one range, one name)', () => {
    const r = { partition: 3, first: 0, last: 19 };
    assert.deepEqual(parseDataFileName(dataFileName(r)), r);
    assert.deepEqual(parseDataFileName(dataFileName({ partition: 10000, first: 5, last: 9 })), { partition: 10000, first: 5, last: 9 });
    for (const n of ['p3-0-19.parquet', 'p00003-0000000000000000-0000000000000019.parquet', 'p0003-000000000000000000-0000000000000019.parquet', 'p0003-0-0000000000000019.parquet']) {
      assert.equal(parseDataFileName(n), undefined, n);
      assert.equal(parseDataFileRanges(n), undefined, n);
    }
  });

  it('F7/F8: the Spark job parses non-canonical and non-ASCII names as layout.ts does (it skips them)', () => {
    const names = ['p3-0-19.parquet', 'p0003-0000000000000000-0000000000000019.parquet', 'p10000-0000000000000005-0000000000000009.parquet',
      'm-0.0.1n_1.0.27.parquet', 'm-0.0.1n_1.0.27.parquet\n', 'm-00.0.1n_1.0.27.parquet', 'p0003-0000000000000000-000000000000001\u0669.parquet'];
    const py = lakeStatsPython('[lake_stats.data_file_ranges(n) for n in data]', names);
    assert.deepEqual(py, names.map((n) => parseDataFileRanges(n)?.map((r) => [r.partition, r.first, r.last]) ?? null));
  });

  it('F9: closedAfterMs is a positive number or Infinity, a RangeError otherwise', async () => {
    const root = path.join(tmp.dir, 'closed-after');
    for (const closedAfterMs of [-1, 0, Number.NaN, Number.NEGATIVE_INFINITY]) {
      await assert.rejects(() => compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 0, closedAfterMs }), (e: unknown) => e instanceof RangeError && /closedAfterMs/.test(e.message), String(closedAfterMs));
    }
    for (const closedAfterMs of [1, 600_000, Number.POSITIVE_INFINITY]) {
      const r = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 0, closedAfterMs });
      assert.equal(r.merged, 0);
    }
  });

  it('F1: crosses finds overlapping ranges of one partition between files, and nothing else', () => {
    const f = (...ranges: [number, number, number][]): DataFile => ({ ranges: ranges.map(([partition, first, last]) => ({ partition, first, last })), tenant: 't', key: 'k', dir: 'd', hour: { date: '2025-01-15', hour: '10' }, size: 0, mtimeMs: 0 });
    assert.equal(crosses([f([0, 0, 39], [1, 0, 19]), f([0, 0, 59])]), true);
    assert.equal(crosses([f([0, 0, 39], [1, 0, 19]), f([0, 39, 59])]), true);
    assert.equal(crosses([f([0, 0, 39], [1, 0, 19]), f([0, 40, 59]), f([1, 20, 29]), f([2, 0, 9])]), false);
    assert.equal(crosses([f([0, 0, 9]), f([0, 20, 29]), f([0, 10, 19])]), false);
    assert.equal(crosses([f([0, 0, 9]), f([0, 20, 29]), f([0, 5, 15])]), true);
  });

  it('F1: a crossing of a closed hour is merged whatever minFiles says, counted and logged at warn', async () => {
    // The reviewer's scenario (review-lake.test.ts, test 5): a closed merge M (p0 0-39, p1 0-19) and a partition merge
    // P (p0 0-59) by a compactor on a skewed clock, both switched: neither contains the other.
    const root = path.join(tmp.dir, 'crossing');
    const fleet = await crossingLake(root, path.join(tmp.dir, 'scratch-crossing'));
    assert.equal(await countRows(root, 'reports'), fleet.length + 40, 'the crossing counts p0 0-39 twice');
    age(root, CLOSED - 120_000);
    const lines: string[] = [];
    const logger = createLogger('test', 'warn', { format: 'json', destination: { write: (line: string) => void lines.push(line) } });
    // minFiles 8: M is merged and P is 1 single, so only the crossing makes this merge.
    const heal = await compactLake(root, { table: 'reports', minFiles: 8, olderThanMs: 60_000, now: CLOSED, logger });
    assert.deepEqual([heal.crossings, heal.hours, heal.duplicates], [1, 1, 40], JSON.stringify(heal));
    assert.equal(await countRows(root, 'reports'), fleet.length);
    const warn = lines.map((l) => JSON.parse(l) as { level: number; msg: string; blocks?: number }).find((l) => /cross/.test(l.msg));
    assert.equal(warn?.level, 40);
    assert.equal(warn?.blocks, 1);
    const again = await compactLake(root, { table: 'reports', minFiles: 8, olderThanMs: 60_000, now: CLOSED });
    assert.deepEqual([again.crossings, again.merged], [0, 0], JSON.stringify(again));
  });

  it('F3/F12: the compaction memory limit and the closed hours\' zstd level come from the configuration', () => {
    const stream = {} as Stream; // not used by the mapping
    const d = archiveWorkerOptions(validateConfig({ dataDir: tmp.dir }), stream, silentLogger);
    assert.deepEqual([d.compactMemoryLimit, d.compactionHourLevel], ['1GB', 15]);
    const o = archiveWorkerOptions(validateConfig({ dataDir: tmp.dir, archive: { compactMemoryLimit: '2GiB', compactionHourLevel: 19 } }), stream, silentLogger);
    assert.deepEqual([o.compactMemoryLimit, o.compactionHourLevel], ['2GiB', 19]);
    assert.throws(() => validateConfig({ archive: { compactMemoryLimit: 'lots' } }));
    assert.throws(() => validateConfig({ archive: { compactionHourLevel: 23 } }));
  });
});
