import { listAll, type ObjectStore } from '../objectstore/index.ts';
import { readCheckpoints } from './checkpoints.ts';
import { hourDirKey, hourStartMs, parseDataFileRanges, parseTenantDir, rangesContain, tenantPrefix, type HourPartition, type LakeTable, type StreamRange } from './layout.ts';
import { localFileOf, mapLimit, withLakeStore, type LakeLocationOrStore } from './store.ts';

const HOUR_MS = 3_600_000;
/** Day listings in flight at once (S3: one request per 1,000 objects of a day). */
const LIST_CONCURRENCY = 8;

export interface TimeRange {
  /** Rows at or after this instant (the hour containing it is read). */
  from?: Date;
  /** Rows up to this instant (the hour containing it is read). */
  to?: Date;
}

/** Which files a reader wants: always one tenant's, optionally pruned to the hour partitions of a time range. */
export interface TenantScope {
  tenant: string;
  range?: TimeRange | undefined;
}

export interface DataFile {
  /**
   * The stream ranges the file holds, sorted by partition: one for a batch file or a partition's merge, one per
   * partition for a merge across partitions (layout.ts, `rangesFileName`).
   */
  ranges: StreamRange[];
  tenant: string;
  /** Lake key of the file. */
  key: string;
  /** Key of its hour directory. */
  dir: string;
  hour: HourPartition;
  size: number;
  mtimeMs: number;
  /** S3 entity tag (changes when the object is written again). */
  etag?: string;
}

export interface HourDir {
  key: string;
  tenant: string;
  hour: HourPartition;
  /** Every object of the hour named by a stream range, visible or not. */
  files: DataFile[];
}

function bounds(range: TimeRange): { from: number; to: number } {
  return { from: range.from?.getTime() ?? Number.NEGATIVE_INFINITY, to: range.to?.getTime() ?? Number.POSITIVE_INFINITY };
}

/** Tenants with a directory under `<table>/` (sorted). Anything else there (an old layout's `date=`) is ignored. */
export async function listTenants(store: ObjectStore, table: LakeTable): Promise<string[]> {
  const tenants: string[] = [];
  for (const p of (await listAll(store, `${table}/`, { delimiter: '/' })).prefixes) {
    const t = parseTenantDir(p.slice(table.length + 1));
    if (t !== undefined) tenants.push(t);
  }
  return tenants.sort();
}

/** Dates of one tenant's table (`date=` prefixes) that may hold rows of the range, in time order. */
export async function listDates(store: ObjectStore, table: LakeTable, tenant: string, range: TimeRange = {}): Promise<string[]> {
  const { from, to } = bounds(range);
  const base = tenantPrefix(table, tenant);
  const dates: string[] = [];
  for (const p of (await listAll(store, base, { delimiter: '/' })).prefixes) {
    const m = /^date=([^/]+)\/$/.exec(p.slice(base.length));
    if (!m) continue;
    const start = hourStartMs({ date: m[1]!, hour: '00' });
    if (Number.isNaN(start) || start + 24 * HOUR_MS <= from || start > to) continue;
    dates.push(m[1]!);
  }
  return dates.sort();
}

/**
 * Hour directories of one tenant's table that may hold rows of the range, in time order, with their data files: one
 * listing of the dates, then one (paginated) listing per date, so a range of a day costs two requests on S3.
 */
