import type Database from 'better-sqlite3';
import { checkTenant } from '../../lake/layout.ts';
import { RulesConflictError, SilenceNotFoundError, type RuleStore, type RuleStoreChange } from '../../rules/store.ts';
import type { RuleSet, Silence } from '../../rules/types.ts';
import { VersionedStore } from '../versioned.ts';
import { openSharedDatabase } from './open-db.ts';
import { SqliteVersionedDocs } from './versioned-docs.ts';

interface SilenceRow { tenant: string; id: string; body: string }

/**
 * Rule set versions (table rule_versions: versions, current and commit are SqliteVersionedDocs') and silences in
 * `<dir>/rules.db` (the embedded backend: processes sharing a data directory).
 */
export class SqliteRuleStore extends VersionedStore<RuleSet, SqliteVersionedDocs<RuleSet>> implements RuleStore {
  constructor(dir: string) {
    super(new SqliteVersionedDocs<RuleSet>(openSharedDatabase(dir, 'rules.db'), 'rule_versions', { pick: (s) => ({ rules: s.rules, zones: s.zones }), conflict: RulesConflictError }));
    this.db.exec('CREATE TABLE IF NOT EXISTS silences (tenant TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, id)) STRICT;');
  }

  private get db(): Database.Database {
    return this.docs.db;
  }

  async silences(tenant: string): Promise<Silence[]> {
    return this.db.prepare<[string], SilenceRow>('SELECT * FROM silences WHERE tenant = ? ORDER BY id').all(checkTenant(tenant)).map((r) => JSON.parse(r.body) as Silence);
  }

  async addSilence(s: Silence): Promise<Silence> {
    this.db.prepare('INSERT INTO silences (tenant, id, body) VALUES (?, ?, ?)').run(checkTenant(s.tenant), s.id, JSON.stringify(s));
    this.docs.poke();
    return s;
  }

  async removeSilence(tenant: string, id: string): Promise<Silence> {
    const r = this.db.prepare<[string, string], SilenceRow>('DELETE FROM silences WHERE tenant = ? AND id = ? RETURNING *').get(checkTenant(tenant), id);
    if (!r) throw new SilenceNotFoundError(id);
    this.docs.poke();
    return JSON.parse(r.body) as Silence;
  }

  /**
   * The versions' follower (data_version polled, see SqliteVersionedDocs.follow) also re-reads the silences (a few
   * rows) on each change and reports what differs.
   */
  follow(onChange: (c: RuleStoreChange) => void): Promise<{ stop(): void }> {
    let silences = new Map<string, Silence>();
    const scanSilences = (): void => {
      const now = new Map(this.db.prepare<[], SilenceRow>('SELECT * FROM silences').all().map((r) => [`${r.tenant}/${r.id}`, JSON.parse(r.body) as Silence]));
      for (const [k, s] of now) if (!silences.has(k)) onChange({ kind: 'silence', silence: s });
      for (const [k, s] of silences) if (!now.has(k)) onChange({ kind: 'silence-removed', tenant: s.tenant, id: s.id });
      silences = now;
    };
    return Promise.resolve(this.docs.follow((version) => onChange({ kind: 'version', version }), scanSilences));
  }

  close(): Promise<void> {
    this.docs.stop();
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
