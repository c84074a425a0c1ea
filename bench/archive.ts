/**
 * Archive benchmark: simulated reports (the Fleet simulator's defaults: 1,000 drones reporting once a minute, ~3
 * citizens from 50,000, ~4 words) as the JSON lines the stream carries, archived into the lake with the full commit
 * protocol (staging, fsync, COMMIT, rename, checkpoint), per stream partition.
 * Baselines in the same run: DuckDB alone COPYing the same NDJSON to one Parquet file (speed and size), the NDJSON
 * itself and the NDJSON gzipped (size).
 * Run: node --import tsx bench/archive.ts [reports] [--levers]   (--levers: bytes/report of each storage lever)
 */
import { statSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AcceptedReport } from '../src/contract/types.ts';
import { compactLake, DEFAULT_HOUR_COMPACTION_LEVEL, LakeWriter, type ArchiveRecord, type SplitStrategy } from '../src/lake/index.ts';
import { openDuck, queryRows, sqlString } from '../src/lake/duck.ts';
import { REPORT_JSON_COLUMNS, REPORTS_SCHEMA } from '../src/lake/schema.ts';
import { Fleet } from '../src/simulator/index.ts';
import { partitionOf } from '../src/stream/types.ts';
import { tempDir } from '../src/testkit/index.ts';
import { isMain, printTable } from './util.ts';

const PARTITIONS = 8;
const encoder = new TextEncoder();

/** Simulated reports as ingestion accepts them: id, epoch ms, a reception 20-320 ms later, the default tenant. */
export function simulatedReports(n: number, seed = 42, drones = 1000): AcceptedReport[] {
  const fleet = new Fleet({ seed, drones, start: Date.UTC(2025, 0, 15, 10, 0, 0) });
  let x = seed >>> 0;
  return fleet.take(n).map((r) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const ts = Date.parse(r.timestamp);
    return { ...r, reportId: `${r.droneId}:${ts}`, ts, receivedAt: ts + 20 + (x % 300), tenant: 'default' };
  });
}

/** The reports as the stream would hold them: per partition (by droneId), consecutive offsets. */
function toPartitions(lines: readonly Uint8Array[], reports: readonly AcceptedReport[]): ArchiveRecord[][] {
  const parts: ArchiveRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  reports.forEach((r, i) => {
    const p = parts[partitionOf(r.droneId, PARTITIONS)]!;
    p.push({ offset: p.length, value: lines[i]! });
  });
  return parts;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { recursive: true }).catch(() => [] as string[])) {
    if (String(e).endsWith('.parquet')) total += (await stat(path.join(dir, String(e)))).size;
  }
  return total;
}

async function archive(root: string, parts: readonly ArchiveRecord[][], batch: number, strategy: SplitStrategy): Promise<number> {
  const writer = await LakeWriter.open(root, { strategy });
  const t0 = performance.now();
  for (const [p, records] of parts.entries()) {
    for (let i = 0; i < records.length; i += batch) await writer.write('reports', p, records.slice(i, i + batch));
  }
  const ms = performance.now() - t0;
  await writer.close();
  return ms;
}

