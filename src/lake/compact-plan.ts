import type { ObjectStore } from '../objectstore/index.ts';
import { readCheckpoints } from './checkpoints.ts';
import { hourStartMs, MAX_FILE_NAME_BYTES, MAX_MERGED_PARTITION, rangesContain, rangesFileName, type LakeTable, type StreamRange } from './layout.ts';
import { committedFiles, listHourDirs, listTenants, splitLive, type DataFile, type HourDir, type TimeRange } from './live-files.ts';
import { mapLimit } from './store.ts';

/**
 * What compaction merges (docs/lake-format.md, "Compaction"). Two kinds of merge, never in the same hour at once:
 *
 * - **Open hours** (the hour ended less than `closedAfterMs / 2` ago): per stream partition, its batch files, into one
 *   file named by the partition's range, as the archiver's batches arrive.
 * - **Closed hours** (ended at least `closedAfterMs` ago): every live file of a block of `PARTITIONS_PER_FILE`
 *   partitions, into one file named by one range per partition (`m-...`): each citizen name is then spelled once per
 *   tenant-hour instead of once per partition-hour (35.6 -> ~30 bytes per report, lake-format.md "Size and speed").
 *
 * Why two merges can never overlap without one containing the other (which would show rows twice):
 * - two merges of a closed hour take *every* live committed file of the block, with no choice by age: the one that
 *   listed later sees a superset of the ranges (files only appear; an input is deleted only once a file containing
 *   it exists), so its result contains the other's. Age is only a gate (every file of the block older than
 *   `olderThanMs`), never a filter: a filter would let two compactors with different clocks pick crossing sets.
 * - a partition's merge decides on a clock read after its listing, a closed hour's on one read before its checkpoints:
 *   a partition merge's inputs were all listed before any merge of the closed hour started, as long as the two
 *   compactors' clocks differ by less than `closedAfterMs / 2` (5 minutes by default). A partition's merge also
 *   skips an hour that holds a file merged across partitions, and never takes one as an input.
 */

/** Partitions merged into one file of a closed hour: 8 worst-case ranges (4 + 11 + 11 base-36 digits) make a 241-byte name. */
export const PARTITIONS_PER_FILE = 8;

/** A closed hour ended this long ago: late batches (the event topics flush every minute) are in by then. */
export const DEFAULT_CLOSED_AFTER_MS = 10 * 60_000;

const HOUR_MS = 3_600_000;

export interface PlanOptions {
  table: LakeTable;
  /**
   * Merge a partition's files in an open hour once there are at least this many (>= 2); in a closed hour that has its
   * merged file already, merge again once this many late batch files are beside it.
   */
  minFiles: number;
  /** Only files written at least this long ago; merged inputs are deleted once the merged file is this old. */
  olderThanMs: number;
  /**
   * An hour is closed (merged across partitions) once it ended this long ago (default 10 minutes; a positive number,
   * RangeError otherwise). Every compactor of a lake must use the same value: the gap between the two gates is what
   * keeps their merges from crossing.
   * `Infinity` keeps every hour open (per-partition merges only), for a lake no other compactor works on.
   */
  closedAfterMs?: number;
  hours?: TimeRange;
  tenant?: string;
  /** Clock, epoch ms (tests); both gates then read it. */
  now?: number;
}

export interface CompactionGroup {
  table: LakeTable;
  tenant: string;
  dir: string;
  /** `partition`: one partition of an open hour; `hour`: a block of partitions of a closed hour. */
  kind: 'partition' | 'hour';
  inputs: DataFile[];
  /** One per partition, sorted by partition: what the merged file's name says it holds. */
  ranges: StreamRange[];
  /** Lake key of the merged file. */
  output: string;
}

