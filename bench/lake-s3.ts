/**
 * Lake on S3 benchmark (issue 5): the same simulated reports archived into a lake on local disk and into a lake on a
 * real Ceph RGW (started by the testkit helper, memstore OSD, same machine), then the same queries run on both.
 * - Archive: LakeWriter with the full commit protocol, per stream partition, batches of up to 100,000 (the deployed
 *   size) and of 2,000 (what a short batch age gives), local and S3 alternately; rows/s and the S3 / local ratio.
 * - Queries: open (list, fetch into the cache when on S3, build the views) and run, as the CLI does. Local: in place.
 *   S3 cold: a fresh cache directory; S3 warm: the same query again on that cache (it still lists the bucket).
 *   Median of 3 each (three fresh cache directories for cold), local and S3 alternating; the answers are compared.
 * Skipped with a message when the Ceph programs are missing.
 * Run: node --import tsx bench/lake-s3.ts [reports]
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { statSql } from '../src/analysis/index.ts';
import type { AcceptedReport } from '../src/contract/types.ts';
import { lakeFilesFor, LakeWriter, liveDataFiles, openLakeQuery, type ArchiveRecord, type LakeFileSet, type TimeRange } from '../src/lake/index.ts';
import { openObjectStore, type ObjectStore, type S3ObjectStoreOptions } from '../src/objectstore/index.ts';
import { partitionOf } from '../src/stream/types.ts';
import { CEPH_INSTALL_HINT, missingCephBinaries, startCeph, tempDir, type CephCluster } from '../src/testkit/index.ts';
import { simulatedReports } from './archive.ts';
import { isMain, printTable } from './util.ts';

const PARTITIONS = 8;
const HOUR_MS = 3_600_000;
const encoder = new TextEncoder();

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** As bench/archive.ts: per partition (by droneId), consecutive offsets. */
function toPartitions(reports: readonly AcceptedReport[]): ArchiveRecord[][] {
  const parts: ArchiveRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const r of reports) {
    const p = parts[partitionOf(r.droneId, PARTITIONS)]!;
    p.push({ offset: p.length, value: encoder.encode(JSON.stringify(r)) });
  }
  return parts;
}

/** Milliseconds to write every partition in batches of `batch` (closing the writer not included, as bench/archive.ts). */
async function archive(lake: string | ObjectStore, parts: readonly ArchiveRecord[][], batch: number, scratchDir: string): Promise<number> {
  const writer = await LakeWriter.open(lake, { scratchDir });
  try {
    const t0 = performance.now();
    for (const [p, records] of parts.entries()) {
      for (let i = 0; i < records.length; i += batch) await writer.write('reports', p, records.slice(i, i + batch));
    }
    return performance.now() - t0;
  } finally {
    await writer.close();
  }
}

interface BenchQuery {
  name: string;
  sql: string;
  /** Passed to openLakeQuery: only these hours' files are listed (and fetched, on S3). */
  range?: TimeRange;
}

interface Timed {
  ms: number;
  answer: string;
  files: number;
  /** Bytes of the files the views read. */
  bytes: number;
}

async function timeQuery(files: LakeFileSet, q: BenchQuery, sizeOf: (file: string) => number): Promise<Timed> {
  const t0 = performance.now();
  const lake = await openLakeQuery(files, { tenant: 'default', ...(q.range ? { range: q.range } : {}) });
  try {
    const result = await lake.run(q.sql);
    const ms = performance.now() - t0;
    const read = lake.files().reports;
    return { ms, answer: JSON.stringify(result.rows), files: read.length, bytes: read.reduce((n, f) => n + sizeOf(f), 0) };
  } finally {
    await lake.close();
  }
}