export async function listHourDirs(store: ObjectStore, table: LakeTable, scope: TenantScope): Promise<HourDir[]> {
  const { tenant } = scope;
  const { from, to } = bounds(scope.range ?? {});
  const base = tenantPrefix(table, tenant);
  const perDate = await mapLimit(await listDates(store, table, tenant, scope.range), LIST_CONCURRENCY, async (date) => {
    const dirs = new Map<string, HourDir>();
    const prefix = `${base}date=${date}/`;
    for (const o of (await listAll(store, prefix)).objects) {
      const rest = o.key.slice(prefix.length).split('/');
      if (rest.length !== 2 || !rest[0]!.startsWith('hour=')) continue;
      const hour = { date, hour: rest[0]!.slice(5) };
      const start = hourStartMs(hour);
      if (Number.isNaN(start) || start + HOUR_MS <= from || start > to) continue;
      const ranges = parseDataFileRanges(rest[1]!);
      if (!ranges) continue;
      const key = hourDirKey(table, tenant, hour);
      let dir = dirs.get(key);
      if (!dir) dirs.set(key, (dir = { key, tenant, hour, files: [] }));
      dir.files.push({ ranges, tenant, key: o.key, dir: key, hour, size: o.size, mtimeMs: o.mtimeMs, ...(o.etag ? { etag: o.etag } : {}) });
    }
    return [...dirs.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  });
  return perDate.flat();
}

/**
 * Files of committed batches: those each of whose ranges ends at or below its partition's checkpoint (a merged file
 * is built from committed files only, so all its ranges are; a batch file has one range).
 */
export function committedFiles(files: readonly DataFile[], checkpoints: ReadonlyMap<number, number>): DataFile[] {
  return files.filter((f) => f.ranges.every((r) => r.last <= (checkpoints.get(r.partition) ?? -1)));
}

/**
 * Live files, and dead ones: every range of a dead file lies inside the range of the same partition of another file
 * of the directory (it is an input of that file's merge). Two distinct files never hold the same set of ranges (one
 * set has one name: layout.ts parses only the canonical spelling of `p` and `m-` names), so of two files that contain
 * each other's rows exactly one is live.
 */
export function splitLive(files: readonly DataFile[]): { live: DataFile[]; dead: DataFile[] } {
  const contained = singleRangesContained(files);
  const live: DataFile[] = [];
  const dead: DataFile[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    // A file merged across partitions (few: at most one live per block of a closed hour) is checked against every
    // file: one other file must hold all of its ranges.
    const isDead = f.ranges.length === 1 ? contained[i]! : files.some((g) => g !== f && rangesContain(g.ranges, f.ranges));
    (isDead ? dead : live).push(f);
  }
  return { live, dead };
}

/**
 * For each single-range file, whether another file's range of the same partition contains its range: per partition,
 * every file's range sorted by first offset (then the longer first, then ranges of merged-across files before
 * single ones) and swept with the largest last offset seen before. A range is contained exactly when an earlier one
 * in that order ends at or after it. O(n log n) instead of comparing every pair (an hour directory holds ~3,000 batch
 * files before compaction: 85-120 ms a listing, paid by every query).
 */
function singleRangesContained(files: readonly DataFile[]): boolean[] {
  const contained = new Array<boolean>(files.length).fill(false);
  const byPartition = new Map<number, { first: number; last: number; file: number; multi: boolean }[]>();
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    for (const r of f.ranges) {
      let list = byPartition.get(r.partition);
      if (!list) byPartition.set(r.partition, (list = []));
      list.push({ first: r.first, last: r.last, file: i, multi: f.ranges.length > 1 });
    }
  }
  for (const list of byPartition.values()) {
    list.sort((a, b) => a.first - b.first || b.last - a.last || Number(b.multi) - Number(a.multi));
    let maxLast = -Infinity;
    for (const e of list) {
      if (!e.multi && maxLast >= e.last) contained[e.file] = true;
      if (e.last > maxLast) maxLast = e.last;
    }
  }
  return contained;
}

/**
 * The data files readers must read: committed (at or below the checkpoint of their partition) and not contained in
 * another committed file of the same hour (every range of it, for a file merged across partitions). The checkpoints
 * are read before the listing, so every file of every batch they cover was uploaded before the listing started: a
 * reader sees each batch whole or not at all, and a compaction's merged file or its inputs, never both.
 */
export async function liveDataFiles(store: ObjectStore, table: LakeTable, scope: TenantScope): Promise<DataFile[]> {
  tenantPrefix(table, scope.tenant); // checks the tenant before anything is read
  const checkpoints = await readCheckpoints(store, table);
  if (checkpoints.size === 0) return [];
  const out: DataFile[] = [];
  for (const d of await listHourDirs(store, table, scope)) out.push(...splitLive(committedFiles(d.files, checkpoints)).live);
  return out;
}

/**
 * Where the live files of one tenant's `table` are, pruned to the hour partitions of the range: local paths for a
 * local lake, `s3://bucket/key` URLs for an S3 lake (what an engine with S3 access, e.g. DuckDB with httpfs, reads).
 */
export async function listLiveFiles(lake: LakeLocationOrStore, table: LakeTable, scope: TenantScope): Promise<string[]> {
  return withLakeStore(lake, async (store) => (await liveDataFiles(store, table, scope)).map((f) => urlOf(store, f.key)));
}

/** The path or URL of a key, for engines reading the lake directly. */
export function urlOf(store: ObjectStore, key: string): string {
  return localFileOf(store, key) ?? `${store.location}/${key}`;
}
