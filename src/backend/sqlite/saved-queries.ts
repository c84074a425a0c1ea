import path from 'node:path';
import { checkSavedQueryInput, SavedQueryNotFoundError, type SavedQuery, type SavedQueryInput, type SavedQueryStore } from '../../analysis/saved-queries.ts';
import { DwError } from '../../errors/index.ts';
import { checkTenant } from '../../lake/layout.ts';
import { openWalDatabase } from './open-db.ts';

interface Row {
  tenant: string;
  name: string;
  sql: string;
  description: string;
  created_at: string;
  updated_at: string;
}

const fromRow = (r: Row): SavedQuery => ({ tenant: r.tenant, name: r.name, sql: r.sql, description: r.description, createdAt: r.created_at, updatedAt: r.updated_at });

/**
 * Saved queries in `<dataDir>/analysis.db`. A database from before tenants (no tenant column) is migrated: its
 * queries go to `legacyTenant` (default `default`, the single tenant of those deployments).
 */
/** The SQLite store answers every call at once. */
export interface LocalSavedQueryStore extends SavedQueryStore {
  save(tenant: string, input: SavedQueryInput, opts?: { replace?: boolean }): SavedQuery;
  delete(tenant: string, name: string): void;
  close(): void;
}

export function openSavedQueryStore(dataDir: string, opts: { legacyTenant?: string } = {}): LocalSavedQueryStore {
  const db = openWalDatabase(path.join(dataDir, 'analysis.db'));
  // IMMEDIATE: it reads the table's columns, then may create or migrate it. A deferred transaction that reads first
  // cannot wait for the write lock (SQLite refuses to upgrade a read while another connection writes: "database is
  // locked" at once), and two CLI runs opening a fresh data directory together met exactly that (stats-cli test).
  db.transaction(() => {
    const cols = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('saved_queries')").all().map((c) => c.name);
    if (cols.length > 0 && !cols.includes('tenant')) db.exec('ALTER TABLE saved_queries RENAME TO saved_queries_v1');
    db.exec(`CREATE TABLE IF NOT EXISTS saved_queries (
      tenant TEXT NOT NULL,
      name TEXT NOT NULL,
      sql TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (tenant, name)
    ) STRICT`);
    if (cols.length > 0 && !cols.includes('tenant')) {
      db.prepare('INSERT INTO saved_queries SELECT ?, name, sql, description, created_at, updated_at FROM saved_queries_v1').run(checkTenant(opts.legacyTenant ?? 'default'));
      db.exec('DROP TABLE saved_queries_v1');
    }
  }).immediate();
  const selectAll = db.prepare<[string], Row>('SELECT * FROM saved_queries WHERE tenant = ? ORDER BY name');
  const selectOne = db.prepare<[string, string], Row>('SELECT * FROM saved_queries WHERE tenant = ? AND name = ?');
  const insert = db.prepare('INSERT INTO saved_queries (tenant, name, sql, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
  const update = db.prepare('UPDATE saved_queries SET sql = ?, description = ?, updated_at = ? WHERE tenant = ? AND name = ?');
  const remove = db.prepare('DELETE FROM saved_queries WHERE tenant = ? AND name = ?');

  const get = (tenant: string, name: string): SavedQuery => {
    const r = selectOne.get(checkTenant(tenant), name);
    if (!r) throw new SavedQueryNotFoundError(name);
    return fromRow(r);
  };

  return {
    list: (tenant) => selectAll.all(checkTenant(tenant)).map(fromRow),
    get,
    save(tenant, input, opts = {}) {
      checkTenant(tenant);
      checkSavedQueryInput(input);
      const now = new Date().toISOString();
      const description = input.description ?? '';
      db.transaction(() => {
        if (selectOne.get(tenant, input.name)) {
          if (!opts.replace) throw new DwError('DW_SAVED_QUERY_EXISTS', `a saved query named "${input.name}" exists already (replace it with PUT /v1/queries/${input.name} or --replace)`, { status: 409 });
          update.run(input.sql, description, now, tenant, input.name);
        } else {
          insert.run(tenant, input.name, input.sql, description, now, now);
        }
      }).immediate(); // reads, then writes: see the open above
      return get(tenant, input.name);
    },
    delete(tenant, name) {
      if (remove.run(checkTenant(tenant), name).changes === 0) throw new SavedQueryNotFoundError(name);
    },
    close: () => { db.close(); },
  };
}
