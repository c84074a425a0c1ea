import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../util/log.ts';
import {
  applyCommit, discardStaging, readCheckpoint, recoverStaging, stagingPrefix, writeCommitMarker, type CommitMarker,
} from './commit.ts';
import { openDuck, parquetCopyOptions, queryRows, sqlString, sqlStringList, type Duck } from './duck.ts';
import { LocalLakeStore, type LakeStore } from './fs-store.ts';
import { dataFileName, rangeContains, rangeTag, stagingTableKey, type LakeTable } from './layout.ts';
import { dataFilesOf, listHourDirs, splitLive, type DataFile } from './live-files.ts';
import { SCHEMAS } from './schema.ts';

/**
 * Compaction: the archiver writes one small file per hour partition per batch; compaction merges the small files of
 * one stream partition in one hour directory into a single file named by the union of their ranges. It commits like
 * a batch (staging, COMMIT marker, rename), so readers see either the small files or the merged one, never both:
 * once the merged file is in place the small ones are contained in its range and listLiveFiles skips them, and
 * only then are they deleted.
 */

/** Compacted files are rewritten rarely and read often: a higher zstd level than batch files pays (lake-format.md). */
export const DEFAULT_COMPACTION_LEVEL = 9;

export interface CompactOptions {
  table: LakeTable;
  /** Merge a partition's files in an hour directory once there are at least this many (>= 2). */
  minFiles: number;
  /** Only files written at least this long ago (the archiver is done with them). */
  olderThanMs: number;
  compressionLevel?: number;
  /** Clock, epoch ms. */
  now?: number;
  logger?: Logger;
  store?: LakeStore;
}

export interface CompactionGroup {
  table: LakeTable;
  dir: string;
  partition: number;
  inputs: DataFile[];
  /** Lake key of the merged file. */
  output: string;
  first: number;
  last: number;
}

export interface CompactionResult {
  table: LakeTable;
  /** Merged files written. */
  merged: number;
  /** Small files replaced by them. */
  inputs: number;
  rows: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Leftover files (contained in a live file, e.g. after a crash) deleted. */
  swept: number;
  /** Partitions skipped because a batch of theirs is being written or recovered. */
  skippedBusy: number;
}

export interface StagedCompaction {
  group: CompactionGroup;
  stagingKey: string;
  marker: CommitMarker;
  rows: number;
  bytes: number;
}

/** Finds what to merge. Exported with the step functions below so that tests can interleave readers with the steps. */
export async function planCompaction(store: LakeStore, opts: CompactOptions): Promise<{ groups: CompactionGroup[]; busy: number; sweep: DataFile[] }> {
  const now = opts.now ?? Date.now();
  const minFiles = Math.max(2, opts.minFiles);
  const staging = (await store.list(stagingTableKey(opts.table))).map((e) => e.name);
  const busyPartitions = new Set<number>();
  const checkpoints = new Map<number, number | undefined>();
  const groups: CompactionGroup[] = [];
  const sweep: DataFile[] = [];
  for (const d of await listHourDirs(store, opts.table)) {
    const { live, dead } = splitLive(dataFilesOf(d.key, d.hour, await store.list(d.key)));
    // Leftovers (a crash between rename and delete, a fenced-off writer): deleted once their container is old
    // enough that no reader can still be working from a listing made before it appeared.
    for (const e of dead) {
      const container = live.find((l) => rangeContains(l, e));
      if (container && container.mtimeMs <= now - opts.olderThanMs) sweep.push(e);
    }
    const byPartition = new Map<number, DataFile[]>();
    for (const f of live) byPartition.set(f.partition, [...(byPartition.get(f.partition) ?? []), f]);
    for (const [partition, files] of byPartition) {
      if (files.length < minFiles) continue;
      if (staging.some((n) => n.startsWith(stagingPrefix('batch', partition)))) {
        busyPartitions.add(partition);
        continue;
      }
      if (!checkpoints.has(partition)) checkpoints.set(partition, await readCheckpoint(store, opts.table, partition));
      const checkpoint = checkpoints.get(partition);
      // Beyond the checkpoint = a batch between rename and checkpoint: leave its files to the next round.
      const inputs = files
        .filter((f) => f.mtimeMs <= now - opts.olderThanMs && checkpoint !== undefined && f.last <= checkpoint)
        .sort((a, b) => a.first - b.first);
      if (inputs.length < minFiles) continue;
      const first = inputs[0]!.first;
      const last = Math.max(...inputs.map((f) => f.last));
      groups.push({ table: opts.table, dir: d.key, partition, inputs, first, last, output: `${d.key}/${dataFileName({ partition, first, last })}` });
    }
  }
  return { groups, busy: busyPartitions.size, sweep };
}