export async function benchLakeS3(opts: { reports: number; runs?: number }): Promise<Record<string, number | string>> {
  const missing = missingCephBinaries();
  if (missing.length > 0) return { skipped: `Ceph not installed (missing ${missing.join(', ')}); install it with: ${CEPH_INSTALL_HINT}` };
  const runs = opts.runs ?? 3;
  const tmp = tempDir('dw-bench-lake-s3-');
  const scratch = path.join(tmp.dir, 'scratch');
  mkdirSync(scratch);
  let ceph: CephCluster | undefined;
  const stores: ObjectStore[] = [];
  try {
    const reports = simulatedReports(opts.reports);
    const parts = toPartitions(reports);
    const n = reports.length;
    const out: Record<string, number | string> = { reports: n };

    ceph = await startCeph();
    const bucket = await ceph.createBucket();
    out['ceph ready s (mon, osd on memstore, rgw, user)'] = ceph.timings.readyMs / 1000;
    const s3: Omit<S3ObjectStoreOptions, 'bucket' | 'prefix'> = {
      endpoint: ceph.endpoint, region: ceph.region, credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
    };
    const s3Store = (prefix: string): ObjectStore => {
      const store = openObjectStore(`s3://${bucket}/${prefix}`, { s3 });
      stores.push(store);
      return store;
    };
    const local = (name: string): string => path.join(tmp.dir, name);

    // Warm-up of both paths (DuckDB's first run in a process, the S3 SDK's import and first connections), then local
    // and S3 alternately, best of two each, as bench/archive.ts does.
    const warm = [parts[0]!.slice(0, 5000)];
    await archive(local('warmup'), warm, 100_000, scratch);
    await archive(s3Store('warmup'), warm, 100_000, scratch);
    let localMs = Number.POSITIVE_INFINITY;
    let s3Ms = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 2; round++) {
      localMs = Math.min(localMs, await archive(local(`lake-big-${round}`), parts, 100_000, scratch));
      s3Ms = Math.min(s3Ms, await archive(s3Store(`lake-big-${round}`), parts, 100_000, scratch));
    }
    const localSmallMs = await archive(local('lake-small'), parts, 2_000, scratch);
    const s3SmallMs = await archive(s3Store('lake-small'), parts, 2_000, scratch);
    const rate = (ms: number): number => Math.round(n / (ms / 1000));
    out['archive rows/s to local disk (batches of up to 100k)'] = rate(localMs);
    out['archive rows/s to Ceph RGW (batches of up to 100k)'] = rate(s3Ms);
    out['Ceph RGW / local disk speed, batches of up to 100k'] = localMs / s3Ms;
    out['archive rows/s to local disk (batches of 2,000)'] = rate(localSmallMs);
    out['archive rows/s to Ceph RGW (batches of 2,000)'] = rate(s3SmallMs);
    out['Ceph RGW / local disk speed, batches of 2,000'] = localSmallMs / s3SmallMs;

    const localLake = local('lake-big-0');
    const s3Lake = s3Store('lake-big-0');
    const localFiles = lakeFilesFor(localLake);
    const localData = await liveDataFiles(localFiles.store, 'reports', { tenant: 'default' });
    const s3Data = await liveDataFiles(s3Lake, 'reports', { tenant: 'default' });
    out['lake data files, local / S3 (batches of up to 100k)'] = `${localData.length} / ${s3Data.length}`;
    out['lake bytes, local / S3'] = `${localData.reduce((b, f) => b + f.size, 0)} / ${s3Data.reduce((b, f) => b + f.size, 0)}`;

    // What a warm query still pays on S3 before DuckDB starts: listing both tables' objects (reports and alerts).
    const listMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await liveDataFiles(s3Lake, 'reports', { tenant: 'default' });
      await liveDataFiles(s3Lake, 'alerts', { tenant: 'default' });
      listMs.push(performance.now() - t0);
    }
    out['S3 listing of the lake (reports + alerts tables) ms, median'] = median(listMs);

    // The hour holding the middle report (with --quick's 50 minutes of reports, the only hour: the whole lake).
    const hourStart = Math.floor(reports[Math.floor(n / 2)]!.ts / HOUR_MS) * HOUR_MS;
    const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
    const queries: BenchQuery[] = [
      { name: 'count(*) of all reports', sql: 'SELECT count(*) AS n FROM reports' },
      {
        name: `one hour (${iso(hourStart).slice(11, 16)} UTC): top 10 drones by reports, avg citizens`,
        sql: `SELECT drone_id, count(*) AS reports, round(avg(citizen_count), 6) AS citizens, min(min_score) AS min_score FROM reports
          WHERE ts >= TIMESTAMP '${iso(hourStart)}' AND ts < TIMESTAMP '${iso(hourStart + HOUR_MS)}'
          GROUP BY drone_id ORDER BY reports DESC, drone_id LIMIT 10`,
        range: { from: new Date(hourStart), to: new Date(hourStart + HOUR_MS - 1) },
      },
      { name: 'statistic top-words (whole lake)', sql: statSql('top-words') },
    ];
    const sizes = new Map(localData.map((f) => [path.join(localLake, ...f.key.split('/')), f.size]));
    const localSize = (file: string): number => sizes.get(file) ?? 0;
    await timeQuery(localFiles, queries[0]!, localSize); // warm-up: the first query of a process pays DuckDB's start

    let cacheNo = 0;
    for (const q of queries) {
      const localRuns: Timed[] = [];
      const cold: number[] = [];
      const warmRuns: number[] = [];
      const fetched = { cold: [] as number[], coldFiles: [] as number[], warm: [] as number[] };
      let same = true;
      for (let i = 0; i < runs; i++) {
        const l = await timeQuery(localFiles, q, localSize);
        localRuns.push(l);
        // Cached copies are the objects byte for byte: the cache's counters say what a run fetched.
        const files = lakeFilesFor(s3Lake, { cacheDir: path.join(tmp.dir, `cache-${++cacheNo}`) });
        try {
          const c = await timeQuery(files, q, () => 0);
          const afterCold = files.cache()?.stats();
          const w = await timeQuery(files, q, () => 0);
          const afterWarm = files.cache()?.stats();
          cold.push(c.ms);
          warmRuns.push(w.ms);
          fetched.cold.push(afterCold?.fetchedBytes ?? Number.NaN);
          fetched.coldFiles.push(afterCold?.fetches ?? Number.NaN);
          fetched.warm.push((afterWarm?.fetchedBytes ?? Number.NaN) - (afterCold?.fetchedBytes ?? Number.NaN));
          same &&= c.answer === l.answer && w.answer === l.answer;
        } finally {
          await files.close();
        }
      }
      const lm = median(localRuns.map((r) => r.ms));
      const cm = median(cold);
      const wm = median(warmRuns);
      out[`${q.name}: ms local / S3 cold / S3 warm`] = `${lm.toFixed(0)} / ${cm.toFixed(0)} / ${wm.toFixed(0)}`;
      out[`${q.name}: S3 cold / local, S3 warm / local (x)`] = `${(cm / lm).toFixed(1)} / ${(wm / lm).toFixed(1)}`;
      out[`${q.name}: local bytes read in place (files)`] = `${localRuns[0]!.bytes} (${localRuns[0]!.files})`;
      out[`${q.name}: S3 bytes fetched cold (objects) / warm`] = `${median(fetched.cold)} (${median(fetched.coldFiles)}) / ${median(fetched.warm)}`;
      out[`${q.name}: same answer local and S3`] = same ? 'yes' : 'NO';
    }
    await localFiles.close();
    return out;
  } finally {
    for (const s of stores) await s.close().catch(() => undefined);
    await ceph?.stop();
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 200_000);
  printTable(`lake-s3: ${n} simulated reports, Ceph RGW vs local disk`, await benchLakeS3({ reports: n }));
}
