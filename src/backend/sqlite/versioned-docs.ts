import type Database from 'better-sqlite3';
import { checkTenant } from '../../lake/layout.ts';
import { nextVersion, type Versioned, type VersionedDocs, type VersionedDocsOptions } from '../versioned.ts';

/** How often a follower looks for changes made by other processes (PRAGMA data_version: a read of a counter). */
const POLL_MS = 250;

interface VersionRow { tenant: string; version: number; body: string; author: string; at: string; reason: string }

/**
 * The versions of a per-tenant document in one table of a store's database (`rule_versions` of rules.db,
 * `policy_versions` of notify.db). `(tenant, version)` is the primary key and a commit reads the newest version and
 * inserts the next in one IMMEDIATE transaction, so of two processes writing one version the second is told so.
 * The body column holds only the document; tenant, version and the change's meta have their own columns.
 */
export class SqliteVersionedDocs<T extends object> implements VersionedDocs<T> {
  private readonly followers = new Map<() => void, NodeJS.Timeout>();

  /** `db`: the store's database, which the store opens and closes; its other tables are the store's too. */
  constructor(readonly db: Database.Database, private readonly table: string, private readonly o: VersionedDocsOptions<T>) {
    // The name goes into SQL text: only the stores' own constant names, never input.
    if (!/^[a-z_]+$/.test(table)) throw new Error(`versioned documents: bad table name ${JSON.stringify(table)}`);
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      tenant TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, author TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL,
      PRIMARY KEY (tenant, version)) STRICT;`);
  }

  private fromRow(r: VersionRow): Versioned<T> {
    return { ...(JSON.parse(r.body) as T), tenant: r.tenant, version: r.version, author: r.author, at: r.at, reason: r.reason };
  }

  /** Every version of the tenant, oldest first. */
  versions(tenant: string): Versioned<T>[] {
    return this.db.prepare<[string], VersionRow>(`SELECT * FROM ${this.table} WHERE tenant = ? ORDER BY version`).all(checkTenant(tenant)).map((r) => this.fromRow(r));
  }

  current(tenant: string): Versioned<T> | undefined {
    const r = this.db.prepare<[string], VersionRow>(`SELECT * FROM ${this.table} WHERE tenant = ? ORDER BY version DESC LIMIT 1`).get(checkTenant(tenant));
    return r ? this.fromRow(r) : undefined;
  }

  /** Writes version `expected + 1`; the conflict error when the newest is not `expected`. */
  commit(tenant: string, expected: number, doc: T, meta: { author: string; reason: string }): Versioned<T> {
    checkTenant(tenant);
    const body = this.o.pick(doc);
    const v = nextVersion(tenant, expected, body, meta);
    // IMMEDIATE: the read of the newest version and the insert are one write transaction, across processes.
    this.db.transaction(() => {
      const cur = this.db.prepare<[string], { v: number | null }>(`SELECT max(version) AS v FROM ${this.table} WHERE tenant = ?`).get(tenant)?.v ?? 0;
      if (cur !== expected) throw new this.o.conflict(tenant, expected, cur);
      this.db.prepare(`INSERT INTO ${this.table} (tenant, version, body, author, at, reason) VALUES (?, ?, ?, ?, ?, ?)`)
        .run(tenant, v.version, JSON.stringify(body), v.author, v.at, v.reason);
    }).immediate();
    this.poke();
    return v;
  }

  /** The newest version of each tenant newer than `seen` has (which it then records). */
  newestSince(seen: Map<string, number>): Versioned<T>[] {
    const newest = this.db.prepare<[], VersionRow>(`SELECT d.* FROM ${this.table} d
      JOIN (SELECT tenant, max(version) AS version FROM ${this.table} GROUP BY tenant) m USING (tenant, version)`).all();
    const out: Versioned<T>[] = [];
    for (const r of newest) {
      if ((seen.get(r.tenant) ?? 0) >= r.version) continue;
      seen.set(r.tenant, r.version);
      out.push(this.fromRow(r));
    }
    return out;
  }

  /**
   * Calls `onVersion` with every tenant's newest version now, then with each newer one, and `alsoScan` after each
   * look (the store's other tables of the same database: one poll serves them). Another process's commit shows in
   * PRAGMA data_version, polled every POLL_MS; this connection's own writes call poke(), since they do not change it.
   */
  follow(onVersion: (v: Versioned<T>) => void, alsoScan?: () => void): { stop(): void } {
    const seen = new Map<string, number>();
    let dataVersion = -1;
    let dirty = true;
    const scan = (): void => {
      if (!this.db.open) return;
      const dv = this.db.pragma('data_version', { simple: true }) as number;
      if (dv === dataVersion && !dirty) return;
      dataVersion = dv;
      dirty = false;
      for (const v of this.newestSince(seen)) onVersion(v);
      alsoScan?.();
    };
    const poke = (): void => { dirty = true; scan(); };
    scan();
    const timer = setInterval(scan, POLL_MS);
    timer.unref();
    this.followers.set(poke, timer);
    return { stop: () => { clearInterval(timer); this.followers.delete(poke); } };
  }

  /** Tells this connection's followers of a write it made (to any table of the database). */
  poke(): void {
    for (const f of this.followers.keys()) f();
  }

  /** Stops every follower; the database is the store's to close. */
  stop(): void {
    for (const t of this.followers.values()) clearInterval(t);
    this.followers.clear();
  }
}
