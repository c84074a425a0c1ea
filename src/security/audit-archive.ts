import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { DwError } from '../errors/index.ts';
import { listAll, LocalObjectStore, type ObjectStore } from '../objectstore/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { AUDIT_GENESIS, auditEntryHash, type AuditLog, type AuditRecord } from './audit.ts';
import { AuditDuck, auditRow, type AuditRow } from './audit-parquet.ts';

/**
 * The audit log's copy in the lake (issue 7: "tamper-evident, itself stored in the lake"). Entries are appended to
 * `<dataDir>/audit.db` as they happen; this copies the ones not yet in the lake as Parquet, in batches:
 *
 *   audit/tenant=<t>/date=YYYY-MM-DD/audit-<first>-<last>.parquet   the batch's entries of one tenant and day
 *   _commits/audit/<first>.json                                     the batch's range, decided once (put-if-absent)
 *   _checkpoints/audit/<last>.json                                  "entries up to <last> are in the lake" (put-if-absent)
 *
 * Every file of a batch is named by the batch's range, so a batch written again lands on the same keys. The range is
 * decided (put-if-absent) before the first file is written: a re-run after a crash completes exactly that range even
 * if entries were appended meanwhile, and of two archivers racing, both complete the same one. The checkpoint comes
 * after the files; entries at or below it are never written again. Nothing about the copy is kept in audit.db: the
 * lake alone says how far it goes. The files hold every hashed field verbatim plus both hashes, so
 * `verifyArchivedAudit` recomputes the chain from the lake alone (with the hash function of audit.ts).
 */

export const AUDIT_LAKE_PREFIX = 'audit/';
const COMMITS = '_commits/audit/';
const CHECKPOINTS = '_checkpoints/audit/';
/** Any safe integer, so names sort by seq. */
const SEQ_WIDTH = 16;
/** Checkpoints kept: the newest two, so a listing racing with the prune always finds one. */
const KEEP_CHECKPOINTS = 2;

export interface AuditArchiveOptions {
  /** Entries per batch (one set of files and one checkpoint). Default 10,000. */
  batchEntries?: number;
  /** Parent of the local scratch directory where DuckDB writes the files before upload. Default: the OS temp dir. */
  scratchDir?: string;
  /** zstd level. Default 3, as lake batch files. */
  compressionLevel?: number;
  logger?: Logger;
}

export interface AuditArchiveResult {
  /** Files this call wrote. */
  files: number;
  /** Entries of the batches this call completed. */
  entries: number;
}

interface Decision {
  firstSeq: number;
  lastSeq: number;
  /** Hash of entry `lastSeq` in the log that decided: a log that is not the same chain cannot complete the batch. */
  lastHash: string;
  writer: string;
  at: string;
}

interface Checkpoint {
  lastSeq: number;
  hash: string;
  firstSeq: number;
  files: string[];
  writer: string;
  at: string;
}

const pad = (n: number): string => String(n).padStart(SEQ_WIDTH, '0');
const commitKey = (first: number): string => `${COMMITS}${pad(first)}.json`;
const checkpointKey = (last: number): string => `${CHECKPOINTS}${pad(last)}.json`;
const SEQ_FILE = /^(\d+)\.json$/;
const DATA_KEY = /^audit\/tenant=([^/]+)\/date=([^/]+)\/audit-(\d+)-(\d+)\.parquet$/;

