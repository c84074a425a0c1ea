/**
 * Queries over a lake the engine cannot read in place (S3): the objects a query's time range needs are fetched into
 * a bounded local cache. Written against a lake location only: cache.test.ts runs it on a local directory read as if
 * it were remote, s3-ceph.test.ts on Ceph RGW.
 */
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnalysisService } from '../../src/analysis/index.ts';
import { compactLakeInChild } from '../../src/lake/compact-process.ts';
import { compactLake, LakeWriter, listLiveFiles, liveDataFiles, openLakeQuery, type LakeFileSet, type LakeFilesOptions } from '../../src/lake/index.ts';
import { analysisConfig } from '../analysis/helpers.ts';
import { SampleFleet, sampleAlertEvents } from './fixtures/sample.ts';
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

/**
 * Six hours of day 2 in half-hour batches on two stream partitions in turn: two small files per hour to merge into one
 * named by both partitions' ranges (a closed hour, issue 14). Returns the reports written.
 */
async function writeSixHours(lake: string, scratchDir: string): Promise<typeof threeDays> {
  const six = threeDays.filter((r) => r.ts >= START + 2 * DAY_MS && r.ts < START + 2 * DAY_MS + 6 * 3_600_000);
  const w = await LakeWriter.open(lake, { scratchDir });
  const next = [0, 0];
  for (let i = 0; i < six.length; i += 8) {
    const p = (i / 8) % 2;
    await w.write('reports', p, recordsOf(six.slice(i, i + 8), next[p]));
    next[p]! += 8;
  }
  await w.close();
  return six;
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
      const q = await openLakeQuery(files, { tenant: 'default', range: day(1) });
      const n = Number((await q.run(`SELECT count(*) FROM reports WHERE ts >= '2025-01-16' AND ts < '2025-01-17'`)).rows[0]![0]);
      await q.close();
      assert.equal(n, inDay(1));
      const cache = files.cache()!;
      const fetched = cache.fetchedKeys;
      const dayFiles = await listLiveFiles(files.store, 'reports', { tenant: 'default', range: day(1) });
      assert.ok(dayFiles.length >= 24, `one file per hour at least (${dayFiles.length})`);
      assert.equal(fetched.length, dayFiles.length, 'every object of that day, once');
      assert.deepEqual(fetched.filter((k) => !k.startsWith('reports/tenant=default/date=2025-01-16/')), [], 'nothing of another day');
      const again = await openLakeQuery(files, { tenant: 'default', range: day(1) });
      assert.equal(Number((await again.run('SELECT count(*) FROM reports')).rows[0]![0]), inDay(1));
      await again.close();
      assert.equal(cache.fetchedKeys.length, dayFiles.length, 'the second query fetched nothing');
      assert.equal(cache.stats().hits, dayFiles.length);
    } finally {
      await files.close();
    }
  });

  it('a one-day statistic through AnalysisService fetches only that day\'s objects of its tenant (alerts: from that day on)', async () => {
    // Own lake, sparse to stay light: the default tenant's reports every 3 hours over three days with alert events on
    // each day, and another tenant's reports on the day asked for.
    const own = o.lake();
    const mine = new SampleFleet({ drones: 4, seed: 6, start: START, intervalMs: 3 * 3_600_000 }).reports(4 * 24);
    const w = await LakeWriter.open(own, { scratchDir: o.dir() });
    await w.write('reports', 0, recordsOf(mine));
    await w.write('alerts', 0, recordsOf(sampleAlertEvents(mine.filter((r) => new Date(r.ts).getUTCHours() === 9), 2)));
    const lyon = new SampleFleet({ drones: 2, seed: 9, start: START + DAY_MS + 3_600_000, intervalMs: 6 * 3_600_000, tenant: 'lyon' }).reports(2 * 3);
    await w.write('reports', 1, recordsOf(lyon));
    await w.close();
    const mineInDay1 = mine.filter((r) => r.ts >= START + DAY_MS && r.ts < START + 2 * DAY_MS).length;
    const files = o.files(own, { cacheDir: o.dir() });
    const service = new AnalysisService({ source: files, config: analysisConfig() });
    try {
      const cur = await service.stat('default', 'reports-daily', { from: '2025-01-16', to: '2025-01-17' });
      const rows: unknown[][] = [];
      for await (const b of cur) rows.push(...b);
      assert.deepEqual(rows.map((r) => [r[0], r[1]]), [['2025-01-16', mineInDay1]], 'the day\'s count');
      const fetched = files.cache()!.fetchedKeys;
      const dayReports = await listLiveFiles(files.store, 'reports', { tenant: 'default', range: day(1) });
      const reportKeys = fetched.filter((k) => k.startsWith('reports/'));
      assert.equal(reportKeys.length, dayReports.length, `that day's report objects, each once: ${reportKeys.join(' ')}`);
      assert.deepEqual(reportKeys.filter((k) => !k.startsWith('reports/tenant=default/date=2025-01-16/')), [], 'no report object of another day or tenant');
      const alertKeys = fetched.filter((k) => k.startsWith('alerts/'));
      assert.ok(alertKeys.length > 0, 'alert events from the day on are fetched (latest state)');
      assert.deepEqual(alertKeys.filter((k) => !/^alerts\/tenant=default\/date=2025-01-1[67]\//.test(k)), [], 'no alert object before the day');
      assert.deepEqual(fetched.filter((k) => k.includes('tenant=lyon')), [], 'nothing of the other tenant');
      assert.ok((await listLiveFiles(files.store, 'reports', { tenant: 'lyon' })).length > 0, 'the other tenant has files that day');
    } finally {
      await service.close();
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
    const dayBytes = await Promise.all([0, 1, 2].map(async (d) => (await liveDataFiles(sizer.store, 'reports', { tenant: 'default', range: day(d) })).reduce((n, f) => n + f.size, 0)));
    await sizer.close();
    const limit = Math.ceil(Math.max(...dayBytes) * 1.2);
    assert.ok(limit < dayBytes[0]! + dayBytes[1]! && limit < dayBytes[1]! + dayBytes[2]!, 'one day fits, two do not');
    const files = o.files(lake, { cacheDir: o.dir(), cacheBytes: limit });
    try {
      for (const d of [0, 1, 2]) {
        const q = await openLakeQuery(files, { tenant: 'default', range: day(d) });
        assert.equal(Number((await q.run('SELECT count(*) FROM reports').then((r) => r.rows[0]![0]))) >= inDay(d), true, `day ${d}`);
        await q.close();
        assert.ok(files.cache()!.stats().bytes <= limit, `within ${limit} bytes after day ${d}: ${files.cache()!.stats().bytes}`);
      }
      assert.ok(files.cache()!.stats().evictions >= 24, `older days evicted (${files.cache()!.stats().evictions})`);
      await assert.rejects(openLakeQuery(files, { tenant: 'default' }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'DW_LAKE_CACHE_TOO_SMALL', e.message);
        assert.match(e.message, /lake\.cacheBytes/);
        return true;
      });
    } finally {
      await files.close();
    }
  });

  it('a snapshot keeps answering after compaction replaced its objects; a new one fetches only the merged files', async () => {
    const own = o.lake();
    const six = await writeSixHours(own, o.dir());
    const files = o.files(own, { cacheDir: o.dir() });
    try {
      const snapshot = await openLakeQuery(files, { tenant: 'default', range: day(2) });
      const before = files.cache()!.fetchedKeys.length;
      const r = await compactLake(own, { table: 'reports', minFiles: 2, olderThanMs: 0, hours: day(2), scratchDir: o.dir() });
      assert.ok(r.merged > 0 && r.hours === r.merged && r.inputs > r.merged, JSON.stringify(r));
      assert.equal(Number((await snapshot.run('SELECT count(*) FROM reports')).rows[0]![0]), six.length, 'the old snapshot reads its cached copies');
      await snapshot.refresh();
      assert.equal(Number((await snapshot.run('SELECT count(*) FROM reports')).rows[0]![0]), six.length, 'the new snapshot reads the merged files');
      const fetched = files.cache()!.fetchedKeys.slice(before);
      assert.equal(fetched.length, (await listLiveFiles(files.store, 'reports', { tenant: 'default', range: day(2) })).length, 'only the merged files were fetched');
      assert.equal(fetched.length, r.merged, fetched.join(' '));
      assert.ok(fetched.every((k) => /\/m-0\.[0-9a-z]+\.[0-9a-z]+_1\.[0-9a-z]+\.[0-9a-z]+\.parquet$/.test(k)), fetched.join(' '));
      await snapshot.close();
    } finally {
      await files.close();
    }
  });

  it('the archive worker\'s compaction child merges the closed hours of this lake (its own store, from the location and the environment)', async () => {
    const own = o.lake();
    const six = await writeSixHours(own, o.dir());
    const r = await compactLakeInChild(own, { table: 'reports', minFiles: 2, olderThanMs: 0, hours: day(2), scratchDir: o.dir() });
    assert.ok(r.merged > 0 && r.hours === r.merged && r.inputs > r.merged, JSON.stringify(r));
    const files = o.files(own, { cacheDir: o.dir() });
    try {
      const live = await listLiveFiles(files.store, 'reports', { tenant: 'default', range: day(2) });
      assert.equal(live.length, r.merged, live.join(' '));
      const q = await openLakeQuery(files, { tenant: 'default', range: day(2) });
      try {
        assert.deepEqual((await q.run('SELECT count(*), count(DISTINCT report_id) FROM reports')).rows[0]!.map(Number), [six.length, six.length]);
      } finally {
        await q.close();
      }
    } finally {
      await files.close();
    }
  });
}
