import { DwError } from '../errors/index.ts';
import { listAll, type ObjectStore } from '../objectstore/index.ts';
import type { Logger } from '../util/log.ts';
import { pruneCheckpoints, readCheckpoint, writeCheckpoint } from './checkpoints.ts';
import { commitKey, commitPrefix, parseDataKey, partitionTag, STAGING_DIR, type LakeTable } from './layout.ts';

/**
 * The commit protocol that makes the lake exactly-once with respect to the stream, on any object store (no rename,
 * no append, no fsync: only atomic whole-object puts, put-if-absent, list and delete). docs/lake-format.md has the
 * full argument. A batch is the records of one stream partition in an offset range [first, last]; ranges of a
 * partition tile its offsets (a batch starts right after the partition's checkpoint).
 *
 *   1. build the batch's Parquet files in a local scratch directory (nothing in the lake yet);
 *   2. decide: create the commit record `_commits/<table>/p<partition>/<first>.json` (range, files) with
 *      put-if-absent. Exactly one range can ever be decided for a partition at `first`, even with two writers;
 *   3. upload each file to its final key, named by the range (invisible to readers: beyond the checkpoint);
 *   4. create the checkpoint `last` (put-if-absent): readers see the whole batch from now on, at once;
 *   5. (the archive worker) commit the stream offset;
 *   6. delete the commit record, older checkpoints and the scratch files.
 *
 * A decided batch is always completed: if its writer dies after step 2, the next owner of the partition finds the
 * record beyond the checkpoint and writes exactly that range again, from the stream (the offsets have not been
 * committed there), onto the same keys. No step ever needs the dead writer's local files.
 */

export interface CommitFile {
  key: string;
  rows: number;
  bytes: number;
}

export interface CommitRecord {
  version: 2;
  table: LakeTable;
  partition: number;
  first: number;
  last: number;
  files: CommitFile[];
  rows: number;
  rejected: number;
  /** Id of the writer that decided it (diagnostics). */
  writer: string;
  at: number;
}

/** A decided batch not yet completed (its range is beyond the checkpoint): whoever owns the partition completes it. */
export interface PendingBatch {
  first: number;
  last: number;
}

/** Points of the protocol an archive worker reports (hooks: observability and crash tests). */
export type ProtocolStep = 'staged' | 'marker-written' | 'checkpointed' | 'stream-committed' | 'cleaned';

/** What writing the decision gave: ours (or the same range, decided by another writer), or another range won. */
export type Decision = 'decided' | 'superseded';

export class LakeWriteError extends DwError {
  constructor(message: string, cause?: unknown) {
    super('DW_LAKE_WRITE_FAILED', message, { status: 500, cause });
  }
}

function parseRecord(buf: Buffer | undefined): CommitRecord | undefined {
  if (!buf) return undefined;
  try {
    const r = JSON.parse(buf.toString('utf8')) as CommitRecord;
    if (r && r.version === 2 && Number.isSafeInteger(r.first) && Number.isSafeInteger(r.last) && Array.isArray(r.files)) return r;
  } catch {
    // Records are written whole (atomic put): this is a foreign object, not a decision.
  }
  return undefined;
}

/**
 * Step 2. `decided` when the record is ours, or an identical range was decided before (a retried put whose first
 * answer was lost, or another writer completing the same batch: same offsets, same rows, same keys).
 * `superseded` when another range was decided at `first`, or when the partition's checkpoint has already passed
 * `first` (a writer that paused long enough for another to go on, and for that one to prune the old record): then
 * nothing of this batch may be uploaded, and the caller must re-read the lake's state (recoverPartition).
 */
export async function decide(store: ObjectStore, record: CommitRecord): Promise<Decision> {
  const key = commitKey(record.table, record.partition, record.first);
  const created = await store.put(key, JSON.stringify(record), { ifAbsent: true });
  if (!created) {
    const existing = parseRecord(await store.get(key));
    if (!existing || existing.last !== record.last) return 'superseded';
  }
  const checkpoint = await readCheckpoint(store, record.table, record.partition);
  if (checkpoint !== undefined && checkpoint >= record.first) {
    // Re-created after it was pruned: the range is in the lake already (or is overlapped by batches that are).
    if (created) await store.delete(key);
    return 'superseded';
  }
  return 'decided';
}

