/**
 * The lake on a real HDFS (a NameNode and three DataNodes, replication 3, one cluster for the whole file) through
 * WebHDFS: the commit protocol's crash points and concurrent writers, queries through the local cache (a one-day
 * query fetches only that day's files), compaction, statistics from Parquet footers (ranged reads) and retention.
 * Skipped with an install hint when the Hadoop jars or Java are missing, except under CI=true where that fails.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyRetention, lakeFilesFor, lakeStats } from '../../src/lake/index.ts';
import { hdfsOrSkip, startHdfs, tempDir, type HdfsTestCluster } from '../../src/testkit/index.ts';
import { cacheSuite, threeDays, writeThreeDays } from './cache-suite.ts';
import { protocolSuite } from './protocol-suite.ts';

describe('the lake on HDFS (WebHDFS)', { skip: hdfsOrSkip() }, () => {
  const tmp = tempDir('dw-lake-hdfs-');
  let hdfs: HdfsTestCluster;
  let base: string;
  /** Three days of reports, written once: read by the cache suite, then counted and trimmed (retention last). */
  let shared: string;
  let n = 0;
  const saved: Record<string, string | undefined> = {};
  const dir = (): string => {
    const d = path.join(tmp.dir, `dir-${++n}`);
    mkdirSync(d);
    return d;
  };

  before(async () => {
    hdfs = await startHdfs();
    base = await hdfs.lake('lakes');
    // `webhdfs://` locations take their user where every command takes it: HADOOP_USER_NAME.
    for (const [k, v] of Object.entries(hdfs.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    process.stderr.write(`# hdfs ready in ${hdfs.timings.readyMs} ms\n`);
    shared = `${base}/three-days/lake`;
    await writeThreeDays(shared, dir());
  }, { timeout: 150_000 });

  after(async () => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    await hdfs?.stop();
    tmp.cleanup();
  }, { timeout: 60_000 });

  describe('commit protocol: crash points and concurrent writers', () => {
    protocolSuite({
      lake: () => `${base}/protocol-${++n}`,
      files: (location) => lakeFilesFor(location, { cacheDir: path.join(tmp.dir, 'protocol-cache') }),
      scratchDir: path.join(tmp.dir, 'scratch'),
    });
  });

  describe('queries through the local cache', () => {
    cacheSuite({
      lake: () => `${base}/cache-${++n}`,
      threeDaysLake: () => shared,
      files: (location, opts) => lakeFilesFor(location, opts),
      dir,
    });
  });

  describe('counted from the footers, and trimmed by retention', () => {
    it('stats count partitions, files, rows and bytes from the footers; retention deletes whole old hours, dry run first', async () => {
      const lake = shared;
      const stats = (await lakeStats(lake)).tables.find((t) => t.table === 'reports')!;
      assert.equal(stats.rows, threeDays.length);
      assert.equal(stats.partitions, 72);
      assert.ok(stats.files >= 72 && stats.bytes > 0, JSON.stringify(stats));
      assert.ok(stats.compressionRatio > 1, `zstd compresses (${stats.compressionRatio})`);
      assert.deepEqual([stats.oldest, stats.newest], ['2025-01-15T00', '2025-01-17T23']);
      // "Now" is 2025-01-19T12:00: with 3 days of retention, the first 12 hours of 2025-01-16 and all of 01-15 go.
      const now = Date.UTC(2025, 0, 19, 12);
      const dry = await applyRetention(lake, { table: 'reports', maxAgeDays: 3, now, dryRun: true });
      assert.equal(dry.partitions.length, 36);
      assert.equal((await lakeStats(lake)).tables[0]!.rows, threeDays.length, 'a dry run deletes nothing');
      const done = await applyRetention(lake, { table: 'reports', maxAgeDays: 3, now });
      assert.deepEqual(done.partitions.map((p) => p.dir), dry.partitions.map((p) => p.dir), 'what the dry run listed went');
      const left = (await lakeStats(lake)).tables[0]!;
      assert.equal(left.rows, threeDays.filter((r) => r.ts >= Date.UTC(2025, 0, 16, 12)).length);
      assert.equal(left.oldest, '2025-01-16T12');
    });
  });
});
