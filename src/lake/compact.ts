import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ObjectStore } from '../objectstore/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { openDuck, parquetCopyOptions, queryRows, sqlString, sqlStringList, type Duck } from './duck.ts';
import { dropLegacyStaging } from './commit.ts';
import { planCompaction, type CompactionGroup, type CompactionPlan, type PlanOptions } from './compact-plan.ts';
import { hourStartMs, rangeTag, STAGING_DIR, type LakeTable } from './layout.ts';
import { readRetentionCutoff } from './retention.ts';
import { openScratch, type Scratch } from './scratch.ts';
import { SCHEMAS } from './schema.ts';
import { localFileOf, mapLimit, withLakeStore, type LakeLocationOrStore } from './store.ts';

export { planCompaction, type CompactionGroup } from './compact-plan.ts';

/**
 * Compaction: the archiver writes one small file per (tenant, hour) partition per batch; compaction merges the
 * committed small files of one hour directory of one tenant into a single file named by the union of their ranges:
 * per stream partition while the hour is open, across a block of partitions once it is closed (compact-plan.ts says
 * which, and why two merges never cross).
 *
 *   1. merge the inputs into one file in a local scratch directory (an S3 lake's inputs are downloaded first);
 *   2. upload it to its key, `p<partition>-<first>-<last>.parquet` or `m-<one range per partition>.parquet`: one
 *      atomic put, which is the switch. The name is the manifest: from this instant readers find every input
 *      contained in the merged file's ranges and skip them, so they see either the inputs or the merged file, never
 *      both, never part;
 *   3. delete the inputs, once the merged file is older than `olderThanMs` (a reader that listed before the switch
 *      has had that long to read them): right away when it is 0, otherwise in a later run (the sweep).
 *
 * A crash leaves local scratch files (removed by the next process) or contained inputs (swept later): no marker is
 * needed. Only committed files (at or below their partition's checkpoint) are merged, so an in-flight batch is never
 * swallowed, and a batch completed again after a crash lands on keys the merged file already contains.
 */

const HOUR_MS = 3_600_000;

class InputVanished extends Error {
  constructor(key: string) {
    super(`compaction input ${key} vanished`);
  }
}

/** The pass's signal aborted while a merge was being built: nothing of it was switched. */
class MergeStopped extends Error {
  constructor() {
    super('compaction stopped during a merge');
  }
}

/** Compacted files are rewritten rarely and read often: a higher zstd level than batch files pays (lake-format.md). */
export const DEFAULT_COMPACTION_LEVEL = 9;

/**
 * A closed hour's file is written once per tenant-hour (again only for late batches) and read for years. For the
 * simulator's fleet its bytes per report are 32.3 at zstd 9, 31.6 at 12, 29.5 at 15, 28.7 at 17, 28.6 at 19, while
 * writing it goes from ~138,000 to ~38,000 (15) and ~16,000 rows/s (19): 15 meets the 30-byte goal at 2.4x the
 * speed of 19, which matters at the full fleet's ~28 million reports an hour. Dictionary encoding is worse at any
 * limit (42.0). lake-format.md "Size and speed" has the run.
 */
export const DEFAULT_HOUR_COMPACTION_LEVEL = 15;

/**
 * DuckDB memory_limit of a compaction (default). A closed hour's merge sorts a whole tenant-hour block (window and
 * ORDER BY); without a limit DuckDB takes up to 80% of the machine's RAM beside the archiver and the rest of `up`
 * (~0.4 KB per row at the margin: ~12 GB for a 28M-report hour). Above the limit it spills to the scratch dir.
 */
export const DEFAULT_COMPACTION_MEMORY_LIMIT = '1GB';

export interface CompactOptions extends PlanOptions {
  /** DuckDB memory_limit of the merge, e.g. `1GB` (default DEFAULT_COMPACTION_MEMORY_LIMIT); beyond it, it spills. */
  memoryLimit?: string;
  /** DuckDB threads of the merge (default 1: background work beside ingestion). */
  threads?: number;

  /** zstd level of a partition's merged files in an open hour (default DEFAULT_COMPACTION_LEVEL). */
  compressionLevel?: number;
  /** zstd level of a closed hour's files merged across partitions (default DEFAULT_HOUR_COMPACTION_LEVEL). */
  hourCompressionLevel?: number;
  /** Local directory for the merge (default: the OS temp dir). */
  scratchDir?: string;
  logger?: Logger;
  /**
   * Aborted: no further group is merged (the one being merged finishes; an interrupted pass leaves nothing to repair:
   * the inputs stay live until a merged file replaces them). The archive worker's stop() aborts it first.
   */
  signal?: AbortSignal;
  /** Called after each step of each merge (crash tests kill the process here). */
  onStep?: (step: CompactionStep, group: CompactionGroup) => void;
  /**
   * A plan made by planCompaction with these options just before (the archive worker plans to decide whether the
   * pass starts a child process, and the child merges that plan); planned here otherwise.
   */
  plan?: CompactionPlan;
}

