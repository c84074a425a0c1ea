import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { compactLake, DEFAULT_COMPACTION_MEMORY_LIMIT, openCompactionDuck } from '../../src/lake/compact.ts';
import { queryRows } from '../../src/lake/duck.ts';
import { dataFileName, parseDataFileName, parseDataFileRanges } from '../../src/lake/layout.ts';
import { openScratch } from '../../src/lake/scratch.ts';
import { tempDir } from '../../src/testkit/index.ts';

/** Fixes of the review of compaction across partitions (/tmp/notes/review-lake.md, F3, F9). */

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
    const py = JSON.parse(execFileSync('python3', ['-c', `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.resolve('deploy/spark'))})
import lake_stats
print(json.dumps([lake_stats.data_file_ranges(n) for n in json.loads(sys.stdin.read())]))
`], { input: JSON.stringify(names) }).toString()) as unknown;
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
});
