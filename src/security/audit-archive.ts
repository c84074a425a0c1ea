import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { DwError } from '../errors/index.ts';
import type { ObjectStore } from '../objectstore/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { AUDIT_GENESIS, auditEntryHash, type AuditLog, type AuditRecord } from './audit.ts';
import {
  auditDataKey, checkpointKey, checkpointPrefix, commitKey, commitPrefix, lakeMismatch, listSeqs, readAuditCheckpoint, readJson,
  type AuditCheckpoint,
} from './audit-lake-keys.ts';
import { AuditDuck, auditRow, type AuditRow } from './audit-parquet.ts';

/**
 * The audit logs' copy in the lake (issue 7: "tamper-evident, itself stored in the lake"). Each API host appends to
 * its own `<dataDir>/audit.db`; this copies the entries of one log not yet in the lake as Parquet, in batches, under
 * that log's id (keys: src/security/audit-lake-keys.ts). Logs of other hosts in the same lake are the normal case
 * and are not touched: everything below is per log.
 *
 * Every file of a batch is named by the log and the batch's range, so a batch written again lands on the same keys.
 * The range is decided (put-if-absent) before the first file is written: a re-run after a crash completes exactly
 * that range even if entries were appended meanwhile, and of two archivers racing, both complete the same one. The
 * checkpoint comes after the files; entries at or below it are never written again. Nothing about the copy is kept
 * in audit.db: the lake alone says how far it goes. The files hold every hashed field verbatim plus both hashes, so
 * `verifyArchivedAudit` recomputes each chain from the lake alone (with the hash function of audit.ts).
 */

/** Checkpoints kept per log: the newest two, so a listing racing with the prune always finds one. */
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
  /** The log's id (undefined for an empty log, which has none yet and copies nothing). */
  logId: string | undefined;
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

  constructor(private readonly audit: AuditLog, private readonly logId: string, private readonly lake: ObjectStore, private readonly dir: string, opts: AuditArchiveOptions) {
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
    const done: AuditArchiveResult = { logId: this.logId, files: 0, entries: 0 };
    for (;;) {
      const cp = await readAuditCheckpoint(this.lake, this.logId);
      if (cp && this.entry(cp.lastSeq)?.hash !== cp.hash) {
        // Same id, so same entry 1: the same log, and one of the two copies was rewritten after entry 1.
        throw lakeMismatch(`${this.lake.location}: the lake's copy of audit log ${this.logId} (entries up to ${cp.lastSeq}) does not match this log (it has ${this.audit.headSeq()} entries${this.entry(cp.lastSeq) ? ', with another hash at that entry' : ''}): one of them was rewritten`);
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
    const key = commitKey(this.logId, after + 1);
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
    if (((await readAuditCheckpoint(this.lake, this.logId))?.lastSeq ?? 0) >= d.firstSeq) return 'stale';
    if (d.firstSeq !== after + 1 || !(d.lastSeq >= d.firstSeq)) throw lakeMismatch(`${this.lake.location}: ${key} does not describe a batch starting at entry ${after + 1}`);
    if (this.entry(d.lastSeq)?.hash !== d.lastHash) {
      throw lakeMismatch(`${this.lake.location}: entries ${d.firstSeq}-${d.lastSeq} of audit log ${this.logId} were decided (${d.writer}) with another hash at entry ${d.lastSeq} than this log has: one of them was rewritten`);
    }
    return d;
  }

  /** Writes the batch's files (put-if-absent: a re-run skips those already there), then its checkpoint. */
  private async complete(d: Decision, prevHash: string): Promise<{ files: number; entries: number }> {
    const records = this.audit.scan({ afterSeq: d.firstSeq - 1, toSeq: d.lastSeq, limit: d.lastSeq - d.firstSeq + 1 });
    if (records.length !== d.lastSeq - d.firstSeq + 1) throw lakeMismatch(`audit log ${this.logId}: entries ${d.firstSeq}-${d.lastSeq} are not all in this log`);
    checkSegment(records, prevHash);
    const groups = new Map<string, AuditRow[]>();
    for (const r of records) {
      const date = /^\d{4}-\d{2}-\d{2}/.test(r.at) ? r.at.slice(0, 10) : 'unknown';
      const key = auditDataKey(this.logId, r.tenant, date, d.firstSeq, d.lastSeq);
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
      await this.duck.writeParquet([groups.get(key)!], file, path.join(this.dir, `${name}.ndjson`), this.level, { logId: this.logId });
      try {
        if (await this.lake.putFile(key, file, { ifAbsent: true })) files++;
      } finally {
        await fsp.rm(file, { force: true });
      }
    }
    const cp: AuditCheckpoint = { lastSeq: d.lastSeq, hash: records.at(-1)!.hash, firstSeq: d.firstSeq, files: keys, writer: this.id, at: new Date().toISOString() };
    const mine = await this.lake.put(checkpointKey(this.logId, d.lastSeq), JSON.stringify(cp), { ifAbsent: true });
    this.logger.info({ log: this.logId, first: d.firstSeq, last: d.lastSeq, files, completedHere: mine }, 'audit: entries copied to the lake');
    return { files, entries: mine ? records.length : 0 };
  }

  close(): void {
    this.duck?.close();
  }

  /** This log's decisions of completed batches, and its checkpoints but the newest ones. Safe: see `decide`. */
  private async prune(upTo: number): Promise<void> {
    const commits = (await listSeqs(this.lake, commitPrefix(this.logId))).filter((s) => s <= upTo).map((s) => commitKey(this.logId, s));
    const cps = await listSeqs(this.lake, checkpointPrefix(this.logId));
    const old = cps.slice(0, Math.max(0, cps.length - KEEP_CHECKPOINTS)).map((s) => checkpointKey(this.logId, s));
    if (commits.length + old.length > 0) await this.lake.deleteMany([...commits, ...old]);
  }
}

/**
 * Copies the entries of `audit` not yet in the lake to it, in batches, exactly once (see the top of this file). Safe
 * to run from several processes at once on the same log and lake, and after a crash at any point; other hosts' logs
 * in the lake are independent of this one. An empty log has no id yet: nothing to copy.
 */
export async function archiveAuditLog(audit: AuditLog, lake: ObjectStore, opts: AuditArchiveOptions = {}): Promise<AuditArchiveResult> {
  const logId = audit.logId;
  if (logId === undefined) return { logId, files: 0, entries: 0 };
  await fsp.mkdir(opts.scratchDir ?? tmpdir(), { recursive: true });
  const dir = await fsp.mkdtemp(path.join(opts.scratchDir ?? tmpdir(), 'dw-audit-'));
  const archiver = new Archiver(audit, logId, lake, dir, opts);
  try {
    return await archiver.run();
  } finally {
    archiver.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