/** `staged`: merged locally; `switched`: uploaded, the inputs hidden; `dropped`: the inputs deleted (no grace time). */
export type CompactionStep = 'staged' | 'switched' | 'dropped';

export interface CompactionResult {
  table: LakeTable;
  /** Merged files written. */
  merged: number;
  /** Small files replaced by them. */
  inputs: number;
  rows: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Contained files (inputs of a merge, after its grace time) deleted. */
  swept: number;
  /** Merges given up because an input vanished or retention condemned the hour meanwhile. */
  withdrawn: number;
  /** Of the merged files, those of closed hours (across partitions). */
  hours: number;
  /** Blocks of closed hours not merged because the name would not fit a file name (compact-plan.ts). */
  nameTooLong: number;
  /** Blocks of closed hours found crossing (live files overlapping without containment), merged to heal them (compact-plan.ts). */
  crossings: number;
  /** Extra copies of a row (same report or event id) dropped by the merges. */
  duplicates: number;
  /** The signal stopped the pass before every group was merged. */
  stopped?: boolean;
}

export interface StagedCompaction {
  group: CompactionGroup;
  /** Local merged file. */
  file: string;
  rows: number;
  /** Copies of a row dropped (kept once). */
  duplicates: number;
  bytes: number;
}

/** Step 1: the merged file, built locally. */
export async function stageCompaction(store: ObjectStore, duck: Duck, scratch: Scratch, group: CompactionGroup, level = levelOf(group, {}), signal?: AbortSignal): Promise<StagedCompaction> {
  const schema = SCHEMAS[group.table];
  const dir = await scratch.sub(`compact-${group.kind}-${rangeTag(group.ranges[0]!)}`);
  const inputs = await mapLimit(group.inputs, 4, async (f, i) => {
    const local = localFileOf(store, f.key);
    if (local) return local;
    // Zero-padded: file names order the copies of a row (see below) as the inputs are ordered, oldest first.
    const file = path.join(dir, `in-${String(i).padStart(6, '0')}.parquet`);
    if (!(await store.getToFile(f.key, file))) throw new InputVanished(f.key);
    return file;
  });
  const file = path.join(dir, 'merged.parquet');
  let row: Record<string, unknown> | undefined;
  let inputRows: Record<string, unknown> | undefined;
  // Copies of one report (a drone's retry after the stream's duplicate window, stored twice) are in the same
  // partition and hour, so in one merge: the merged file keeps the first stored copy, and the lake converges to
  // exactly once per report id and tenant.
  // By name: an hour may hold files from before a column was added (schema.ts addedColumns); they get NULL there.
  const source = `read_parquet(${sqlStringList(inputs)}, hive_partitioning = false, filename = '__dw_file', union_by_name = true)`;
  try {
    // Checked between the steps as well as interrupted during them (compactStore): an abort that lands between two
    // queries would otherwise not stop the next one.
    if (signal?.aborted) throw new MergeStopped();
    [inputRows] = await queryRows(duck.conn, `SELECT count(*) AS n FROM ${source}`);
    if (signal?.aborted) throw new MergeStopped();
    [row] = await queryRows(duck.conn, `COPY (SELECT * EXCLUDE (__dw_file) FROM ${source}
      QUALIFY row_number() OVER (PARTITION BY ${schema.identity} ORDER BY ${schema.firstCopy}, __dw_file) = 1
      ORDER BY ${schema.orderBy}) TO ${sqlString(file)} (${parquetCopyOptions(level)})`);
  } catch (e) {
    if (signal?.aborted) throw new MergeStopped();
    const gone = inputs.find((i) => !existsSync(i));
    throw gone ? new InputVanished(gone) : e;
  }
  for (const i of inputs) if (i.startsWith(dir)) await fsp.rm(i, { force: true });
  const rows = Number(row?.Count ?? 0);
  return { group, file, rows, duplicates: Number(inputRows?.n ?? rows) - rows, bytes: (await fsp.stat(file)).size };
}

/**
 * Step 2, the switch: the merged file is uploaded; readers skip the inputs from now on. If retention has meanwhile
 * condemned the hour (its cutoff is written before it deletes anything), the merged file is deleted again: it must
 * never bring back rows that retention removed. False when withdrawn.
 */
export async function switchCompaction(store: ObjectStore, staged: StagedCompaction): Promise<boolean> {
  await store.putFile(staged.group.output, staged.file);
  const cutoff = await readRetentionCutoff(store, staged.group.table, staged.group.tenant);
  if (cutoff !== undefined && hourStartMs(staged.group.inputs[0]!.hour) + HOUR_MS <= cutoff) {
    await store.delete(staged.group.output);
    return false;
  }
  return true;
}

/** Step 3: the inputs (each contained in the merged file) are deleted. */
export async function dropInputs(store: ObjectStore, group: CompactionGroup): Promise<void> {
  await store.deleteMany(group.inputs.map((f) => f.key));
}

function levelOf(group: CompactionGroup, opts: Pick<CompactOptions, 'compressionLevel' | 'hourCompressionLevel'>): number {
  return group.kind === 'hour' ? (opts.hourCompressionLevel ?? DEFAULT_HOUR_COMPACTION_LEVEL) : (opts.compressionLevel ?? DEFAULT_COMPACTION_LEVEL);
}

