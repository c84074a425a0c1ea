import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rangesContain, rangesFileName, type StreamRange } from '../../src/lake/layout.ts';
import { splitLive, type DataFile } from '../../src/lake/live-files.ts';
import { hasPython, lakeStatsPython } from './fixtures/crossing.ts';
import { mulberry32 } from './fixtures/sample.ts';

function file(ranges: StreamRange[]): DataFile {
  const hour = { date: '2026-12-07', hour: '01' };
  const name = rangesFileName(ranges);
  return { ranges, tenant: 't', key: `reports/tenant=t/date=2026-12-07/hour=01/${name}`, dir: 'reports/tenant=t/date=2026-12-07/hour=01', hour, size: 1, mtimeMs: 0 };
}

/** The rule by its definition: dead when another file holds every one of its ranges. */
function reference(files: readonly DataFile[]): Set<string> {
  return new Set(files.filter((f) => files.some((g) => g !== f && rangesContain(g.ranges, f.ranges))).map((f) => f.key));
}

/** Random directories: batch files, partition merges and merges across partitions, one file per set of ranges. */
function randomDirectories(seed: number, count: number): DataFile[][] {
  const random = mulberry32(seed);
  const dirs: DataFile[][] = [];
  for (let round = 0; round < count; round++) {
    const byKey = new Map<string, DataFile>();
    const partitions = 1 + Math.floor(random() * 4);
    const n = 1 + Math.floor(random() * 60);
    for (let i = 0; i < n; i++) {
      const range = (p: number): StreamRange => {
        const first = Math.floor(random() * 200);
        return { partition: p, first, last: first + Math.floor(random() * (random() < 0.2 ? 150 : 15)) };
      };
      const multi = partitions > 1 && random() < 0.15;
      const ranges = multi
        ? [...Array(partitions).keys()].filter(() => random() < 0.8).map(range)
        : [range(Math.floor(random() * partitions))];
      if (ranges.length === 0) continue;
      const f = file(ranges);
      byKey.set(f.key, f); // one set of ranges, one name
    }
    dirs.push([...byKey.values()]);
  }
  return dirs;
}

test('the Spark job keeps the same live files as the TypeScript readers', { skip: hasPython() ? false : 'python3 is not installed' }, () => {
  const dirs = randomDirectories(7, 200);
  const input = dirs.map((files) => files.map((f) => [f.ranges.map((r) => [r.partition, r.first, r.last]), f.key]));
  const py = lakeStatsPython('[sorted(key for _, key in lake_stats.live_files([([tuple(r) for r in ranges], key) for ranges, key in d])) for d in data]', input) as string[][];
  assert.deepEqual(py, dirs.map((files) => splitLive(files).live.map((f) => f.key).sort()));
});

test('live and dead files are the definition\'s, on random directories of batch files, partition merges and merges across partitions', () => {
  for (const [round, files] of randomDirectories(20261207, 400).entries()) {
    const { live, dead } = splitLive(files);
    assert.equal(live.length + dead.length, files.length);
    assert.deepEqual(new Set(dead.map((f) => f.key)), reference(files), `round ${round}`);
  }
});
