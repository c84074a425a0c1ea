import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listAll, LocalObjectStore, type ObjectStore } from '../objectstore/index.ts';
import { AUDIT_GENESIS, auditEntryHash } from './audit.ts';
import { archivedAuditLogIds, AUDIT_LAKE_PREFIX, lakeMismatch, parseAuditDataKey, readAuditCheckpoint } from './audit-lake-keys.ts';
import { AuditDuck } from './audit-parquet.ts';

/** One log's copy in the lake, as verified from its files alone. */
export interface ArchivedLogVerification {
  logId: string;
  ok: boolean;
  /** Entries checked (up to the log's checkpoint). */
  entries: number;
  /** Hash of the last entry checked: the chain's head in the lake. */
  head: string;
  /** Seq of the first entry that is missing, duplicated, foreign or does not match. */
  firstBad?: number;
  reason?: string;
  /** Files of batches still in progress (beyond the checkpoint), not checked. */
  pendingFiles: number;
}

export interface ArchivedAuditVerification {
  /** Every log found in the lake verifies (true for a lake without any). */
  ok: boolean;
  /** Per log, by id. */
  logs: ArchivedLogVerification[];
  /** The failing logs' reasons, each naming its log. */
  reason?: string;
  /** Objects under `audit/` that are no log's file (the first layout, without a log id): ignored. */
  ignoredFiles: number;
}

interface Batch {
  first: number;
  last: number;
  keys: string[];
}

/**
 * Recomputes every log's hash chain from the lake's Parquet files alone, batch by batch (memory bounded by a batch):
 * per log, every entry from 1 to the log's checkpoint present exactly once, each of that log (`log_id`), linked to
 * the previous one, its hash matching its content, and the last one the hash the checkpoint recorded.
 */
export async function verifyArchivedAudit(lake: ObjectStore, opts: { scratchDir?: string } = {}): Promise<ArchivedAuditVerification> {
  const files = new Map<string, Map<string, Batch>>();
  let ignoredFiles = 0;
  for (const o of (await listAll(lake, AUDIT_LAKE_PREFIX)).objects) {
    const r = parseAuditDataKey(o.key);
    if (!r) {
      ignoredFiles++;
      continue;
    }
    let batches = files.get(r.logId);
    if (!batches) files.set(r.logId, (batches = new Map()));
    const id = `${r.first}-${r.last}`;
    const b = batches.get(id) ?? { first: r.first, last: r.last, keys: [] };
    b.keys.push(o.key);
    batches.set(id, b);
  }
  const ids = [...new Set([...await archivedAuditLogIds(lake), ...files.keys()])].sort();
  await fsp.mkdir(opts.scratchDir ?? tmpdir(), { recursive: true });
  const dir = await fsp.mkdtemp(path.join(opts.scratchDir ?? tmpdir(), 'dw-audit-verify-'));
  const duck = await AuditDuck.open();
  const logs: ArchivedLogVerification[] = [];
  try {
    for (const logId of ids) logs.push(await verifyLog(lake, logId, [...(files.get(logId)?.values() ?? [])], duck, dir));
  } finally {
    duck.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
  const bad = logs.filter((l) => !l.ok);
  return { ok: bad.length === 0, logs, ...(bad.length > 0 ? { reason: bad.map((l) => `audit log ${l.logId}: ${l.reason}`).join('; ') } : {}), ignoredFiles };
}

async function verifyLog(lake: ObjectStore, logId: string, all: Batch[], duck: AuditDuck, dir: string): Promise<ArchivedLogVerification> {
  const cp = await readAuditCheckpoint(lake, logId);
  const upTo = cp?.lastSeq ?? 0;
  const pendingFiles = all.filter((b) => b.last > upTo).reduce((n, b) => n + b.keys.length, 0);
  let prev = AUDIT_GENESIS;
  let next = 1;
  const fail = (seq: number, reason: string): ArchivedLogVerification => ({ logId, ok: false, entries: next - 1, head: prev, firstBad: seq, reason, pendingFiles });
  for (const b of all.filter((x) => x.last <= upTo).sort((x, y) => x.first - y.first || x.last - y.last)) {
    if (b.first > next) return fail(next, `entries ${next}-${b.first - 1} are missing from the lake`);
    if (b.first < next) return fail(b.first, `batch ${b.first}-${b.last} overlaps entries already seen`);
    const local = await localFiles(lake, b.keys, dir, `${logId}-${b.first}-${b.last}`);
    const rows = await duck.readParquet(local.map((f) => f.path));
    for (const f of local) if (f.temporary) await fsp.rm(f.path, { force: true });
    for (const row of rows) {
      if (row.seq !== next) return fail(Math.min(row.seq, next), row.seq < next ? `entry ${row.seq} appears twice` : `entry ${next} is missing`);
      // Checked before the hash: an entry of another log copied in would otherwise read as "changed".
      if (row.log_id !== logId) return fail(row.seq, `entry ${row.seq} is not of this log (its log_id is ${row.log_id ?? 'missing'}): a foreign entry`);
      if (row.prev_hash !== prev) return fail(row.seq, `entry ${row.seq} does not link to entry ${row.seq - 1}`);
      if (auditEntryHash(prev, row, row.details) !== row.hash) return fail(row.seq, `entry ${row.seq} was changed (its hash does not match its content)`);
      prev = row.hash;
      next++;
    }
    if (next !== b.last + 1) return fail(next, `batch ${b.first}-${b.last}: entries ${next}-${b.last} are missing`);
  }
  if (cp && (next - 1 !== cp.lastSeq || prev !== cp.hash)) return fail(next, `the lake's chain ends at entry ${next - 1}, its checkpoint says ${cp.lastSeq} with another hash`);
  return { logId, ok: true, entries: next - 1, head: prev, pendingFiles };
}

/** Local paths of objects: in place on a local lake, downloaded otherwise. */
async function localFiles(lake: ObjectStore, keys: readonly string[], dir: string, batch: string): Promise<{ path: string; temporary: boolean }[]> {
  const out: { path: string; temporary: boolean }[] = [];
  for (const [i, key] of keys.entries()) {
    if (lake instanceof LocalObjectStore) {
      out.push({ path: lake.pathOf(key), temporary: false });
      continue;
    }
    // A path is never reused within one DuckDB instance (see AuditDuck.open): one name per log, batch and file.
    const file = path.join(dir, `${batch}-${i}.parquet`);
    if (!(await lake.getToFile(key, file))) throw lakeMismatch(`${lake.location}: ${key} disappeared while it was verified`);
    out.push({ path: file, temporary: true });
  }
  return out;
}
