import type Database from 'better-sqlite3';
import { openSharedDatabase } from '../backend/sqlite/open-db.ts';
import { SqliteVersionedDocs } from '../backend/sqlite/versioned-docs.ts';
import { VersionedStore } from '../backend/versioned.ts';
import { checkTenant } from '../lake/layout.ts';
import { NotifyConflictError } from './errors.ts';
import { DEFAULT_DELIVERY_LIMIT, deliverySubject, MAX_DELIVERY_LIMIT, querySubject, subjectKey, type NotifyStore, type StoredPage } from './store.ts';
import type { Delivery, DeliveryQuery, NotificationPolicy, Page, PolicyVersion, Subject } from './types.ts';

interface PageRow { body: string; revision: number }

const pageOf = (r: PageRow): StoredPage => ({ page: JSON.parse(r.body) as Page, revision: r.revision });

/**
 * Policies (table policy_versions: versions, current, commit and follow are SqliteVersionedDocs'), pages and the
 * delivery log in `<dir>/notify.db` (the embedded backend: processes sharing a data directory). A page's `revision`
 * column is its compare-and-set: an update names the revision it read.
 */
export class SqliteNotifyStore extends VersionedStore<NotificationPolicy, SqliteVersionedDocs<NotificationPolicy>> implements NotifyStore {
  constructor(dir: string) {
    super(new SqliteVersionedDocs<NotificationPolicy>(openSharedDatabase(dir, 'notify.db'), 'policy_versions', { pick: (p) => ({ targets: p.targets, routes: p.routes }), conflict: NotifyConflictError }));
    this.db.exec(`CREATE TABLE IF NOT EXISTS pages (tenant TEXT NOT NULL, subject TEXT NOT NULL, route_id TEXT NOT NULL, body TEXT NOT NULL,
      next_at INTEGER, done INTEGER NOT NULL, raised_at INTEGER NOT NULL, revision INTEGER NOT NULL,
      PRIMARY KEY (tenant, subject, route_id)) STRICT;
    CREATE INDEX IF NOT EXISTS pages_due ON pages (next_at) WHERE done = 0 AND next_at IS NOT NULL;
    CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, at_ms INTEGER NOT NULL,
      subject TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL) STRICT;
    CREATE INDEX IF NOT EXISTS deliveries_tenant ON deliveries (tenant, seq);
    CREATE INDEX IF NOT EXISTS deliveries_subject ON deliveries (tenant, subject);`);
  }

  private get db(): Database.Database {
    return this.docs.db;
  }

  follow(onVersion: (v: PolicyVersion) => void): Promise<{ stop(): void }> {
    return Promise.resolve(this.docs.follow(onVersion));
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
    this.docs.stop();
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
