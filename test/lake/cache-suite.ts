/**
 * Queries over a lake the engine cannot read in place (S3): the objects a query's time range needs are fetched into
 * a bounded local cache. Written against a lake location only: cache.test.ts runs it on a local directory read as if
 * it were remote, s3-ceph.test.ts on Ceph RGW.
 */
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { compactLake, LakeWriter, listLiveFiles, liveDataFiles, openLakeQuery, type LakeFileSet, type LakeFilesOptions } from '../../src/lake/index.ts';
import { SampleFleet } from './fixtures/sample.ts';
import { byId, countRows, recordsOf, reportsInLake } from './helpers.ts';

export interface CacheSuiteOptions {
  /** A fresh, empty lake location for each call. */
  lake: () => string;
  /** A lake already holding `threeDays` (writeThreeDays), read-only for the suite; default: one written by the suite. */
  threeDaysLake?: () => string;
  /** The cached file source of a location (with the options given). */
  files: (location: string, opts: LakeFilesOptions & { cacheDir: string }) => LakeFileSet;
  /** A fresh local directory for each call. */
  dir: () => string;
}

const DAY_MS = 86_400_000;
const START = Date.UTC(2025, 0, 15);
/** Three days, 8 drones reporting every 30 minutes: 48 hour partitions with files, 16 reports per hour. */
export const threeDays = new SampleFleet({ drones: 8, seed: 5, start: START, intervalMs: 30 * 60_000 }).reports(8 * 2 * 72);
const day = (d: number): { from: Date; to: Date } => ({ from: new Date(START + d * DAY_MS), to: new Date(START + (d + 1) * DAY_MS - 1) });

/** Batches of 6 hours alternately on partitions 0 and 1 (each batch: 6 hour files). */
export async function writeThreeDays(lake: string, scratchDir: string): Promise<void> {
  const w = await LakeWriter.open(lake, { scratchDir });
  const per = 8 * 2 * 6;
  for (let i = 0, b = 0; i < threeDays.length; i += per, b++) {
    await w.write('reports', b % 2, recordsOf(threeDays.slice(i, i + per), Math.floor(b / 2) * per));
  }
  await w.close();
}

