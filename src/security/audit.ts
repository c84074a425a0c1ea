import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { openWalDatabase } from '../backend/sqlite/open-db.ts';

/**
 * The audit log the Law Enforcement Directive (2016/680, art. 25) asks for: every consultation and disclosure of
 * personal data and every change, with who, when, what and from where. Append-only and tamper-evident: each entry
 * carries the SHA-256 of the previous entry's hash and its own content, so changing, removing or reordering any entry
 * breaks every hash after it (`verify()`). The chain's head can be written down elsewhere (a printout, another
 * system) to detect a rewrite of the whole tail.
 */
export type AuditAction =
  | 'login.success' | 'login.failure' | 'logout'
  | 'alert.list' | 'alert.read' | 'alert.acknowledge' | 'alert.assign' | 'alert.resolve' | 'feed.subscribe'
  | 'incident.list' | 'incident.read' | 'incident.acknowledge' | 'incident.assign' | 'incident.resolve'
  | 'fleet.read' | 'stats.list' | 'stat.run' | 'query.run' | 'export' | 'saved-query.save' | 'saved-query.delete' | 'saved-query.run'
  | 'dead-letters.read' | 'reaction-time.read'
  | 'user.create' | 'user.disable' | 'user.enable' | 'user.password' | 'token.create' | 'token.revoke'
  | 'drone.register' | 'drone.revoke' | 'tenant.create' | 'audit.read' | 'audit.export' | 'access.denied'
  | 'security.migrate'
  | 'rules.read' | 'rules.change' | 'rules.dry-run' | 'silence.read' | 'silence.add' | 'silence.remove'
  | 'notify.read' | 'notify.change' | 'notify.deliveries';

export interface AuditInput {
  actor: string;
  tenant: string;
  action: AuditAction;
  /** What was accessed or changed: an alert id, a statistic name, a user name... */
  target?: string | null | undefined;
  /** The SQL text, parameters, row counts: whatever says exactly what was disclosed. */
  details?: Record<string, unknown> | undefined;
  /** Client address. */
  ip?: string | null | undefined;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  tenant: string;
  action: AuditAction;
  target: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  prevHash: string;
  hash: string;
}

export interface AuditQuery {
  tenant?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  since?: string | undefined;
  limit?: number | undefined;
}

/** An entry with `details` exactly as stored and hashed (re-serializing the parsed object need not give the same text). */
export type AuditRecord = AuditEntry & { detailsJson: string };

/** The hashed fields of an entry, whatever holds them (the SQLite log, a Parquet copy in the lake). */
export interface AuditHashInput {
  seq: number;
  at: string;
  actor: string;
  tenant: string;
  action: string;
  target: string | null;
  ip: string | null;
}

/** The `prevHash` of entry 1. */
export const AUDIT_GENESIS = '0'.repeat(64);
const GENESIS = AUDIT_GENESIS;

/** An entry as stored, in the log's table and in its Parquet copies: snake_case, `details` as the hashed JSON text. */
export interface AuditRow extends AuditHashInput {
  details: string;
  prev_hash: string;
  hash: string;
}

/** The chain's hash of one entry. Exported so that copies of the log (the lake's) are verified by this very function. */
export function auditEntryHash(prevHash: string, e: AuditHashInput, detailsJson: string): string {
  const content = JSON.stringify([e.seq, e.at, e.actor, e.tenant, e.action, e.target, detailsJson, e.ip]);
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}
const entryHash = auditEntryHash;

/** A log's id (see `AuditLog.logId`) from the hash of its entry 1. */
export function auditLogIdOf(firstEntryHash: string): string {
  return firstEntryHash.slice(0, 16);
}

const toEntry = (r: AuditRow): AuditEntry => ({
  seq: r.seq, at: r.at, actor: r.actor, tenant: r.tenant, action: r.action as AuditAction, target: r.target,
  details: JSON.parse(r.details) as Record<string, unknown>, ip: r.ip, prevHash: r.prev_hash, hash: r.hash,
});

export class AuditLog {
  private head: { seq: number; hash: string };
  private id: string | undefined;
  private readonly insert: Database.Statement;

