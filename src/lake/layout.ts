import { DwError } from '../errors/index.ts';

/**
 * Where things live in the lake (object keys relative to the lake's root: a directory or `s3://bucket/prefix`):
 *
 *   reports/tenant=<tenant>/date=YYYY-MM-DD/hour=HH/p<partition>-<firstOffset>-<lastOffset>.parquet
 *   alerts/tenant=<tenant>/date=YYYY-MM-DD/hour=HH/p<partition>-<firstOffset>-<lastOffset>.parquet
 *   incidents/tenant=<tenant>/date=YYYY-MM-DD/hour=HH/p<partition>-<firstOffset>-<lastOffset>.parquet   (incident events)
 *   _commits/<table>/p<partition>/<firstOffset>.json     the decision of the batch starting there (put-if-absent)
 *   _checkpoints/<table>/p<partition>/<lastOffset>.json  "offsets up to here are in the lake" (put-if-absent; max wins)
 *   _rejected/<table>/p<...>.ndjson                      records the lake could not store (invalid shape), verbatim
 *
 * A data file's name is the stream range it covers: the partition and the first and last offsets (zero-padded so
 * that names sort by offset). It is deterministic, so a batch written again after a crash lands on the same keys.
 * Readers see a file when its last offset is at or below its partition's checkpoint, unless another visible file of
 * the same partition in the same directory contains its range (compaction). docs/lake-format.md has the protocol.
 *
 * Data lives under a prefix per tenant (police force) so that every reader is given one tenant's files only: the
 * analysis sandbox can then allow exactly those files, whatever SQL it runs. One batch of a stream partition may
 * write files under several tenants; its commit record and checkpoint (per stream partition) cover them all.
 */

export const LAKE_TABLES = ['reports', 'alerts', 'incidents'] as const;
export type LakeTable = (typeof LAKE_TABLES)[number];

/** Staging directories of the previous, file-system protocol: only recognised so that old lakes can be cleaned. */
export const STAGING_DIR = '_staging';
export const COMMIT_DIR = '_commits';
export const CHECKPOINT_DIR = '_checkpoints';
export const REJECTED_DIR = '_rejected';

/** Wide enough for any partition of a topic (at most 1024) and any safe-integer offset. */
const PARTITION_WIDTH = 4;
const OFFSET_WIDTH = 16;

export interface StreamRange {
  partition: number;
  /** First and last stream offsets held (inclusive). */
  first: number;
  last: number;
}

/** What a tenant id may be (as `tenant` in src/config/schema.ts): safe as one path segment, never `..` or `/`. */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isValidTenant(t: unknown): t is string {
  return typeof t === 'string' && TENANT_PATTERN.test(t);
}

/** Throws unless `t` is a valid tenant id: a reader's tenant becomes a key prefix, so it is never taken unchecked. */
export function checkTenant(t: string): string {
  if (!isValidTenant(t)) throw new DwError('DW_REQUEST_INVALID', `not a valid tenant id: ${JSON.stringify(t)} (expected ${TENANT_PATTERN.source})`, { status: 400, details: [{ field: 'tenant', reason: `must match ${TENANT_PATTERN.source}` }] });
  return t;
}

