import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { checkTenant } from '../../lake/layout.ts';
import { RulesConflictError, SilenceNotFoundError, type RuleStore, type RuleStoreChange } from '../../rules/store.ts';
import type { RuleSet, RuleSetVersion, Silence } from '../../rules/types.ts';

/** How often a follower looks for changes made by other processes (PRAGMA data_version: a read of a counter). */
const POLL_MS = 250;

interface VersionRow { tenant: string; version: number; body: string; author: string; at: string; reason: string }
interface SilenceRow { tenant: string; id: string; body: string }

const fromRow = (r: VersionRow): RuleSetVersion => ({ ...(JSON.parse(r.body) as RuleSet), tenant: r.tenant, version: r.version, author: r.author, at: r.at, reason: r.reason });

/**
 * Rule set versions and silences in `<dir>/rules.db` (the embedded backend: processes sharing a data directory).
 * `(tenant, version)` is the primary key, so of two concurrent writers of one version the second fails and is told so.
 */
export class SqliteRuleStore implements RuleStore {
  private readonly db: Database.Database;
  private readonly followers = new Map<() => void, NodeJS.Timeout>();

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new Database(path.join(dir, 'rules.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS rule_versions (
      tenant TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, author TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL,
      PRIMARY KEY (tenant, version)) STRICT;
    CREATE TABLE IF NOT EXISTS silences (tenant TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, id)) STRICT;`);
  }

  async versions(tenant: string): Promise<RuleSetVersion[]> {
    return this.db.prepare<[string], VersionRow>('SELECT * FROM rule_versions WHERE tenant = ? ORDER BY version').all(checkTenant(tenant)).map(fromRow);
  }

  async current(tenant: string): Promise<RuleSetVersion | undefined> {
    const r = this.db.prepare<[string], VersionRow>('SELECT * FROM rule_versions WHERE tenant = ? ORDER BY version DESC LIMIT 1').get(checkTenant(tenant));
    return r ? fromRow(r) : undefined;
  }

  async commit(tenant: string, expected: number, set: RuleSet, meta: { author: string; reason: string }): Promise<RuleSetVersion> {
    checkTenant(tenant);
    const v: RuleSetVersion = { tenant, version: expected + 1, rules: set.rules, zones: set.zones, author: meta.author, at: new Date().toISOString(), reason: meta.reason };
    // IMMEDIATE: the read of the newest version and the insert are one write transaction, across processes.
    this.db.transaction(() => {
      const cur = this.db.prepare<[string], { v: number | null }>('SELECT max(version) AS v FROM rule_versions WHERE tenant = ?').get(tenant)?.v ?? 0;
      if (cur !== expected) throw new RulesConflictError(tenant, expected, cur);
      this.db.prepare('INSERT INTO rule_versions (tenant, version, body, author, at, reason) VALUES (?, ?, ?, ?, ?, ?)')
        .run(tenant, v.version, JSON.stringify({ rules: set.rules, zones: set.zones }), v.author, v.at, v.reason);
    }).immediate();
    this.poke();
    return v;
  }

  async silences(tenant: string): Promise<Silence[]> {
    return this.db.prepare<[string], SilenceRow>('SELECT * FROM silences WHERE tenant = ? ORDER BY id').all(checkTenant(tenant)).map((r) => JSON.parse(r.body) as Silence);
  }

  async addSilence(s: Silence): Promise<Silence> {
    this.db.prepare('INSERT INTO silences (tenant, id, body) VALUES (?, ?, ?)').run(checkTenant(s.tenant), s.id, JSON.stringify(s));
    this.poke();
    return s;
  }

  async removeSilence(tenant: string, id: string): Promise<Silence> {
    const r = this.db.prepare<[string, string], SilenceRow>('DELETE FROM silences WHERE tenant = ? AND id = ? RETURNING *').get(checkTenant(tenant), id);
    if (!r) throw new SilenceNotFoundError(id);
    this.poke();
    return JSON.parse(r.body) as Silence;
  }

  /**
   * Polls PRAGMA data_version, which changes when another connection commits: then re-reads the newest version of
   * each tenant and the silences (a few rows) and reports what differs. This connection's own writes call poke().
   */
  follow(onChange: (c: RuleStoreChange) => void): Promise<{ stop(): void }> {
    const seen = new Map<string, number>();
    let silences = new Map<string, Silence>();
    let dataVersion = -1;
    const scan = (): void => {
      const dv = this.db.pragma('data_version', { simple: true }) as number;
      if (dv === dataVersion && !dirty) return;
      dataVersion = dv;
      dirty = false;
      const newest = this.db.prepare<[], VersionRow>(`SELECT r.* FROM rule_versions r
        JOIN (SELECT tenant, max(version) AS version FROM rule_versions GROUP BY tenant) m USING (tenant, version)`).all();
      for (const r of newest) {
        if ((seen.get(r.tenant) ?? 0) >= r.version) continue;
        seen.set(r.tenant, r.version);
        onChange({ kind: 'version', version: fromRow(r) });
      }
      const now = new Map(this.db.prepare<[], SilenceRow>('SELECT * FROM silences').all().map((r) => [`${r.tenant}/${r.id}`, JSON.parse(r.body) as Silence]));
      for (const [k, s] of now) if (!silences.has(k)) onChange({ kind: 'silence', silence: s });
      for (const [k, s] of silences) if (!now.has(k)) onChange({ kind: 'silence-removed', tenant: s.tenant, id: s.id });
      silences = now;
    };
    let dirty = true;
    const poke = (): void => { dirty = true; scan(); };
    scan();
    const timer = setInterval(scan, POLL_MS);
    timer.unref();
    this.followers.set(poke, timer);
    return Promise.resolve({ stop: () => { clearInterval(timer); this.followers.delete(poke); } });
  }

  private poke(): void {
    for (const f of this.followers.keys()) f();
  }

  close(): Promise<void> {
    for (const t of this.followers.values()) clearInterval(t);
    this.followers.clear();
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