function partitionsOf(group: CompactionGroup): string {
  return group.ranges.map((r) => r.partition).join(',');
}

/**
 * The merge's DuckDB: bounded memory, spilling under the process's own scratch dir (the working directory may be
 * read-only in a container, and the scratch dir is removed with the process's other leftovers), one thread by default
 * (compaction is background work beside ingestion on a small box), and no insertion order to keep (the COPY orders
 * its output itself; keeping the order costs memory in the window and the sort).
 */
export async function openCompactionDuck(scratch: Scratch, opts: Pick<CompactOptions, 'memoryLimit' | 'threads'> = {}): Promise<Duck> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`compaction threads must be a positive integer, got ${threads}`);
  return openDuck({
    memory_limit: opts.memoryLimit ?? DEFAULT_COMPACTION_MEMORY_LIMIT,
    temp_directory: path.join(scratch.dir, 'spill'),
    threads: String(threads),
    preserve_insertion_order: 'false',
  });
}

/** Compacts every eligible (hour directory, partition) of a table. Safe to run while the archiver writes. */
export async function compactLake(lake: LakeLocationOrStore, opts: CompactOptions): Promise<CompactionResult> {
  return withLakeStore(lake, (store) => compactStore(store, opts));
}

async function compactStore(store: ObjectStore, opts: CompactOptions): Promise<CompactionResult> {
  const logger = opts.logger ?? silentLogger;
  const result: CompactionResult = { table: opts.table, merged: 0, inputs: 0, rows: 0, bytesBefore: 0, bytesAfter: 0, swept: 0, withdrawn: 0, hours: 0, nameTooLong: 0, crossings: 0, duplicates: 0 };
  await dropLegacyStaging(store, `${STAGING_DIR}/${opts.table}/compaction-`, undefined);
  const plan = opts.plan ?? await planCompaction(store, opts);
  await store.deleteMany(plan.sweep.map((f) => f.key));
  result.swept = plan.sweep.length;
  result.nameTooLong = plan.nameTooLong;
  result.crossings = plan.crossings;
  // A crossing means a compactor broke the conditions of compact-plan.ts (rolling upgrade, clock skew, another
  // closedAfterMs): readers counted rows twice until this pass. Worth an operator's look even once healed.
  if (plan.crossings > 0) logger.warn({ table: opts.table, blocks: plan.crossings }, 'lake: closed hours whose merged files cross (rows read twice); merging them again to heal (is a compactor of another version or clock running?)');
  if (plan.nameTooLong > 0) logger.warn({ table: opts.table, blocks: plan.nameTooLong }, 'lake: closed hours left unmerged, their merged name cannot be made (too long, or a partition above 9999)');
  if (plan.groups.length === 0) return result;
  const scratch = await openScratch(opts.scratchDir);
  let duck: Duck;
  try {
    duck = await openCompactionDuck(scratch, opts);
  } catch (e) {
    await scratch.remove();
    throw e;
  }
  // A closed hour's merge of a full fleet is minutes of DuckDB work: a stop interrupts it rather than waiting for it.
  const interrupt = (): void => duck.conn.interrupt();
  opts.signal?.addEventListener('abort', interrupt, { once: true });
  try {
    for (const group of plan.groups) {
      if (opts.signal?.aborted) {
        result.stopped = true;
        break;
      }
      let staged: StagedCompaction;
      try {
        staged = await stageCompaction(store, duck, scratch, group, levelOf(group, opts), opts.signal);
      } catch (e) {
        if (e instanceof MergeStopped) {
          result.stopped = true;
          break;
        }
        if (!(e instanceof InputVanished)) throw e;
        result.withdrawn++; // deleted by retention or swept under a bigger merge since the listing: nothing to do
        continue;
      }
      opts.onStep?.('staged', group);
      if (!(await switchCompaction(store, staged))) {
        result.withdrawn++;
        logger.warn({ table: opts.table, dir: group.dir, partitions: partitionsOf(group) }, 'lake: compaction withdrawn, retention condemned the hour meanwhile');
        continue;
      }
      opts.onStep?.('switched', group);
      if (opts.olderThanMs <= 0) {
        await dropInputs(store, group);
        opts.onStep?.('dropped', group);
      }
      await fsp.rm(path.dirname(staged.file), { recursive: true, force: true });
      result.merged++;
      if (group.kind === 'hour') result.hours++;
      result.inputs += group.inputs.length;
      result.rows += staged.rows;
      result.duplicates += staged.duplicates;
      result.bytesBefore += group.inputs.reduce((s, f) => s + f.size, 0);
      result.bytesAfter += staged.bytes;
      logger.info({ table: opts.table, dir: group.dir, kind: group.kind, partitions: partitionsOf(group), files: group.inputs.length, rows: staged.rows, duplicates: staged.duplicates }, 'lake: compacted');
    }
  } finally {
    opts.signal?.removeEventListener('abort', interrupt);
    duck.close();
    await scratch.remove();
  }
  return result;
}