export async function benchArchive(opts: { reports: number }): Promise<Record<string, number>> {
  const tmp = tempDir('dw-bench-archive-');
  try {
    const reports = simulatedReports(opts.reports);
    const lines = reports.map((r) => encoder.encode(JSON.stringify(r)));
    const parts = toPartitions(lines, reports);
    const ndjson = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    const n = reports.length;
    const out: Record<string, number> = { reports: n };

    // Baseline: DuckDB alone, NDJSON file -> one Parquet file (no sorting, no layout, no protocol).
    const ndjsonFile = path.join(tmp.dir, 'reports.ndjson');
    writeFileSync(ndjsonFile, ndjson);
    const duck = await openDuck();
    const oneFile = path.join(tmp.dir, 'one.parquet');
    let t0 = performance.now();
    await duck.conn.run(`COPY (SELECT * FROM read_json(${sqlString(ndjsonFile)}, format = 'newline_delimited', columns = ${REPORT_JSON_COLUMNS}))
      TO ${sqlString(oneFile)} (FORMAT parquet, COMPRESSION zstd)`);
    const baselineMs = performance.now() - t0;
    duck.close();

    // The archive as deployed: a batch per partition of up to 100,000 records (here the whole share of each, which
    // spans several hours: the case where the split strategy matters). A warm-up first, then the two strategies
    // alternately, best of two each: the first DuckDB run of a process is slower whatever it does.
    await archive(path.join(tmp.dir, 'lake-warmup'), [parts[0]!.slice(0, 5000)], 100_000, 'per-hour');
    let bigMs = Number.POSITIVE_INFINITY;
    let pbMs = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 2; round++) {
      bigMs = Math.min(bigMs, await archive(path.join(tmp.dir, `lake-big-${round}`), parts, 100_000, 'per-hour'));
      pbMs = Math.min(pbMs, await archive(path.join(tmp.dir, `lake-pb-${round}`), parts, 100_000, 'partition-by'));
    }
    // Small batches (what a 10 s maxBatchAgeMs gives at higher rates), then compaction.
    const smallRoot = path.join(tmp.dir, 'lake-small');
    const smallMs = await archive(smallRoot, parts, 2_000, 'per-hour');
    const smallBytes = await dirBytes(path.join(smallRoot, 'reports'));
    // Compaction as the lake sees it: per partition while the hour is open (closedAfterMs Infinity: the hours never
    // close, as before issue 14), then across partitions once it is closed (the simulated hours are long closed).
    t0 = performance.now();
    const compaction = await compactLake(smallRoot, { table: 'reports', minFiles: 2, olderThanMs: 0, closedAfterMs: Number.POSITIVE_INFINITY });
    const compactMs = performance.now() - t0;
    const perPartitionBytes = await dirBytes(path.join(smallRoot, 'reports'));
    t0 = performance.now();
    const hourly = await compactLake(smallRoot, { table: 'reports', minFiles: 2, olderThanMs: 0 });
    const hourlyMs = performance.now() - t0;

    out['archive rows/s (batches of up to 100k, commit protocol)'] = Math.round(n / (bigMs / 1000));
    out['archive rows/s, PARTITION_BY instead of a COPY per hour'] = Math.round(n / (pbMs / 1000));
    out['archive rows/s (batches of 2,000)'] = Math.round(n / (smallMs / 1000));
    out['baseline: DuckDB COPY NDJSON -> 1 Parquet rows/s'] = Math.round(n / (baselineMs / 1000));
    out['archive / baseline speed'] = n / (bigMs / 1000) / (n / (baselineMs / 1000));
    out['compaction rows/s (per partition, zstd 9)'] = Math.round(compaction.rows / (compactMs / 1000));
    out[`compaction rows/s (closed hours across partitions, zstd ${DEFAULT_HOUR_COMPACTION_LEVEL})`] = Math.round(hourly.rows / (hourlyMs / 1000));
    out['closed-hour files (tenant x hour)'] = hourly.merged;
    out['lake files'] = (await readdir(path.join(tmp.dir, 'lake-big-0', 'reports'), { recursive: true })).filter((f) => String(f).endsWith('.parquet')).length;
    out['lake bytes/report (partition x hour files)'] = (await dirBytes(path.join(tmp.dir, 'lake-big-0', 'reports'))) / n;
    out['lake bytes/report, batches of 2,000'] = smallBytes / n;
    out['lake bytes/report, 2,000 then compacted per partition (zstd 9)'] = perPartitionBytes / n;
    out['lake bytes/report, then closed hours across partitions'] = (await dirBytes(path.join(smallRoot, 'reports'))) / n;
    out['baseline: DuckDB 1 Parquet file bytes/report'] = statSync(oneFile).size / n;
    out['NDJSON bytes/report'] = ndjson.length / n;
    out['NDJSON gzip bytes/report'] = gzipSync(ndjson).length / n;

    // Density matters: names are half the bytes and only compress when a file sees each citizen several times.
    // The brief's full fleet (~460,000 drones) puts millions of reports in each partition-hour file; 20,000 drones
    // over the same 50,000 citizens already put ~25,000 reports in each here (n reports within 10 minutes).
    const dense = simulatedReports(n, 42, 20_000);
    const denseLines = dense.map((r) => encoder.encode(JSON.stringify(r)));
    const denseRoot = path.join(tmp.dir, 'lake-dense');
    await archive(denseRoot, toPartitions(denseLines, dense), 100_000, 'per-hour');
    out['lake bytes/report, 20,000 drones (denser files)'] = (await dirBytes(path.join(denseRoot, 'reports'))) / n;
    out['NDJSON gzip bytes/report, 20,000 drones'] = gzipSync(Buffer.concat(denseLines.flatMap((l) => [l, Buffer.from('\n')]))).length / n;
    return out;
  } finally {
    tmp.cleanup();
  }
}

/**
 * Bytes/report of each storage lever, on the layout's real unit (one file per stream partition and hour), each
 * measured on the same reports: what docs/lake-format.md reports.
 */