/** `reports/tenant=<tenant>/`: every data file of one tenant's table. */
export function tenantPrefix(table: LakeTable, tenant: string): string {
  return `${table}/tenant=${checkTenant(tenant)}/`;
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

/**
 * The range of a single-range data file name, or undefined for anything else (temporary files, foreign files, and any
 * spelling other than dataFileName's). Canonical only, so one range has one name: `p3-0-19.parquet` beside
 * `p0003-0000000000000000-0000000000000019.parquet` would otherwise be the same range, each would contain the other,
 * and readers would skip both as dead (live-files.ts).
 */
export function parseDataFileName(name: string): StreamRange | undefined {
  const m = DATA_FILE.exec(name);
  if (!m) return undefined;
  const r = { partition: Number(m[1]), first: Number(m[2]), last: Number(m[3]) };
  if (!Number.isSafeInteger(r.partition) || !Number.isSafeInteger(r.first) || !Number.isSafeInteger(r.last) || r.first > r.last) return undefined;
  return dataFileName(r) === name ? r : undefined;
}

/**
 * Files merged across stream partitions (compaction of a closed hour, compact.ts) are named by every range they hold:
 * `m-<partition>.<first>.<last>_<partition>.<first>.<last>....parquet`, partitions in decimal, offsets in base 36
 * without padding (the name must fit the 255 bytes of a local disk's file name: 8 worst-case ranges take 241),
 * ranges in increasing partition order, one per partition, at least two. Only this canonical spelling parses, so
 * one set of ranges has exactly one name: two compactors merging the same files write the same key, and a set of
 * one range is spelled the classic way (`dataFileName`).
 */
const MULTI_PREFIX = 'm-';
const MULTI_RANGE = /^(\d{1,4})\.([0-9a-z]{1,11})\.([0-9a-z]{1,11})$/;
const BASE36 = /^(0|[1-9a-z][0-9a-z]*)$/;

/** The highest partition a merged (`m-`) name spells: 4 digits, so 8 worst-case ranges fit MAX_FILE_NAME_BYTES. */
export const MAX_MERGED_PARTITION = 9999;

/** The longest file name compaction writes: a local disk's limit (ext4, xfs, and HDFS's default component limit). */
export const MAX_FILE_NAME_BYTES = 255;

function decodeBase36(s: string): number | undefined {
  if (!BASE36.test(s)) return undefined;
  const n = Number.parseInt(s, 36);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The name of a file holding these ranges (sorted by partition, distinct partitions; one range: the classic name). */
export function rangesFileName(ranges: readonly StreamRange[]): string {
  if (ranges.length === 0) throw new RangeError('a data file holds at least one range');
  if (ranges.length === 1) return dataFileName(ranges[0]!);
  for (let i = 1; i < ranges.length; i++) if (ranges[i]!.partition <= ranges[i - 1]!.partition) throw new RangeError('ranges must be sorted by partition, one per partition');
  const spell = (r: StreamRange): string => {
    for (const n of [r.partition, r.first, r.last]) pad(n, 1); // throws unless safe non-negative integers
    if (r.first > r.last || r.partition > MAX_MERGED_PARTITION) throw new RangeError(`not a valid range: ${JSON.stringify(r)}`);
    return `${r.partition}.${r.first.toString(36)}.${r.last.toString(36)}`;
  };
  return `${MULTI_PREFIX}${ranges.map(spell).join('_')}.parquet`;
}

/**
 * The ranges of a data file name, single (`p...`) or merged across partitions (`m-...`), sorted by partition; undefined
 * for anything else, including a non-canonical spelling of a merged name.
 */
export function parseDataFileRanges(name: string): StreamRange[] | undefined {
  const single = parseDataFileName(name);
  if (single) return [single];
  if (!name.startsWith(MULTI_PREFIX) || !name.endsWith('.parquet')) return undefined;
  const parts = name.slice(MULTI_PREFIX.length, -'.parquet'.length).split('_');
  if (parts.length < 2) return undefined;
  const ranges: StreamRange[] = [];
  for (const part of parts) {
    const m = MULTI_RANGE.exec(part);
    if (!m || (m[1]!.length > 1 && m[1]!.startsWith('0'))) return undefined;
    const partition = Number(m[1]);
    const first = decodeBase36(m[2]!);
    const last = decodeBase36(m[3]!);
    if (first === undefined || last === undefined || first > last) return undefined;
    if (ranges.length > 0 && ranges[ranges.length - 1]!.partition >= partition) return undefined;
    ranges.push({ partition, first, last });
  }
  return ranges;
}

/** True when `outer` holds every offset of `inner` (same partition). */
export function rangeContains(outer: StreamRange, inner: StreamRange): boolean {
  return outer.partition === inner.partition && outer.first <= inner.first && inner.last <= outer.last;
}

/** True when every range of `inner` lies inside `outer`'s range of the same partition: a file of `inner` is redundant. */
export function rangesContain(outer: readonly StreamRange[], inner: readonly StreamRange[]): boolean {
  return inner.every((i) => outer.some((o) => rangeContains(o, i)));
}

export interface HourPartition {
  /** `YYYY-MM-DD` */
  date: string;
  /** `HH` */
  hour: string;
}

export function hourDirKey(table: LakeTable, tenant: string, h: HourPartition): string {
  return `${tenantPrefix(table, tenant)}date=${h.date}/hour=${h.hour}`;
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

/** Prefix of the commit records (batch decisions) of one partition: `_commits/<table>/p0003/`. */
export function commitPrefix(table: LakeTable, partition: number): string {
  return `${COMMIT_DIR}/${table}/${partitionTag(partition)}/`;
}

/** The commit record of the batch of `partition` whose range starts at `first`. */
export function commitKey(table: LakeTable, partition: number, first: number): string {
  return `${commitPrefix(table, partition)}${pad(first, OFFSET_WIDTH)}.json`;
}

/** Prefix of every checkpoint of a table: `_checkpoints/<table>/`. */
export function checkpointTablePrefix(table: LakeTable): string {
  return `${CHECKPOINT_DIR}/${table}/`;
}

/** A checkpoint: offsets of `partition` up to `offset` are in the lake. */
export function checkpointKey(table: LakeTable, partition: number, offset: number): string {
  return `${checkpointTablePrefix(table)}${partitionTag(partition)}/${pad(offset, OFFSET_WIDTH)}.json`;
}

/** The single, overwritten checkpoint file of the file-system protocol (read for lakes written before). */
export function legacyCheckpointKey(table: LakeTable, partition: number): string {
  return `${checkpointTablePrefix(table)}${partitionTag(partition)}.json`;
}

const OFFSET_FILE = /^p(\d+)\/(\d+)\.json$/;
const LEGACY_CHECKPOINT = /^p(\d+)\.json$/;

/** `p0003/0000000000000700.json` (relative to a table's checkpoint or commit prefix) -> partition and offset. */
export function parseOffsetKey(rel: string): { partition: number; offset: number } | undefined {
  const m = OFFSET_FILE.exec(rel);
  if (!m) return undefined;
  const r = { partition: Number(m[1]), offset: Number(m[2]) };
  return Number.isSafeInteger(r.offset) ? r : undefined;
}

/** `p0003.json` -> the partition of a legacy checkpoint file. */
export function parseLegacyCheckpoint(rel: string): number | undefined {
  const m = LEGACY_CHECKPOINT.exec(rel);
  return m ? Number(m[1]) : undefined;
}

export function rejectedKey(table: LakeTable, r: StreamRange): string {
  return `${REJECTED_DIR}/${table}/${dataFileName(r, 'ndjson')}`;
}

/** `reports/tenant=x/date=2025-01-15/hour=10/p0001-....parquet` (or `m-...`) -> the table, tenant, hour and ranges, or undefined. */
export function parseDataKey(key: string): { table: LakeTable; tenant: string; hour: HourPartition; ranges: StreamRange[] } | undefined {
  const parts = key.split('/');
  if (parts.length !== 5) return undefined;
  const [table, t, d, h, name] = parts as [string, string, string, string, string];
  if (!isLakeTable(table) || !t.startsWith('tenant=') || !d.startsWith('date=') || !h.startsWith('hour=')) return undefined;
  const tenant = t.slice(7);
  if (!isValidTenant(tenant)) return undefined;
  const hour = { date: d.slice(5), hour: h.slice(5) };
  const ranges = parseDataFileRanges(name);
  if (!ranges || Number.isNaN(hourStartMs(hour))) return undefined;
  return { table, tenant, hour, ranges };
}

/** The tenant of a `tenant=<t>/` listing prefix (relative to `<table>/`), or undefined (old layout, foreign names). */
export function parseTenantDir(rel: string): string | undefined {
  const m = /^tenant=([^/]+)\/$/.exec(rel);
  return m && isValidTenant(m[1]) ? m[1] : undefined;
}