export interface CompactionPlan {
  groups: CompactionGroup[];
  sweep: DataFile[];
  /**
   * Blocks of closed hours whose live files overlap without one containing the other (a crossing: rows read twice),
   * left by a compactor that broke the timing conditions (an older version, a skewed clock, another closedAfterMs).
   * Each is merged whatever minFiles says: the merge keeps one copy per identity, which heals it.
   */
  crossings: number;
  /** Blocks of closed hours left unmerged because they cannot be named (too long a name, or a partition above 9999). */
  nameTooLong: number;
}

/**
 * The union of the inputs' ranges, one per partition: `[min first, max last]`. It may span offsets no input holds
 * (batches with no row in this hour, or a gap between a partition's files), which is harmless: every batch at or
 * below the checkpoint is complete, so a file of such offsets appearing later holds rows the merge already has (the
 * same batch uploaded again), never new ones.
 */
export function unionRanges(inputs: readonly DataFile[]): StreamRange[] {
  const byPartition = new Map<number, StreamRange>();
  for (const f of inputs) {
    for (const r of f.ranges) {
      const u = byPartition.get(r.partition);
      byPartition.set(r.partition, u ? { partition: r.partition, first: Math.min(u.first, r.first), last: Math.max(u.last, r.last) } : { ...r });
    }
  }
  return [...byPartition.values()].sort((a, b) => a.partition - b.partition);
}

/**
 * The name of a merge of these ranges, or undefined when it cannot be named (the merge is then not made, and counted
 * as `nameTooLong`): longer than a file name may be, or a partition above 9999 in a merged name (only a topic created
 * outside dronewatch has one; the config caps partitions at 1024). Checked, not thrown: a throw here would fail the
 * whole pass, every tenant and hour of the table, and the retention that runs after it.
 */
export function mergedFileName(ranges: readonly StreamRange[]): string | undefined {
  if (ranges.length > 1 && ranges.some((r) => r.partition > MAX_MERGED_PARTITION)) return undefined;
  const name = rangesFileName(ranges);
  return Buffer.byteLength(name) <= MAX_FILE_NAME_BYTES ? name : undefined;
}

const blockOf = (f: DataFile): number => Math.floor(f.ranges[0]!.partition / PARTITIONS_PER_FILE);

/** Finds what to merge and what to sweep. Exported with the step functions so tests can interleave readers. */
export async function planCompaction(store: ObjectStore, opts: PlanOptions): Promise<CompactionPlan> {
  const closedAfter = opts.closedAfterMs ?? DEFAULT_CLOSED_AFTER_MS;
  // The no-crossing gap (end + C/2 < end + C) needs C > 0; NaN would silently disable every merge (both gates false).
  if (!(closedAfter > 0)) throw new RangeError(`closedAfterMs must be a positive number of milliseconds or Infinity, got ${closedAfter}`);
  const clock = (): number => opts.now ?? Date.now();
  const minFiles = Math.max(2, opts.minFiles);
  // Read before the checkpoints: a closed hour is merged only if it was closed before anything was read.
  const before = clock();
  const checkpoints = await readCheckpoints(store, opts.table);
  const tenants = opts.tenant !== undefined ? [opts.tenant] : await listTenants(store, opts.table);
  const dirs = (await mapLimit(tenants, 4, (tenant) => listHourDirs(store, opts.table, { tenant, range: opts.hours }))).flat();
  // Read after the listing: an open hour is merged per partition only if it was still open once everything was listed.
  const after = clock();
  const plan: CompactionPlan = { groups: [], sweep: [], nameTooLong: 0, crossings: 0 };
  for (const d of dirs) {
    const { live, dead } = splitLive(committedFiles(d.files, checkpoints));
    for (const e of dead) {
      const container = live.find((l) => rangesContain(l.ranges, e.ranges));
      if (container && container.mtimeMs <= after - opts.olderThanMs) plan.sweep.push(e);
    }
    const end = hourStartMs(d.hour) + HOUR_MS;
    if (end + closedAfter <= before) planClosedHour(plan, opts, d, live, before, minFiles);
    else if (after < end + closedAfter / 2) planOpenHour(plan, opts, d, live, after, minFiles);
  }
  return plan;
}

