/**
 * Where things live in the lake (keys relative to the lake root):
 *
 *   reports/date=YYYY-MM-DD/hour=HH/p<partition>-<firstOffset>-<lastOffset>.parquet
 *   alerts/date=YYYY-MM-DD/hour=HH/p<partition>-<firstOffset>-<lastOffset>.parquet
 *   _staging/<table>/<batch id>/           files of a batch being written, plus COMMIT once it is decided
 *   _checkpoints/<table>/p<partition>.json  last stream offset durably in the lake, per partition
 *   _rejected/<table>/p<...>.ndjson         records the lake could not store (invalid shape), kept verbatim
 *
 * A data file's name is the stream range it holds: the partition and the first and last offsets of the records in
 * it (zero-padded so that names sort by offset). Compaction relies on it: a file whose range lies inside another
 * file's range of the same partition, in the same directory, is a leftover and readers skip it.
 */

export const LAKE_TABLES = ['reports', 'alerts'] as const;
export type LakeTable = (typeof LAKE_TABLES)[number];

export const STAGING_DIR = '_staging';
export const CHECKPOINT_DIR = '_checkpoints';
export const REJECTED_DIR = '_rejected';
export const COMMIT_MARKER = 'COMMIT';

/** Wide enough for any partition of a topic (at most 1024) and any safe-integer offset. */
const PARTITION_WIDTH = 4;
const OFFSET_WIDTH = 16;

export interface StreamRange {
  partition: number;
  /** First and last stream offsets held (inclusive). */
  first: number;
  last: number;
}

export function isLakeTable(t: string): t is LakeTable {
  return (LAKE_TABLES as readonly string[]).includes(t);
}

function pad(n: number, width: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a valid partition or offset: ${n}`);
  return String(n).padStart(width, '0');
}

export function partitionTag(partition: number): string {
  return `p${pad(partition, PARTITION_WIDTH)}`;
}

/** `p0003-0000000000001200-0000000000001299` */
export function rangeTag(r: StreamRange): string {
  return `${partitionTag(r.partition)}-${pad(r.first, OFFSET_WIDTH)}-${pad(r.last, OFFSET_WIDTH)}`;
}

export function dataFileName(r: StreamRange, ext = 'parquet'): string {
  return `${rangeTag(r)}.${ext}`;
}

const DATA_FILE = /^p(\d+)-(\d+)-(\d+)\.parquet$/;

/** The range of a data file name, or undefined for anything else (temporary files, foreign files). */
export function parseDataFileName(name: string): StreamRange | undefined {
  const m = DATA_FILE.exec(name);
  if (!m) return undefined;
  const r = { partition: Number(m[1]), first: Number(m[2]), last: Number(m[3]) };
  if (!Number.isSafeInteger(r.first) || !Number.isSafeInteger(r.last) || r.first > r.last) return undefined;
  return r;
}

/** True when `outer` holds every offset of `inner` (same partition). */
export function rangeContains(outer: StreamRange, inner: StreamRange): boolean {
  return outer.partition === inner.partition && outer.first <= inner.first && inner.last <= outer.last;
}

export interface HourPartition {
  /** `YYYY-MM-DD` */
  date: string;
  /** `HH` */
  hour: string;
}

export function hourDirKey(table: LakeTable, h: HourPartition): string {
  return `${table}/date=${h.date}/hour=${h.hour}`;
}

/** The UTC hour partition an instant (epoch ms) falls in. */
export function hourOf(epochMs: number): HourPartition {
  const iso = new Date(epochMs).toISOString();
  return { date: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** Start (epoch ms) of an hour partition, or NaN if the directory names do not parse. */
export function hourStartMs(h: HourPartition): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(h.date) || !/^\d{2}$/.test(h.hour)) return Number.NaN;
  return Date.parse(`${h.date}T${h.hour}:00:00.000Z`);
}

export function stagingTableKey(table: LakeTable): string {
  return `${STAGING_DIR}/${table}`;
}

export function checkpointKey(table: LakeTable, partition: number): string {
  return `${CHECKPOINT_DIR}/${table}/${partitionTag(partition)}.json`;
}

export function rejectedKey(table: LakeTable, r: StreamRange): string {
  return `${REJECTED_DIR}/${table}/${dataFileName(r, 'ndjson')}`;
}
