import { LocalLakeStore, type LakeStore, type StoreEntry } from './fs-store.ts';
import { hourDirKey, hourStartMs, parseDataFileName, rangeContains, type HourPartition, type LakeTable, type StreamRange } from './layout.ts';

const HOUR_MS = 3_600_000;

export interface TimeRange {
  /** Rows at or after this instant (the hour containing it is read). */
  from?: Date;
  /** Rows up to this instant (the hour containing it is read). */
  to?: Date;
}

export interface DataFile extends StreamRange {
  /** Lake key of the file. */
  key: string;
  /** Key of its hour directory. */
  dir: string;
  hour: HourPartition;
  size: number;
  mtimeMs: number;
}

/** Hour directories of a table that may hold rows of the range, in time order. */
export async function listHourDirs(store: LakeStore, table: LakeTable, range: TimeRange = {}): Promise<{ key: string; hour: HourPartition }[]> {
  const from = range.from?.getTime() ?? Number.NEGATIVE_INFINITY;
  const to = range.to?.getTime() ?? Number.POSITIVE_INFINITY;
  const out: { key: string; hour: HourPartition }[] = [];
  for (const d of await store.list(table)) {
    if (!d.isDir || !d.name.startsWith('date=')) continue;
    const date = d.name.slice(5);
    const dayStart = hourStartMs({ date, hour: '00' });
    if (Number.isNaN(dayStart) || dayStart + 24 * HOUR_MS <= from || dayStart > to) continue;
    for (const h of await store.list(`${table}/${d.name}`)) {
      if (!h.isDir || !h.name.startsWith('hour=')) continue;
      const hour = { date, hour: h.name.slice(5) };
      const start = hourStartMs(hour);
      if (Number.isNaN(start) || start + HOUR_MS <= from || start > to) continue;
      out.push({ key: hourDirKey(table, hour), hour });
    }
  }
  return out;
}

/**
 * The data files of one hour directory that readers must read: every file named by a stream range, minus those
 * whose range lies inside another file's range of the same partition (inputs of a compaction whose output is
 * already in place, about to be deleted). This is what makes compaction atomic for readers.
 */
export function liveFilesOf(dirKey: string, hour: HourPartition, entries: readonly StoreEntry[]): DataFile[] {
  return splitLive(dataFilesOf(dirKey, hour, entries)).live;
}

/** Every file of a directory named by a stream range. */
export function dataFilesOf(dirKey: string, hour: HourPartition, entries: readonly StoreEntry[]): DataFile[] {
  const files: DataFile[] = [];
  for (const e of entries) {
    if (e.isDir) continue;
    const r = parseDataFileName(e.name);
    if (r) files.push({ ...r, key: `${dirKey}/${e.name}`, dir: dirKey, hour, size: e.size, mtimeMs: e.mtimeMs });
  }
  return files;
}

/** Live files, and dead ones: contained in another file's range of the same partition. */
export function splitLive(files: readonly DataFile[]): { live: DataFile[]; dead: DataFile[] } {
  const live: DataFile[] = [];
  const dead: DataFile[] = [];
  for (const f of files) (files.some((g) => g !== f && rangeContains(g, f)) ? dead : live).push(f);
  return { live, dead };
}

export async function liveDataFiles(store: LakeStore, table: LakeTable, range: TimeRange = {}): Promise<DataFile[]> {
  const out: DataFile[] = [];
  for (const d of await listHourDirs(store, table, range)) out.push(...liveFilesOf(d.key, d.hour, await store.list(d.key)));
  return out;
}

/** Absolute paths of the Parquet files a reader of `table` must read for the time range (pruned by hour directory). */
export async function listLiveFiles(lakeRoot: string, table: LakeTable, range?: TimeRange): Promise<string[]> {
  const store = new LocalLakeStore(lakeRoot);
  return (await liveDataFiles(store, table, range)).map((f) => store.localPath(f.key));
}