/** A tenant as a path segment: ids are safe as they are; anything else (`-` for unknown users) is %-encoded. */
export function tenantSegment(tenant: string): string {
  if (/^[a-z0-9][a-z0-9_-]{0,62}$/.test(tenant)) return tenant;
  return tenant === '' ? '%' : Array.from(Buffer.from(tenant, 'utf8'), (b) => (/[a-z0-9_-]/i.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

export function auditDataKey(tenant: string, date: string, first: number, last: number): string {
  return `${AUDIT_LAKE_PREFIX}tenant=${tenantSegment(tenant)}/date=${date}/audit-${pad(first)}-${pad(last)}.parquet`;
}

/** The batch range of an audit data file's key, or undefined for any other key. */
export function parseAuditDataKey(key: string): { first: number; last: number } | undefined {
  const m = DATA_KEY.exec(key);
  if (!m) return undefined;
  const r = { first: Number(m[3]), last: Number(m[4]) };
  return Number.isSafeInteger(r.first) && Number.isSafeInteger(r.last) && r.first >= 1 && r.first <= r.last ? r : undefined;
}

function mismatch(message: string): DwError {
  return new DwError('DW_AUDIT_LAKE_MISMATCH', message, { status: 409 });
}

async function readJson<T>(lake: ObjectStore, key: string): Promise<T | undefined> {
  const buf = await lake.get(key);
  if (!buf) return undefined;
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch {
    throw mismatch(`${lake.location}: ${key} is not JSON: the lake's audit copy is damaged`);
  }
}

async function listSeqs(lake: ObjectStore, prefix: string): Promise<number[]> {
  const out: number[] = [];
  for (const o of (await listAll(lake, prefix)).objects) {
    const m = SEQ_FILE.exec(o.key.slice(prefix.length));
    if (m && Number.isSafeInteger(Number(m[1]))) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** The newest checkpoint of the audit copy: how far the lake holds the log. Undefined when nothing is archived. */
export async function readAuditCheckpoint(lake: ObjectStore): Promise<{ lastSeq: number; hash: string } | undefined> {
  const last = (await listSeqs(lake, CHECKPOINTS)).at(-1);
  if (last === undefined) return undefined;
  const cp = await readJson<Checkpoint>(lake, checkpointKey(last));
  // Pruned between the listing and the read: a newer one exists.
  if (!cp) return readAuditCheckpoint(lake);
  if (cp.lastSeq !== last || typeof cp.hash !== 'string') throw mismatch(`${lake.location}: ${checkpointKey(last)} does not describe entry ${last}`);
  return { lastSeq: cp.lastSeq, hash: cp.hash };
}

/** Checks `records` link to `prevHash` and to each other, with their stored hashes. Only a sound chain is copied. */
function checkSegment(records: readonly AuditRecord[], prevHash: string): void {
  let prev = prevHash;
  for (const r of records) {
    if (r.prevHash !== prev || auditEntryHash(prev, r, r.detailsJson) !== r.hash) {
      throw new DwError('DW_AUDIT_CHAIN_BROKEN', `audit log: entry ${r.seq} does not match the hash chain (changed, removed or reordered entries); nothing from it on is copied to the lake (\`dronewatch audit verify\`)`, { status: 500 });
    }
    prev = r.hash;
  }
}

class Archiver {
  private readonly id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly batch: number;
  private readonly level: number;
  private readonly logger: Logger;

  /** Opened on the first batch: the periodic call usually finds nothing to copy. */
  private duck: AuditDuck | undefined;

  constructor(private readonly audit: AuditLog, private readonly lake: ObjectStore, private readonly dir: string, opts: AuditArchiveOptions) {
    this.batch = opts.batchEntries ?? 10_000;
    this.level = opts.compressionLevel ?? 3;
    this.logger = opts.logger ?? silentLogger;
    if (!Number.isSafeInteger(this.batch) || this.batch < 1) throw new RangeError(`batchEntries must be a positive integer, got ${this.batch}`);
  }

  /** One entry of the local log by seq. */
  private entry(seq: number): AuditRecord | undefined {
    return this.audit.scan({ afterSeq: seq - 1, toSeq: seq, limit: 1 })[0];
  }

  async run(): Promise<AuditArchiveResult> {
    const done: AuditArchiveResult = { files: 0, entries: 0 };
    for (;;) {
      const cp = await readAuditCheckpoint(this.lake);
      if (cp && this.entry(cp.lastSeq)?.hash !== cp.hash) {
        throw mismatch(`${this.lake.location}: the lake's audit copy (entries up to ${cp.lastSeq}) is not a copy of this audit log (it has ${this.audit.headSeq()} entries${this.entry(cp.lastSeq) ? ', with another hash at that entry' : ''}): one lake per audit log`);
      }
      const after = cp?.lastSeq ?? 0;
      const d = await this.decide(after);
      if (d === 'idle') return done;
      if (d === 'stale') continue;
      const r = await this.complete(d, cp?.hash ?? AUDIT_GENESIS);
      done.files += r.files;
      done.entries += r.entries;
      await this.prune(d.lastSeq);
    }
  }

  /** The range of the next batch: the one decided at `after + 1` (by anyone), or a new one. */
  private async decide(after: number): Promise<Decision | 'idle' | 'stale'> {
    const key = commitKey(after + 1);
    let d = await readJson<Decision>(this.lake, key);
    if (!d) {
      const head = this.audit.headSeq();
      if (head <= after) return 'idle';
      const lastSeq = Math.min(head, after + this.batch);
      const mine: Decision = { firstSeq: after + 1, lastSeq, lastHash: this.entry(lastSeq)!.hash, writer: this.id, at: new Date().toISOString() };
      d = (await this.lake.put(key, JSON.stringify(mine), { ifAbsent: true })) ? mine : await readJson<Decision>(this.lake, key);
      if (!d) return 'stale'; // decided and pruned by another archiver in between
    }
    // A decision read after another archiver completed its range and pruned it (then re-created by a late one) is
    // stale: the checkpoint, written before any prune, says so. Checked after reading, whoever wrote it.
    if (((await readAuditCheckpoint(this.lake))?.lastSeq ?? 0) >= d.firstSeq) return 'stale';
    if (d.firstSeq !== after + 1 || !(d.lastSeq >= d.firstSeq)) throw mismatch(`${this.lake.location}: ${key} does not describe a batch starting at entry ${after + 1}`);
    if (this.entry(d.lastSeq)?.hash !== d.lastHash) {
      throw mismatch(`${this.lake.location}: entries ${d.firstSeq}-${d.lastSeq} were decided by an audit log that is not this one (${d.writer}): one lake per audit log`);
    }
    return d;
  }

  /** Writes the batch's files (put-if-absent: a re-run skips those already there), then its checkpoint. */
  private async complete(d: Decision, prevHash: string): Promise<AuditArchiveResult> {
    const records = this.audit.scan({ afterSeq: d.firstSeq - 1, toSeq: d.lastSeq, limit: d.lastSeq - d.firstSeq + 1 });
    if (records.length !== d.lastSeq - d.firstSeq + 1) throw mismatch(`audit log: entries ${d.firstSeq}-${d.lastSeq} are not all in this log`);
    checkSegment(records, prevHash);
    const groups = new Map<string, AuditRow[]>();
    for (const r of records) {
      const date = /^\d{4}-\d{2}-\d{2}/.test(r.at) ? r.at.slice(0, 10) : 'unknown';
      const key = auditDataKey(r.tenant, date, d.firstSeq, d.lastSeq);
      let rows = groups.get(key);
      if (!rows) groups.set(key, (rows = []));
      rows.push(auditRow(r));
    }
    const keys = [...groups.keys()].sort();
    let files = 0;
    for (const [i, key] of keys.entries()) {
      if (await this.lake.head(key)) continue;
      const name = `${d.firstSeq}-${d.lastSeq}-${i}`;
      const file = path.join(this.dir, `${name}.parquet`);
      this.duck ??= await AuditDuck.open();
      await this.duck.writeParquet([groups.get(key)!], file, path.join(this.dir, `${name}.ndjson`), this.level);
      try {
        if (await this.lake.putFile(key, file, { ifAbsent: true })) files++;
      } finally {
        await fsp.rm(file, { force: true });
      }
    }
    const cp: Checkpoint = { lastSeq: d.lastSeq, hash: records.at(-1)!.hash, firstSeq: d.firstSeq, files: keys, writer: this.id, at: new Date().toISOString() };
    const mine = await this.lake.put(checkpointKey(d.lastSeq), JSON.stringify(cp), { ifAbsent: true });
    this.logger.info({ first: d.firstSeq, last: d.lastSeq, files, completedHere: mine }, 'audit: entries copied to the lake');
    return { files, entries: mine ? records.length : 0 };
  }

  close(): void {
    this.duck?.close();
  }

  /** Decisions of completed batches, and checkpoints but the newest ones. Safe: see `decide`. */
  private async prune(upTo: number): Promise<void> {
    const commits = (await listSeqs(this.lake, COMMITS)).filter((s) => s <= upTo).map(commitKey);
    const cps = await listSeqs(this.lake, CHECKPOINTS);
    const old = cps.slice(0, Math.max(0, cps.length - KEEP_CHECKPOINTS)).map(checkpointKey);
    if (commits.length + old.length > 0) await this.lake.deleteMany([...commits, ...old]);
  }
}

/**
 * Copies the audit entries not yet in the lake to it, in batches, exactly once (see the top of this file). Safe to
 * run from several processes at once on the same log and lake, and after a crash at any point.
 */
export async function archiveAuditLog(audit: AuditLog, lake: ObjectStore, opts: AuditArchiveOptions = {}): Promise<AuditArchiveResult> {
  await fsp.mkdir(opts.scratchDir ?? tmpdir(), { recursive: true });
  const dir = await fsp.mkdtemp(path.join(opts.scratchDir ?? tmpdir(), 'dw-audit-'));
  const archiver = new Archiver(audit, lake, dir, opts);
  try {
    return await archiver.run();
  } finally {
    archiver.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export interface ArchivedAuditVerification {
  ok: boolean;
  /** Entries checked (up to the checkpoint). */
  entries: number;
  /** Hash of the last entry checked: the chain's head in the lake. */
  head: string;
  /** Seq of the first entry that is missing, duplicated or does not match. */
  firstBad?: number;
  reason?: string;
  /** Files of batches still in progress (beyond the checkpoint), not checked. */
  pendingFiles: number;
}

/**
 * Recomputes the hash chain from the lake's Parquet files alone, batch by batch (memory bounded by a batch): every
 * entry from 1 to the checkpoint present exactly once, each linked to the previous one, each hash matching its
 * content, and the last one the hash the checkpoint recorded.
 */
export async function verifyArchivedAudit(lake: ObjectStore, opts: { scratchDir?: string } = {}): Promise<ArchivedAuditVerification> {
  const cp = await readAuditCheckpoint(lake);
  const batches = new Map<string, { first: number; last: number; keys: string[] }>();
  let pendingFiles = 0;
  for (const o of (await listAll(lake, AUDIT_LAKE_PREFIX)).objects) {
    const r = parseAuditDataKey(o.key);
    if (!r) continue;
    if (r.last > (cp?.lastSeq ?? 0)) {
      pendingFiles++;
      continue;
    }
    const id = `${r.first}-${r.last}`;
    const b = batches.get(id) ?? { ...r, keys: [] };
    b.keys.push(o.key);
    batches.set(id, b);
  }
  let prev = AUDIT_GENESIS;
  let next = 1;
  const fail = (seq: number, reason: string): ArchivedAuditVerification => ({ ok: false, entries: next - 1, head: prev, firstBad: seq, reason, pendingFiles });
  await fsp.mkdir(opts.scratchDir ?? tmpdir(), { recursive: true });
  const dir = await fsp.mkdtemp(path.join(opts.scratchDir ?? tmpdir(), 'dw-audit-verify-'));
  const duck = await AuditDuck.open();
  try {
    for (const b of [...batches.values()].sort((x, y) => x.first - y.first || x.last - y.last)) {
      if (b.first > next) return fail(next, `entries ${next}-${b.first - 1} are missing from the lake`);
      if (b.first < next) return fail(b.first, `batch ${b.first}-${b.last} overlaps entries already seen`);
      const files = await localFiles(lake, b.keys, dir, `${b.first}-${b.last}`);
      const rows = await duck.readParquet(files.map((f) => f.path));
      for (const f of files) if (f.temporary) await fsp.rm(f.path, { force: true });
      for (const row of rows) {
        if (row.seq !== next) return fail(Math.min(row.seq, next), row.seq < next ? `entry ${row.seq} appears twice` : `entry ${next} is missing`);
        if (row.prev_hash !== prev) return fail(row.seq, `entry ${row.seq} does not link to entry ${row.seq - 1}`);
        if (auditEntryHash(prev, row, row.details) !== row.hash) return fail(row.seq, `entry ${row.seq} was changed (its hash does not match its content)`);
        prev = row.hash;
        next++;
      }
      if (next !== b.last + 1) return fail(next, `batch ${b.first}-${b.last}: entries ${next}-${b.last} are missing`);
    }
  } finally {
    duck.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
  if (cp && (next - 1 !== cp.lastSeq || prev !== cp.hash)) return fail(next, `the lake's chain ends at entry ${next - 1}, its checkpoint says ${cp.lastSeq} with another hash`);
  return { ok: true, entries: next - 1, head: prev, pendingFiles };
}

/** Local paths of objects: in place on a local lake, downloaded otherwise. */
async function localFiles(lake: ObjectStore, keys: readonly string[], dir: string, batch: string): Promise<{ path: string; temporary: boolean }[]> {
  const out: { path: string; temporary: boolean }[] = [];
  for (const [i, key] of keys.entries()) {
    if (lake instanceof LocalObjectStore) {
      out.push({ path: lake.pathOf(key), temporary: false });
      continue;
    }
    // A path is never reused within one DuckDB instance (see AuditDuck.open): one name per batch and file.
    const file = path.join(dir, `${batch}-${i}.parquet`);
    if (!(await lake.getToFile(key, file))) throw mismatch(`${lake.location}: ${key} disappeared while it was verified`);
    out.push({ path: file, temporary: true });
  }
  return out;
}