/** Step 4: the batch becomes visible to readers, all its files at once. */
export async function completeBatch(store: ObjectStore, record: Pick<CommitRecord, 'table' | 'partition' | 'first' | 'last' | 'writer'>): Promise<void> {
  await writeCheckpoint(store, record.table, record.partition, { offset: record.last, first: record.first, writer: record.writer, at: Date.now() });
}

/**
 * Step 6 (store part): the record of a completed batch is not needed any more; superseded checkpoints are pruned
 * too when `checkpoints` (every few batches: a listing and a delete each time would double a small batch's requests).
 */
export async function pruneBatch(store: ObjectStore, table: LakeTable, partition: number, first: number, checkpoints = true): Promise<void> {
  await store.delete(commitKey(table, partition, first));
  if (checkpoints) await pruneCheckpoints(store, table, partition);
}

export interface RecoveryReport {
  /** Last offset of the partition in the lake. */
  checkpoint: number | undefined;
  /** A decided batch to complete before anything else (its writer died or was fenced off before step 4). */
  pending: PendingBatch | undefined;
  /** Records of completed batches deleted (a crash between steps 4 and 6). */
  pruned: number;
}

/**
 * What the next owner of a partition must know before writing: its checkpoint, and the decided batch to complete
 * first if there is one. Records at or below the checkpoint are left-overs of completed batches and are deleted.
 */
export async function recoverPartition(store: ObjectStore, table: LakeTable, partition: number, logger?: Logger): Promise<RecoveryReport> {
  const checkpoint = await readCheckpoint(store, table, partition);
  await dropLegacyStaging(store, `${STAGING_DIR}/${table}/batch-${partitionTag(partition)}-`, checkpoint);
  const prefix = commitPrefix(table, partition);
  const firsts = (await listAll(store, prefix)).objects
    .map((o) => /^(\d+)\.json$/.exec(o.key.slice(prefix.length)))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const done = firsts.filter((f) => checkpoint !== undefined && f <= checkpoint);
  if (done.length > 0) await store.deleteMany(done.map((f) => commitKey(table, partition, f)));
  await pruneCheckpoints(store, table, partition);
  let pending: PendingBatch | undefined;
  for (const first of firsts.filter((f) => checkpoint === undefined || f > checkpoint)) {
    const record = parseRecord(await store.get(commitKey(table, partition, first)));
    if (record) {
      pending = { first: record.first, last: record.last };
      break;
    }
  }
  if (pending) logger?.info({ table, partition, checkpoint, pending }, 'lake recovery: a decided batch will be completed from the stream');
  return { checkpoint, pending, pruned: done.length };
}

/**
 * A lake written by the file-system protocol may hold staging directories (`_staging/<table>/...`) of batches
 * interrupted before their checkpoint: their records were not committed to the stream and will be written again, so
 * the batch is rolled back. Files it had already renamed into place are beyond the checkpoint (hidden) and are
 * deleted, lest they appear once the checkpoint passes them. Compaction staging is simply dropped.
 */
export async function dropLegacyStaging(store: ObjectStore, prefix: string, checkpoint: number | undefined): Promise<void> {
  const objects = (await listAll(store, prefix)).objects;
  if (objects.length === 0) return;
  const published: string[] = [];
  for (const o of objects.filter((x) => x.key.endsWith('/COMMIT'))) {
    try {
      const marker = JSON.parse((await store.get(o.key))?.toString('utf8') ?? '{}') as { kind?: string; files?: { dst?: unknown }[] };
      if (marker.kind !== 'batch') continue;
      for (const f of marker.files ?? []) {
        const where = typeof f.dst === 'string' ? parseDataKey(f.dst) : undefined;
        if (where && where.ranges.some((r) => r.last > (checkpoint ?? -1))) published.push(f.dst as string);
      }
    } catch {
      // Not a marker of the old protocol: nothing was decided.
    }
  }
  await store.deleteMany([...published, ...objects.map((o) => o.key)]);
}
