import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { checkTenant } from '../lake/layout.ts';
import { NotifyConflictError } from './errors.ts';
import { DEFAULT_DELIVERY_LIMIT, deliverySubject, MAX_DELIVERY_LIMIT, querySubject, subjectKey, type NotifyStore, type StoredPage } from './store.ts';
import type { Delivery, DeliveryQuery, NotificationPolicy, Page, PolicyVersion, Subject } from './types.ts';

/** How often a follower looks for versions written by other processes (PRAGMA data_version: a read of a counter). */
const POLL_MS = 250;

interface VersionRow { tenant: string; version: number; body: string; author: string; at: string; reason: string }
interface PageRow { body: string; revision: number }

const fromRow = (r: VersionRow): PolicyVersion => ({ ...(JSON.parse(r.body) as NotificationPolicy), tenant: r.tenant, version: r.version, author: r.author, at: r.at, reason: r.reason });
const pageOf = (r: PageRow): StoredPage => ({ page: JSON.parse(r.body) as Page, revision: r.revision });

/**
 * Policies, pages and the delivery log in `<dir>/notify.db` (the embedded backend: processes sharing a data
 * directory). A page's `revision` column is its compare-and-set: an update names the revision it read.
 */
export class SqliteNotifyStore implements NotifyStore {
  private readonly db: Database.Database;
  private readonly followers = new Map<() => void, NodeJS.Timeout>();

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new Database(path.join(dir, 'notify.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS policy_versions (
      tenant TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, author TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL,
      PRIMARY KEY (tenant, version)) STRICT;
    CREATE TABLE IF NOT EXISTS pages (tenant TEXT NOT NULL, subject TEXT NOT NULL, route_id TEXT NOT NULL, body TEXT NOT NULL,
      next_at INTEGER, done INTEGER NOT NULL, raised_at INTEGER NOT NULL, revision INTEGER NOT NULL,
      PRIMARY KEY (tenant, subject, route_id)) STRICT;
    CREATE INDEX IF NOT EXISTS pages_due ON pages (next_at) WHERE done = 0 AND next_at IS NOT NULL;
    CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, at_ms INTEGER NOT NULL,
      subject TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL) STRICT;
    CREATE INDEX IF NOT EXISTS deliveries_tenant ON deliveries (tenant, seq);
    CREATE INDEX IF NOT EXISTS deliveries_subject ON deliveries (tenant, subject);`);
  }

  async versions(tenant: string): Promise<PolicyVersion[]> {
    return this.db.prepare<[string], VersionRow>('SELECT * FROM policy_versions WHERE tenant = ? ORDER BY version').all(checkTenant(tenant)).map(fromRow);
  }

  async current(tenant: string): Promise<PolicyVersion | undefined> {
    const r = this.db.prepare<[string], VersionRow>('SELECT * FROM policy_versions WHERE tenant = ? ORDER BY version DESC LIMIT 1').get(checkTenant(tenant));
    return r ? fromRow(r) : undefined;
  }

  async commit(tenant: string, expected: number, policy: NotificationPolicy, meta: { author: string; reason: string }): Promise<PolicyVersion> {
    checkTenant(tenant);
    const v: PolicyVersion = { tenant, version: expected + 1, targets: policy.targets, routes: policy.routes, author: meta.author, at: new Date().toISOString(), reason: meta.reason };
    // IMMEDIATE: the read of the newest version and the insert are one write transaction, across processes.
    this.db.transaction(() => {
      const cur = this.db.prepare<[string], { v: number | null }>('SELECT max(version) AS v FROM policy_versions WHERE tenant = ?').get(tenant)?.v ?? 0;
      if (cur !== expected) throw new NotifyConflictError(tenant, expected, cur);
      this.db.prepare('INSERT INTO policy_versions (tenant, version, body, author, at, reason) VALUES (?, ?, ?, ?, ?, ?)')
        .run(tenant, v.version, JSON.stringify({ targets: policy.targets, routes: policy.routes }), v.author, v.at, v.reason);
    }).immediate();
    for (const f of this.followers.keys()) f();
    return v;
  }

  follow(onVersion: (v: PolicyVersion) => void): Promise<{ stop(): void }> {
    const seen = new Map<string, number>();
    let dataVersion = -1;
    let dirty = true;
    const scan = (): void => {
      if (!this.db.open) return;
      const dv = this.db.pragma('data_version', { simple: true }) as number;
      if (dv === dataVersion && !dirty) return;
      dataVersion = dv;
      dirty = false;
      const newest = this.db.prepare<[], VersionRow>(`SELECT p.* FROM policy_versions p
        JOIN (SELECT tenant, max(version) AS version FROM policy_versions GROUP BY tenant) m USING (tenant, version)`).all();
      for (const r of newest) {
        if ((seen.get(r.tenant) ?? 0) >= r.version) continue;
        seen.set(r.tenant, r.version);
        onVersion(fromRow(r));
      }
    };
    const poke = (): void => { dirty = true; scan(); };
    scan();
    const timer = setInterval(scan, POLL_MS);
    timer.unref();
    this.followers.set(poke, timer);
    return Promise.resolve({ stop: () => { clearInterval(timer); this.followers.delete(poke); } });
  }

  async createPage(p: Page): Promise<boolean> {
    const r = this.db.prepare(`INSERT INTO pages (tenant, subject, route_id, body, next_at, done, raised_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, 1)
      ON CONFLICT DO NOTHING`).run(checkTenant(p.tenant), subjectKey(p.subject, p.subjectId), p.routeId, JSON.stringify(p), p.nextAt, p.done ? 1 : 0, p.raisedAt);
    return r.changes === 1;
  }

  async pages(tenant: string, subject: Subject, id: string): Promise<StoredPage[]> {
    return this.db.prepare<[string, string], PageRow>('SELECT body, revision FROM pages WHERE tenant = ? AND subject = ? ORDER BY route_id').all(checkTenant(tenant), subjectKey(subject, id)).map(pageOf);
  }

  async duePages(now: number, limit: number): Promise<StoredPage[]> {
    return this.db.prepare<[number, number], PageRow>('SELECT body, revision FROM pages WHERE done = 0 AND next_at IS NOT NULL AND next_at <= ? ORDER BY next_at LIMIT ?').all(now, limit).map(pageOf);
  }

  async updatePage(p: Page, revision: number): Promise<boolean> {
    const r = this.db.prepare('UPDATE pages SET body = ?, next_at = ?, done = ?, revision = revision + 1 WHERE tenant = ? AND subject = ? AND route_id = ? AND revision = ?')
      .run(JSON.stringify(p), p.nextAt, p.done ? 1 : 0, p.tenant, subjectKey(p.subject, p.subjectId), p.routeId, revision);
    return r.changes === 1;
  }

  async appendDelivery(d: Delivery): Promise<void> {
    this.db.prepare('INSERT INTO deliveries (tenant, at_ms, subject, status, body) VALUES (?, ?, ?, ?, ?)').run(checkTenant(d.tenant), Date.parse(d.at), deliverySubject(d), d.status, JSON.stringify(d));
  }

  async deliveries(q: DeliveryQuery): Promise<Delivery[]> {
    const where = ['tenant = ?'];
    const args: (string | number)[] = [checkTenant(q.tenant)];
    const subject = querySubject(q);
    if (subject !== undefined) { where.push('subject = ?'); args.push(subject); }
    if (q.status !== undefined) { where.push('status = ?'); args.push(q.status); }
    if (q.since !== undefined) { where.push('at_ms >= ?'); args.push(q.since); }
    args.push(Math.min(MAX_DELIVERY_LIMIT, q.limit ?? DEFAULT_DELIVERY_LIMIT));
    return this.db.prepare<(string | number)[], { body: string }>(`SELECT body FROM deliveries WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`).all(...args)
      .map((r) => JSON.parse(r.body) as Delivery);
  }

  async prune(o: { before: number; maxPerTenant: number }): Promise<number> {
    return this.db.transaction(() => {
      let n = this.db.prepare('DELETE FROM deliveries WHERE at_ms < ?').run(o.before).changes;
      n += this.db.prepare(`DELETE FROM deliveries WHERE seq IN (SELECT seq FROM (
        SELECT seq, row_number() OVER (PARTITION BY tenant ORDER BY seq DESC) AS rn FROM deliveries) WHERE rn > ?)`).run(o.maxPerTenant).changes;
      n += this.db.prepare('DELETE FROM pages WHERE raised_at < ?').run(o.before).changes;
      return n;
    }).immediate();
  }

  close(): Promise<void> {
    for (const t of this.followers.values()) clearInterval(t);
    this.followers.clear();
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