/** A closed hour: per block of partitions, every live file into one, once they are all old enough. */
function planClosedHour(plan: CompactionPlan, opts: PlanOptions, d: HourDir, live: DataFile[], now: number, minFiles: number): void {
  const blocks = new Map<number, DataFile[]>();
  for (const f of live) blocks.set(blockOf(f), [...(blocks.get(blockOf(f)) ?? []), f]);
  for (const inputs of blocks.values()) {
    if (inputs.length < 2) continue;
    // A crossing is merged now, not once minFiles late batches arrive (which may be never): until then readers count
    // the overlap twice.
    const crossing = crosses(inputs);
    if (crossing) plan.crossings++;
    // Once merged, the few late batches of a closed hour wait until they are minFiles: each merge rewrites the hour.
    const singles = inputs.filter((f) => f.ranges.length === 1).length;
    if (!crossing && singles < inputs.length && singles < minFiles) continue;
    if (inputs.some((f) => f.mtimeMs > now - opts.olderThanMs)) continue; // a gate, not a filter (see above)
    const ranges = unionRanges(inputs);
    const name = mergedFileName(ranges);
    if (name === undefined) {
      plan.nameTooLong++;
      continue;
    }
    plan.groups.push({ table: opts.table, tenant: d.tenant, dir: d.key, kind: 'hour', inputs: sortInputs(inputs), ranges, output: `${d.key}/${name}` });
  }
}

/**
 * True when two of these files hold overlapping ranges of one partition. For live files (none contains another) that
 * is a crossing: the overlap's rows are read from both. Per partition, sorted by first offset, a range starting at or
 * below the highest last offset before it overlaps one of them: O(n log n) in the block's ranges.
 */
export function crosses(files: readonly DataFile[]): boolean {
  const byPartition = new Map<number, StreamRange[]>();
  for (const f of files) {
    for (const r of f.ranges) {
      const list = byPartition.get(r.partition);
      if (list) list.push(r);
      else byPartition.set(r.partition, [r]);
    }
  }
  for (const list of byPartition.values()) {
    list.sort((a, b) => a.first - b.first);
    let maxLast = -1;
    for (const r of list) {
      if (r.first <= maxLast) return true;
      maxLast = Math.max(maxLast, r.last);
    }
  }
  return false;
}

/**
 * An open hour: per partition, its oldest files up to the first one too young. A prefix by offset, not every old
 * file: the merged range must not span a file it does not hold (a batch written again later is younger than the
 * batches after it).
 */
function planOpenHour(plan: CompactionPlan, opts: PlanOptions, d: HourDir, live: DataFile[], now: number, minFiles: number): void {
  if (live.some((f) => f.ranges.length > 1)) return; // merged across partitions already (see above)
  const byPartition = new Map<number, DataFile[]>();
  for (const f of live) byPartition.set(f.ranges[0]!.partition, [...(byPartition.get(f.ranges[0]!.partition) ?? []), f]);
  for (const files of byPartition.values()) {
    const sorted = sortInputs(files);
    const young = sorted.findIndex((f) => f.mtimeMs > now - opts.olderThanMs);
    const inputs = young < 0 ? sorted : sorted.slice(0, young);
    if (inputs.length < minFiles) continue;
    const ranges = unionRanges(inputs);
    plan.groups.push({ table: opts.table, tenant: d.tenant, dir: d.key, kind: 'partition', inputs, ranges, output: `${d.key}/${rangesFileName(ranges)}` });
  }
}

/** By partition, then offset: the order of the merge's inputs, which decides which copy of a row is kept on a tie. */
function sortInputs(files: readonly DataFile[]): DataFile[] {
  return [...files].sort((a, b) => a.ranges[0]!.partition - b.ranges[0]!.partition || a.ranges[0]!.first - b.ranges[0]!.first);
}