export function cacheSuite(o: CacheSuiteOptions): void {
  let lake: string;
  before(async () => {
    if (o.threeDaysLake) {
      lake = o.threeDaysLake();
      return;
    }
    lake = o.lake();
    await writeThreeDays(lake, o.dir());
  });

  const inDay = (d: number): number => threeDays.filter((r) => r.ts >= START + d * DAY_MS && r.ts < START + (d + 1) * DAY_MS).length;

  it('a one-day query fetches only that day\'s objects, then answers again from the cache', async () => {
    const files = o.files(lake, { cacheDir: o.dir() });
    try {
      const q = await openLakeQuery(files, { range: day(1) });
      const n = Number((await q.run(`SELECT count(*) FROM reports WHERE ts >= '2025-01-16' AND ts < '2025-01-17'`)).rows[0]![0]);
      await q.close();
      assert.equal(n, inDay(1));
      const cache = files.cache()!;
      const fetched = cache.fetchedKeys;
      const dayFiles = await listLiveFiles(files.store, 'reports', day(1));
      assert.ok(dayFiles.length >= 24, `one file per hour at least (${dayFiles.length})`);
      assert.equal(fetched.length, dayFiles.length, 'every object of that day, once');
      assert.deepEqual(fetched.filter((k) => !k.startsWith('reports/date=2025-01-16/')), [], 'nothing of another day');
      const again = await openLakeQuery(files, { range: day(1) });
      assert.equal(Number((await again.run('SELECT count(*) FROM reports')).rows[0]![0]), inDay(1));
      await again.close();
      assert.equal(cache.fetchedKeys.length, dayFiles.length, 'the second query fetched nothing');
      assert.equal(cache.stats().hits, dayFiles.length);
    } finally {
      await files.close();
    }
  });

  it('answers the whole lake exactly, and a new process reuses what the cache directory holds', async () => {
    const cacheDir = o.dir();
    const files = o.files(lake, { cacheDir });
    try {
      assert.deepStrictEqual(byId(await reportsInLake(files), (r) => r.reportId), byId(threeDays, (r) => r.reportId));
    } finally {
      await files.close();
    }
    const later = o.files(lake, { cacheDir });
    try {
      assert.equal(await countRows(later, 'reports'), threeDays.length);
      assert.equal(later.cache()!.stats().fetches, 0, 'everything was in the cache directory already');
    } finally {
      await later.close();
    }
  });

  it('stays within its size limit: evicts the least recently used day, refuses a query that cannot fit', async () => {
    const sizer = o.files(lake, { cacheDir: o.dir(), cacheBytes: 1 });
    const dayBytes = await Promise.all([0, 1, 2].map(async (d) => (await liveDataFiles(sizer.store, 'reports', day(d))).reduce((n, f) => n + f.size, 0)));
    await sizer.close();
    const limit = Math.ceil(Math.max(...dayBytes) * 1.2);
    assert.ok(limit < dayBytes[0]! + dayBytes[1]! && limit < dayBytes[1]! + dayBytes[2]!, 'one day fits, two do not');
    const files = o.files(lake, { cacheDir: o.dir(), cacheBytes: limit });
    try {
      for (const d of [0, 1, 2]) {
        const q = await openLakeQuery(files, { range: day(d) });
        assert.equal(Number((await q.run('SELECT count(*) FROM reports').then((r) => r.rows[0]![0]))) >= inDay(d), true, `day ${d}`);
        await q.close();
        assert.ok(files.cache()!.stats().bytes <= limit, `within ${limit} bytes after day ${d}: ${files.cache()!.stats().bytes}`);
      }
      assert.ok(files.cache()!.stats().evictions >= 24, `older days evicted (${files.cache()!.stats().evictions})`);
      await assert.rejects(openLakeQuery(files), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'DW_LAKE_CACHE_TOO_SMALL', e.message);
        assert.match(e.message, /lake\.cacheBytes/);
        return true;
      });
    } finally {
      await files.close();
    }
  });

  it('a snapshot keeps answering after compaction replaced its objects; a new one fetches only the merged files', async () => {
    // Six hours of day 2 in half-hour batches: two small files per hour to merge.
    const own = o.lake();
    const six = threeDays.filter((r) => r.ts >= START + 2 * DAY_MS && r.ts < START + 2 * DAY_MS + 6 * 3_600_000);
    const w = await LakeWriter.open(own, { scratchDir: o.dir() });
    for (let i = 0; i < six.length; i += 8) await w.write('reports', 0, recordsOf(six.slice(i, i + 8), i));
    await w.close();
    const files = o.files(own, { cacheDir: o.dir() });
    try {
      const snapshot = await openLakeQuery(files, { range: day(2) });
      const before = files.cache()!.fetchedKeys.length;
      const r = await compactLake(own, { table: 'reports', minFiles: 2, olderThanMs: 0, hours: day(2), scratchDir: o.dir() });
      assert.ok(r.merged > 0 && r.inputs > r.merged, JSON.stringify(r));
      assert.equal(Number((await snapshot.run('SELECT count(*) FROM reports')).rows[0]![0]), six.length, 'the old snapshot reads its cached copies');
      await snapshot.refresh();
      assert.equal(Number((await snapshot.run('SELECT count(*) FROM reports')).rows[0]![0]), six.length, 'the new snapshot reads the merged files');
      const fetched = files.cache()!.fetchedKeys.slice(before);
      assert.equal(fetched.length, (await listLiveFiles(files.store, 'reports', day(2))).length, 'only the merged files were fetched');
      assert.equal(fetched.length, r.merged, fetched.join(' '));
      await snapshot.close();
    } finally {
      await files.close();
    }
  });
}