export async function benchLakeLevers(opts: { reports: number }): Promise<Record<string, number>> {
  const tmp = tempDir('dw-bench-levers-');
  const duck = await openDuck();
  try {
    const reports = simulatedReports(opts.reports);
    const ndjsonFile = path.join(tmp.dir, 'reports.ndjson');
    writeFileSync(ndjsonFile, reports.map((r) => JSON.stringify({ ...r, p: partitionOf(r.droneId, PARTITIONS) })).join('\n'));
    const columns = REPORT_JSON_COLUMNS.replace(/}$/, ", 'p': 'INTEGER'}");
    await duck.conn.run(`CREATE TABLE raw AS SELECT * FROM read_json(${sqlString(ndjsonFile)}, format = 'newline_delimited', columns = ${columns})`);
    await duck.conn.run(`CREATE TABLE stored AS SELECT p, ${REPORTS_SCHEMA.storedProjection} FROM raw`);
    const groups = await queryRows(duck.conn, 'SELECT DISTINCT p, date, hour FROM stored');
    const naive = `reportId AS report_id, tenant, droneId AS drone_id, epoch_ms(CAST(ts AS BIGINT)) AS ts, position.lat AS lat, position.lon AS lon,
      citizens, words, len(citizens) AS citizen_count, list_min(list_transform(citizens, c -> c.score)) AS min_score,
      epoch_ms(CAST(receivedAt AS BIGINT)) AS received_at, "timestamp"`;
    const rawWhere = (g: Record<string, unknown>): string =>
      `p = ${g.p} AND strftime(epoch_ms(CAST(ts AS BIGINT)), '%Y-%m-%d') = '${g.date}' AND strftime(epoch_ms(CAST(ts AS BIGINT)), '%H') = '${g.hour}'`;
    const storedWhere = (g: Record<string, unknown>): string => `p = ${g.p} AND date = '${g.date}' AND hour = '${g.hour}'`;
    const n = reports.length;
    let file = 0;
    let lastFiles: string[] = [];
    const measure = async (fromRaw: boolean, select: string, order: string, options: string): Promise<number> => {
      let bytes = 0;
      lastFiles = [];
      for (const g of groups) {
        const f = path.join(tmp.dir, `${file++}.parquet`);
        const from = fromRaw ? `raw WHERE ${rawWhere(g)}` : `stored WHERE ${storedWhere(g)}`;
        await duck.conn.run(`COPY (SELECT ${select} FROM ${from} ${order}) TO ${sqlString(f)} (FORMAT parquet, ${options})`);
        bytes += statSync(f).size;
        lastFiles.push(f);
      }
      return bytes / n;
    };
    const sorted = 'ORDER BY drone_id, ts';
    const lean = '* EXCLUDE (p, date, hour)';
    const out: Record<string, number> = { reports: n, 'files (partition x hour)': groups.length };
    out['all fields as is, unsorted, zstd 3, parquet v1'] = await measure(true, naive, '', 'COMPRESSION zstd');
    out['+ sorted by drone_id, ts'] = await measure(true, naive, sorted, 'COMPRESSION zstd');
    out['+ parquet v2 encodings'] = await measure(true, naive, sorted, 'COMPRESSION zstd, PARQUET_VERSION v2');
    out['+ no report_id (derived)'] = await measure(true, naive.replace('reportId AS report_id,', ''), sorted, 'COMPRESSION zstd, PARQUET_VERSION v2');
    out['lake layout (+ e7 positions, received offset, no helpers), zstd 3'] = await measure(false, lean, sorted, 'COMPRESSION zstd, PARQUET_VERSION v2');
    const perColumn = await queryRows(duck.conn, `SELECT path_in_schema AS c, sum(total_compressed_size) AS b FROM parquet_metadata([${lastFiles.map(sqlString).join(', ')}]) GROUP BY 1 ORDER BY 2 DESC`);
    for (const c of perColumn) out[`  column ${String(c.c).replace(', list, element', '[]')}`] = Number(c.b) / n;
    out['lake layout, unsorted'] = await measure(false, lean, '', 'COMPRESSION zstd, PARQUET_VERSION v2');
    out['lake layout, parquet v1'] = await measure(false, lean, sorted, 'COMPRESSION zstd');
    for (const level of [1, 9, 19]) out[`lake layout, zstd ${level}`] = await measure(false, lean, sorted, `COMPRESSION zstd, COMPRESSION_LEVEL ${level}, PARQUET_VERSION v2`);
    out['lake layout, snappy'] = await measure(false, lean, sorted, 'COMPRESSION snappy, PARQUET_VERSION v2');
    out['lake layout, dictionary for every column (DICTIONARY_SIZE_LIMIT 65536)'] = await measure(false, lean, sorted, 'COMPRESSION zstd, PARQUET_VERSION v2, DICTIONARY_SIZE_LIMIT 65536');
    out['lake layout, ROW_GROUP_SIZE 10000'] = await measure(false, lean, sorted, 'COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 10000');
    out['lake layout + stored citizen_count, min_score'] = await measure(false, `${lean}, len(citizens) AS citizen_count, list_min(list_transform(citizens, c -> c.score)) AS min_score`, sorted, 'COMPRESSION zstd, PARQUET_VERSION v2');
    out['lake layout + stored report_id'] = await measure(false, `${lean}, drone_id || ':' || CAST(epoch_ms(ts) AS VARCHAR) AS report_id`, sorted, 'COMPRESSION zstd, PARQUET_VERSION v2');
    out['lake layout with lat/lon DOUBLE'] = await measure(false, `* EXCLUDE (p, date, hour, lat_e7, lon_e7), CAST(lat_e7 AS DOUBLE) / 1e7 AS lat, CAST(lon_e7 AS DOUBLE) / 1e7 AS lon`, sorted, 'COMPRESSION zstd, PARQUET_VERSION v2');
    // One file per tenant-hour across stream partitions (what compaction of a closed hour writes): each citizen name
    // is spelled once per hour instead of once per partition-hour. Then the level and dictionary settings it may use.
    const perHour = async (options: string): Promise<number> => {
      let bytes = 0;
      for (const g of await queryRows(duck.conn, 'SELECT DISTINCT date, hour FROM stored')) {
        const f = path.join(tmp.dir, `${file++}.parquet`);
        await duck.conn.run(`COPY (SELECT ${lean} FROM stored WHERE date = '${g.date}' AND hour = '${g.hour}' ${sorted}) TO ${sqlString(f)} (FORMAT parquet, PARQUET_VERSION v2, ${options})`);
        bytes += statSync(f).size;
        lastFiles = [f];
      }
      return bytes / n;
    };
    out['lake layout, one file per hour (all partitions)'] = await perHour('COMPRESSION zstd');
    for (const level of [9, 12, 15, 17, 19, 22]) {
      const t = performance.now();
      out[`  per hour, zstd ${level}`] = await perHour(`COMPRESSION zstd, COMPRESSION_LEVEL ${level}`);
      out[`  per hour, zstd ${level}: rows/s written`] = Math.round(n / ((performance.now() - t) / 1000));
    }
    for (const limit of [65536, 1_000_000]) out[`  per hour, zstd 9, DICTIONARY_SIZE_LIMIT ${limit}`] = await perHour(`COMPRESSION zstd, COMPRESSION_LEVEL 9, DICTIONARY_SIZE_LIMIT ${limit}`);
    for (const t of [0, 1, 2]) out[`  per hour, zstd 9, DICTIONARY_COMPRESSION_RATIO_THRESHOLD ${t}`] = await perHour(`COMPRESSION zstd, COMPRESSION_LEVEL 9, DICTIONARY_COMPRESSION_RATIO_THRESHOLD ${t}`);
    out['  per hour, zstd 9, STRING_DICTIONARY_PAGE_SIZE_LIMIT 4194304'] = await perHour('COMPRESSION zstd, COMPRESSION_LEVEL 9, STRING_DICTIONARY_PAGE_SIZE_LIMIT 4194304');
    out['  per hour, zstd 9, dictionary limit 1M + STRING_DICTIONARY_PAGE_SIZE_LIMIT 4194304'] = await perHour('COMPRESSION zstd, COMPRESSION_LEVEL 9, DICTIONARY_SIZE_LIMIT 1000000, STRING_DICTIONARY_PAGE_SIZE_LIMIT 4194304');
    const hourColumns = await queryRows(duck.conn, `SELECT path_in_schema AS c, sum(total_compressed_size) AS b, string_agg(DISTINCT encodings, ' ') AS e FROM parquet_metadata(${sqlString(lastFiles[0]!)}) GROUP BY 1 ORDER BY 2 DESC LIMIT 3`);
    for (const c of hourColumns) console.log(`  last per-hour file: ${String(c.c)} ${String(c.e)} ${Number(c.b)} B`);
    return out;
  } finally {
    duck.close();
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 200_000);
  printTable(`archive: ${n} simulated reports`, await benchArchive({ reports: n }));
  if (process.argv.includes('--levers')) printTable(`lake storage levers: ${n} simulated reports`, await benchLakeLevers({ reports: n }));
}
