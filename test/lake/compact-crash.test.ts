import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listLiveFiles } from '../../src/lake/index.ts';
import { spawnTsx, tempDir } from '../../src/testkit/index.ts';
import { parquetOnDisk, twoRecentHoursLake } from './fixtures/crossing.ts';
import { byId, lakeRows, reportsInLake } from './helpers.ts';

/**
 * A compactor killed with SIGKILL right after each step of a closed hour's merge across partitions (and between two
 * merges), then run again: readers see every report exactly once at every instant in between, and the second run
 * leaves one file per hour and nothing else.
 */

const here = path.dirname(fileURLToPath(import.meta.url));

async function compactor(root: string, scratch: string, crash: string[] = []): Promise<{ lines: string[]; signal: NodeJS.Signals | null }> {
  const child = spawnTsx(path.join(here, 'fixtures', 'compactor-process.ts'), [root, scratch, ...crash], { cwd: path.resolve(here, '../..') });
  const { signal } = await child.exited;
  return { lines: child.lines, signal };
}

async function assertOnce(root: string, n: number, when: string): Promise<void> {
  const [row] = await lakeRows(root, 'SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
  assert.deepEqual(row, { n, d: n }, when);
}

describe('compaction killed at any step', { timeout: 300_000 }, () => {
  const tmp = tempDir('dw-lake-compact-crash-');
  after(() => tmp.cleanup());

  for (const [step, merge] of [['staged', '1'], ['switched', '1'], ['dropped', '1'], ['switched', '2']] as const) {
    it(`killed after '${step}' of merge ${merge}: every report once, then one file per hour`, async () => {
      const root = path.join(tmp.dir, `${step}-${merge}`);
      const reports = await twoRecentHoursLake(root);
      const killed = await compactor(root, path.join(tmp.dir, 'scratch'), [step, merge]);
      assert.equal(killed.signal, 'SIGKILL', killed.lines.join('\n'));
      assert.ok(killed.lines.filter((l) => l.startsWith(`step ${step} `)).length === Number(merge), killed.lines.join('\n'));
      await assertOnce(root, reports.length, 'after the crash');
      const rerun = await compactor(root, path.join(tmp.dir, 'scratch'));
      assert.equal(rerun.signal, null);
      assert.ok(rerun.lines.some((l) => l.startsWith('done ')), rerun.lines.join('\n'));
      await assertOnce(root, reports.length, 'after the next run');
      const live = await listLiveFiles(root, 'reports', { tenant: 'default' });
      assert.equal(live.length, 2, live.join(' '));
      assert.ok(live.every((f) => path.basename(f).startsWith('m-')), live.join(' '));
      const onDisk = parquetOnDisk(root);
      // Nothing else: the rerun sweeps what the dead compactor's merge left contained (no grace time here).
      assert.equal(onDisk.length, 2, onDisk.join(' '));
      assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
    });
  }
});