/** Step 1 of a compaction: the merged file in staging, fsynced. */
export async function stageCompaction(store: LakeStore, duck: Duck, group: CompactionGroup, level = DEFAULT_COMPACTION_LEVEL): Promise<StagedCompaction> {
  const schema = SCHEMAS[group.table];
  const stagingKey = `${stagingTableKey(group.table)}/${stagingPrefix('compaction', group.partition)}${rangeTag(group).slice(6)}-${randomBytes(3).toString('hex')}`;
  await store.ensureDir(stagingKey);
  try {
    const src = '0.parquet';
    const inputs = sqlStringList(group.inputs.map((f) => store.localPath(f.key)));
    const [row] = await queryRows(duck.conn, `COPY (SELECT * FROM read_parquet(${inputs}, hive_partitioning = false) ORDER BY ${schema.orderBy})
      TO ${sqlString(store.localPath(`${stagingKey}/${src}`))} (${parquetCopyOptions(level)})`);
    const rows = Number(row?.Count ?? 0);
    await store.syncFile(`${stagingKey}/${src}`);
    await store.syncDir(stagingKey);
    const bytes = (await store.list(stagingKey)).find((e) => e.name === src)?.size ?? 0;
    const marker: CommitMarker = {
      version: 1, kind: 'compaction', table: group.table, partition: group.partition, firstOffset: group.first, lastOffset: group.last,
      files: [{ src, dst: group.output, rows }], deletes: group.inputs.map((f) => f.key), checkpoint: false,
    };
    return { group, stagingKey, marker, rows, bytes };
  } catch (e) {
    await discardStaging(store, stagingKey).catch(() => undefined);
    throw e;
  }
}

/** Step 2: the decision. */
export async function commitCompaction(store: LakeStore, staged: StagedCompaction): Promise<void> {
  await writeCommitMarker(store, staged.stagingKey, staged.marker);
}

/** Steps 3 (merged file renamed in: readers switch to it), deletion of the inputs, and cleanup. */
export async function publishCompaction(store: LakeStore, staged: StagedCompaction): Promise<void> {
  await applyCommit(store, staged.stagingKey, staged.marker);
  await discardStaging(store, staged.stagingKey);
}

/** Compacts every eligible (hour directory, partition) of a table. Safe to run while the archiver writes. */
export async function compactLake(lakeRoot: string, opts: CompactOptions): Promise<CompactionResult> {
  const store = opts.store ?? new LocalLakeStore(lakeRoot);
  const logger = opts.logger ?? silentLogger;
  const result: CompactionResult = { table: opts.table, merged: 0, inputs: 0, rows: 0, bytesBefore: 0, bytesAfter: 0, swept: 0, skippedBusy: 0 };
  await recoverStaging(store, opts.table, 'compaction-', logger);
  const plan = await planCompaction(store, opts);
  result.skippedBusy = plan.busy;
  for (const f of plan.sweep) await store.remove(f.key);
  result.swept = plan.sweep.length;
  if (plan.groups.length === 0) return result;
  const duck = await openDuck();
  try {
    for (const group of plan.groups) {
      const staged = await stageCompaction(store, duck, group, opts.compressionLevel);
      await commitCompaction(store, staged);
      await publishCompaction(store, staged);
      result.merged++;
      result.inputs += group.inputs.length;
      result.rows += staged.rows;
      result.bytesBefore += group.inputs.reduce((s, f) => s + f.size, 0);
      result.bytesAfter += staged.bytes;
      logger.info({ table: opts.table, dir: group.dir, partition: group.partition, files: group.inputs.length, rows: staged.rows }, 'lake: compacted');
    }
  } finally {
    duck.close();
  }
  return result;
}
