import { listAll, type ObjectStore } from '../objectstore/index.ts';
import {
  checkpointKey, checkpointTablePrefix, legacyCheckpointKey, parseLegacyCheckpoint, parseOffsetKey, partitionTag, type LakeTable,
} from './layout.ts';

/**
 * Checkpoints: `_checkpoints/<table>/p<partition>/<offset>.json` says that every offset of the partition up to
 * `offset` is in the lake. Each is created once (put-if-absent) and never changed; the partition's checkpoint is the
 * highest one. A checkpoint therefore never moves backwards, whoever writes late (a writer paused past its lease
 * writing an old offset cannot hide newer batches), and readers need one listing per table to learn them all.
 * Older ones are pruned, keeping the newest two so that a listing racing with the prune always finds one.
 */

export interface CheckpointRecord {
  offset: number;
  /** Commit record of the batch it completes (diagnostics). */
  first: number;
  writer: string;
  at: number;
}

const KEEP = 2;

async function legacyOffset(store: ObjectStore, table: LakeTable, partition: number): Promise<number | undefined> {
  const buf = await store.get(legacyCheckpointKey(table, partition));
  if (!buf) return undefined;
  try {
    const offset = (JSON.parse(buf.toString('utf8')) as { offset?: unknown }).offset;
    return typeof offset === 'number' && Number.isSafeInteger(offset) ? offset : undefined;
  } catch {
    return undefined; // written atomically by the old protocol: foreign or damaged, not a checkpoint
  }
}

/** The checkpoint of every partition of a table with one (one listing, plus a read per legacy checkpoint file). */
export async function readCheckpoints(store: ObjectStore, table: LakeTable): Promise<Map<number, number>> {
  const prefix = checkpointTablePrefix(table);
  const out = new Map<number, number>();
  const raise = (p: number, o: number | undefined): void => {
    if (o !== undefined && o > (out.get(p) ?? -1)) out.set(p, o);
  };
  for (const o of (await listAll(store, prefix)).objects) {
    const rel = o.key.slice(prefix.length);
    const parsed = parseOffsetKey(rel);
    if (parsed) raise(parsed.partition, parsed.offset);
    const legacy = parseLegacyCheckpoint(rel);
    if (legacy !== undefined) raise(legacy, await legacyOffset(store, table, legacy));
  }
  return out;
}

/** Offsets of one partition's checkpoints, ascending, and whether a legacy file exists. */
async function partitionCheckpoints(store: ObjectStore, table: LakeTable, partition: number): Promise<{ offsets: number[]; legacy: boolean }> {
  const prefix = checkpointTablePrefix(table);
  // `p0003` (no slash) matches both `p0003/<offset>.json` and the legacy `p0003.json`.
  const objects = (await listAll(store, `${prefix}${partitionTag(partition)}`)).objects;
  const offsets: number[] = [];
  let legacy = false;
  for (const o of objects) {
    const rel = o.key.slice(prefix.length);
    const parsed = parseOffsetKey(rel);
    if (parsed?.partition === partition) offsets.push(parsed.offset);
    if (parseLegacyCheckpoint(rel) === partition) legacy = true;
  }
  return { offsets: offsets.sort((a, b) => a - b), legacy };
}

/** Last offset of the partition in the lake, if any. */
export async function readCheckpoint(store: ObjectStore, table: LakeTable, partition: number): Promise<number | undefined> {
  const { offsets, legacy } = await partitionCheckpoints(store, table, partition);
  const newest = offsets[offsets.length - 1];
  const old = legacy ? await legacyOffset(store, table, partition) : undefined;
  if (newest === undefined) return old;
  return old === undefined ? newest : Math.max(newest, old);
}

/** Creates the checkpoint `offset` (a no-op when it exists). Once it returns, readers see the batches up to it. */
export async function writeCheckpoint(store: ObjectStore, table: LakeTable, partition: number, record: CheckpointRecord): Promise<void> {
  await store.put(checkpointKey(table, partition, record.offset), JSON.stringify(record), { ifAbsent: true });
}

/** Deletes all but the newest checkpoints of a partition (and a legacy file they supersede). */
export async function pruneCheckpoints(store: ObjectStore, table: LakeTable, partition: number): Promise<void> {
  const { offsets, legacy } = await partitionCheckpoints(store, table, partition);
  const old = offsets.slice(0, Math.max(0, offsets.length - KEEP)).map((o) => checkpointKey(table, partition, o));
  const newest = offsets[offsets.length - 1];
  if (legacy && newest !== undefined && newest >= ((await legacyOffset(store, table, partition)) ?? Number.POSITIVE_INFINITY)) {
    old.push(legacyCheckpointKey(table, partition));
  }
  if (old.length > 0) await store.deleteMany(old);
}
