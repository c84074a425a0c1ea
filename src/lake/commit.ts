import { DwError } from '../errors/index.ts';
import type { Logger } from '../util/log.ts';
import { parentKey, type LakeStore } from './fs-store.ts';
import { checkpointKey, COMMIT_MARKER, partitionTag, stagingTableKey, type LakeTable } from './layout.ts';

/**
 * The commit protocol that makes the lake exactly-once with respect to the stream, whatever instant the writer is
 * killed at (docs/lake-format.md has the full argument):
 *
 *   1. write every file of a batch into `_staging/<table>/<batch id>/` and fsync them;
 *   2. write the COMMIT marker (source -> destination of each file, partition and offsets) atomically: the decision;
 *   3. rename each file to its destination, skipping those already moved, and fsync the destination directories;
 *   4. advance the partition checkpoint `_checkpoints/<table>/p<partition>.json` (never backwards);
 *   5. (the archive worker) commit the stream offset;
 *   6. delete the staging directory.
 *
 * Recovery rolls forward every staging directory that has a COMMIT (steps 3-4) and deletes the others.
 * Compaction uses the same marker with `deletes` (the merged inputs) and no checkpoint.
 */

export interface StagedFile {
  /** Name inside the staging directory. */
  src: string;
  /** Destination key in the lake. */
  dst: string;
  rows: number;
}

export interface CommitMarker {
  version: 1;
  kind: 'batch' | 'compaction';
  table: LakeTable;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  files: StagedFile[];
  /** Keys removed once the files are in place (compaction inputs). */
  deletes: string[];
  /** Whether applying the marker advances the partition checkpoint to lastOffset. */
  checkpoint: boolean;
}

/** Points of the protocol an archive worker reports (hooks: observability and crash tests). */
export type ProtocolStep = 'staged' | 'marker-written' | 'checkpointed' | 'stream-committed' | 'cleaned';

export class LakeWriteError extends DwError {
  constructor(message: string, cause?: unknown) {
    super('DW_LAKE_WRITE_FAILED', message, { status: 500, cause });
  }
}

/** Staging directory names start with the kind and partition so recovery can pick one partition's batches. */
export function stagingPrefix(kind: CommitMarker['kind'], partition: number): string {
  return `${kind}-${partitionTag(partition)}-`;
}

function parseMarker(buf: Buffer): CommitMarker | undefined {
  try {
    const m = JSON.parse(buf.toString('utf8')) as CommitMarker;
    if (m && m.version === 1 && Array.isArray(m.files) && Array.isArray(m.deletes)) return m;
  } catch {
    // A marker is written atomically, so this is a foreign or damaged file: treated as no decision.
  }
  return undefined;
}

/** Step 2: the decision. Once this returns, the batch will be published by this process or by recovery. */
export async function writeCommitMarker(store: LakeStore, stagingKey: string, marker: CommitMarker): Promise<void> {
  await store.putAtomic(`${stagingKey}/${COMMIT_MARKER}`, JSON.stringify(marker));
}

/** Steps 3 and 4 (idempotent: recovery runs them again after a crash at any point). */
export async function applyCommit(store: LakeStore, stagingKey: string, marker: CommitMarker): Promise<void> {
  const touched = new Set<string>();
  for (const f of marker.files) {
    const src = `${stagingKey}/${f.src}`;
    // A staged file only ever leaves its directory by this rename, so a missing source was moved before a crash
    // (and may since have been merged by compaction); an existing destination holds the same rows.
    if (!(await store.exists(src)) || (await store.exists(f.dst))) continue;
    await store.ensureDir(parentKey(f.dst));
    await store.rename(src, f.dst);
    touched.add(parentKey(f.dst));
  }
  for (const dir of touched) await store.syncDir(dir);
  if (marker.deletes.length > 0) {
    const dirs = new Set<string>();
    for (const key of marker.deletes) {
      await store.remove(key);
      dirs.add(parentKey(key));
    }
    for (const dir of dirs) await store.syncDir(dir);
  }
  if (marker.checkpoint) await advanceCheckpoint(store, marker.table, marker.partition, marker.lastOffset);
}

/** Step 6. The marker goes first: a half-deleted directory without it is harmless garbage for recovery. */
export async function discardStaging(store: LakeStore, stagingKey: string): Promise<void> {
  await store.remove(`${stagingKey}/${COMMIT_MARKER}`);
  await store.removeTree(stagingKey);
}

export interface Checkpoint {
  offset: number;
  updatedAt: number;
}

export async function readCheckpoint(store: LakeStore, table: LakeTable, partition: number): Promise<number | undefined> {
  const buf = await store.read(checkpointKey(table, partition));
  if (!buf) return undefined;
  const c = JSON.parse(buf.toString('utf8')) as Checkpoint;
  if (!Number.isSafeInteger(c.offset)) throw new LakeWriteError(`lake: checkpoint ${checkpointKey(table, partition)} is damaged`);
  return c.offset;
}

export async function advanceCheckpoint(store: LakeStore, table: LakeTable, partition: number, offset: number): Promise<void> {
  const current = await readCheckpoint(store, table, partition);
  if (current !== undefined && current >= offset) return;
  const key = checkpointKey(table, partition);
  await store.ensureDir(parentKey(key));
  await store.putAtomic(key, JSON.stringify({ offset, updatedAt: Date.now() } satisfies Checkpoint));
}

export interface RecoveryReport {
  rolledForward: number;
  discarded: number;
}

/**
 * Finishes or forgets interrupted writes of one table: staging directories with a COMMIT marker are applied
 * (steps 3-4) and removed, the others are removed. `prefix` limits it to one kind and partition, so a worker only
 * touches the batches of partitions it owns (another live worker may be writing the others).
 */
export async function recoverStaging(store: LakeStore, table: LakeTable, prefix = '', logger?: Logger): Promise<RecoveryReport> {
  const report: RecoveryReport = { rolledForward: 0, discarded: 0 };
  const base = stagingTableKey(table);
  for (const entry of await store.list(base)) {
    if (!entry.isDir || !entry.name.startsWith(prefix)) continue;
    const key = `${base}/${entry.name}`;
    const buf = await store.read(`${key}/${COMMIT_MARKER}`);
    const marker = buf && parseMarker(buf);
    if (marker) {
      await applyCommit(store, key, marker);
      report.rolledForward++;
      logger?.info({ table, staging: entry.name, files: marker.files.length, lastOffset: marker.lastOffset }, 'lake recovery: rolled a committed batch forward');
    } else {
      report.discarded++;
      logger?.info({ table, staging: entry.name }, 'lake recovery: discarded an uncommitted batch');
    }
    await discardStaging(store, key);
  }
  return report;
}