  private constructor(private readonly db: Database.Database) {
    const last = db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get();
    this.head = last ?? { seq: 0, hash: GENESIS };
    this.insert = db.prepare('INSERT INTO audit (seq, at, actor, tenant, action, target, details, ip, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  }

  static open(dataDir: string): AuditLog {
    const db = openWalDatabase(path.join(dataDir, 'audit.db'));
    // FULL: an acknowledged audit entry survives a power loss; appends are a few per request, not per report.
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, tenant TEXT NOT NULL, action TEXT NOT NULL,
      target TEXT, details TEXT NOT NULL, ip TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    ) STRICT`);
    return new AuditLog(db);
  }

  /** Appends one entry (synchronously: the access is recorded before it is answered). */
  append(input: AuditInput): AuditEntry {
    const write = this.db.transaction((): AuditEntry => {
      // Another process may have appended since: continue from the stored head, inside the write transaction.
      const last = this.db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get();
      const prev = last ?? { seq: 0, hash: GENESIS };
      const base = {
        seq: prev.seq + 1, at: new Date().toISOString(), actor: input.actor, tenant: input.tenant, action: input.action,
        target: input.target ?? null, details: input.details ?? {}, ip: input.ip ?? null,
      };
      const detailsJson = JSON.stringify(base.details);
      const hash = entryHash(prev.hash, base, detailsJson);
      this.insert.run(base.seq, base.at, base.actor, base.tenant, base.action, base.target, detailsJson, base.ip, prev.hash, hash);
      return { ...base, prevHash: prev.hash, hash };
    });
    const e = write.immediate();
    this.head = { seq: e.seq, hash: e.hash };
    return e;
  }

  list(q: AuditQuery = {}): AuditEntry[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.tenant !== undefined) { where.push('tenant = ?'); args.push(q.tenant); }
    if (q.actor !== undefined) { where.push('actor = ?'); args.push(q.actor); }
    if (q.action !== undefined) { where.push('action = ?'); args.push(q.action); }
    if (q.since !== undefined) { where.push('at >= ?'); args.push(q.since); }
    args.push(Math.min(q.limit ?? 1000, 100_000));
    const sql = `SELECT * FROM audit ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return this.db.prepare<(string | number)[], AuditRow>(sql).all(...args).map(toEntry);
  }

  /**
   * Entries in chain order (ascending seq) after `afterSeq`, at most `limit`: exports and the lake copy page through
   * the log with this, so memory stays bounded whatever its size.
   */
  scan(q: { afterSeq?: number; toSeq?: number; tenant?: string | undefined; since?: string | undefined; limit: number }): AuditRecord[] {
    const where = ['seq > ?'];
    const args: (string | number)[] = [q.afterSeq ?? 0];
    if (q.toSeq !== undefined) { where.push('seq <= ?'); args.push(q.toSeq); }
    if (q.tenant !== undefined) { where.push('tenant = ?'); args.push(q.tenant); }
    if (q.since !== undefined) { where.push('at >= ?'); args.push(q.since); }
    args.push(q.limit);
    return this.db.prepare<(string | number)[], AuditRow>(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...args)
      .map((r) => ({ ...toEntry(r), detailsJson: r.details }));
  }

  /** Seq of the newest entry (0 when empty), read from the database: other processes append too. */
  headSeq(): number {
    return this.db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM audit').get()?.seq ?? 0;
  }

  /** Re-computes the whole chain. `firstBad` is the first entry whose hash or link does not match. */
  verify(): { ok: boolean; entries: number; head: string; firstBad?: number } {
    let prev = GENESIS;
    let n = 0;
    for (const r of this.db.prepare<[], AuditRow>('SELECT * FROM audit ORDER BY seq').iterate()) {
      const e = toEntry(r);
      n++;
      if (e.seq !== n || e.prevHash !== prev || entryHash(prev, e, r.details) !== e.hash) return { ok: false, entries: n, head: prev, firstBad: e.seq };
      prev = e.hash;
    }
    return { ok: true, entries: n, head: prev };
  }

  /**
   * The log's identity: the first 16 hex characters of entry 1's hash (which covers entry 1's time and content, so
   * two logs never share it). It names this log's copy in a lake that holds the logs of several hosts. Undefined
   * while the log is empty. Kept once read: entry 1 never changes in a sound log, and a log whose entry 1 was
   * rewritten meanwhile must not quietly become another log in this process.
   */
  get logId(): string | undefined {
    if (this.id === undefined) {
      const first = this.db.prepare<[], { hash: string }>('SELECT hash FROM audit WHERE seq = 1').get();
      if (first) this.id = auditLogIdOf(first.hash);
    }
    return this.id;
  }

  get lastHash(): string {
    return this.head.hash;
  }

  close(): void {
    this.db.close();
  }
}
