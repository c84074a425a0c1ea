/**
 * A snapshot's files deleted between their listing and the engine's binding (compaction merged them, retention
 * dropped them). A 10-minute soak's queries failed with `cannot open the lake for queries: IO Error: No files found`
 * every few minutes: the retry on deleted files covered a query's run, not the opening of the snapshot it runs on.
 * Here the lake is compacted by the real compaction right after the first listing of `reports`.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { AnalysisService } from '../../src/analysis/index.ts';
import { compactLake, LakeSandbox, LakeWriter, localLakeFiles, openLakeQuery, openSnapshot, QueryError, type LakeFileSource } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { analysisConfig } from './helpers.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { recordsOf } from '../lake/helpers.ts';

const START = Date.UTC(2025, 0, 15, 10, 0, 0);
const BATCHES = 5;

/** One hour of reports written as BATCHES small files of partition 0: compaction merges them into one. */
async function smallFilesLake(root: string): Promise<number> {
  const reports = new SampleFleet({ drones: 20, seed: 9, start: START }).reports(40 * BATCHES);
  const w = await LakeWriter.open(root);
  for (let b = 0; b < BATCHES; b++) await w.write('reports', 0, recordsOf(reports.slice(b * 40, (b + 1) * 40), b * 40));
  await w.close();
  return reports.length;
}

/** The lake's files, compacted once right after the first listing of `reports` returned (that listing goes stale). */
function compactedAfterFirstListing(root: string): { source: LakeFileSource; listings: () => number } {
  const real = localLakeFiles(root);
  let listings = 0;
  return {
    listings: () => listings,
    source: {
      async liveFiles(table, scope) {
        const files = await real.liveFiles(table, scope);
        if (table === 'reports' && ++listings === 1) {
          const merged = await compactLake(root, { table: 'reports', minFiles: 2, olderThanMs: 0 });
          assert.equal(merged.inputs, BATCHES, 'the listed files were merged and deleted');
        }
        return files;
      },
    },
  };
}

describe('a snapshot whose listed files are deleted before it is opened', () => {
  const tmp = tempDir('dw-snapshot-gone-');
  after(() => tmp.cleanup());

  it('the analysis service lists the lake again and answers on the merged file', async () => {
    const root = path.join(tmp.dir, 'service');
    const total = await smallFilesLake(root);
    const lake = compactedAfterFirstListing(root);
    const service = new AnalysisService({ source: lake.source, config: analysisConfig() });
    try {
      const cursor = await service.query('default', 'SELECT count(*) AS n FROM reports');
      const rows: unknown[][] = [];
      for await (const chunk of cursor) rows.push(...chunk);
      assert.deepEqual(rows, [[total]]);
      assert.equal(lake.listings(), 2, 'listed once more after the open failed');
    } finally {
      await service.close();
    }
  });

  it('openLakeQuery (the CLI) does the same', async () => {
    const root = path.join(tmp.dir, 'cli');
    const total = await smallFilesLake(root);
    const lake = compactedAfterFirstListing(root);
    const q = await openLakeQuery(lake.source, { tenant: 'default' });
    try {
      const result = await q.run('SELECT count(*) AS n FROM reports');
      assert.equal(Number(result.rows[0]![0]), total);
      assert.equal(lake.listings(), 2);
    } finally {
      await q.close();
    }
  });

  it('gives up after three listings that each name a missing file, with the engine error', async () => {
    let listings = 0;
    const missing = path.join(tmp.dir, 'gone', 'p0000-0000000000000000-0000000000000009.parquet');
    const source: LakeFileSource = { liveFiles: async (table) => (table === 'reports' ? (listings++, [missing]) : []) };
    await assert.rejects(openSnapshot(source, { tenant: 'default' }, (files) => LakeSandbox.open(files, { tenant: 'default' })), QueryError);
    assert.equal(listings, 3);
  });
});
