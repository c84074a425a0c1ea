import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DwError, type FieldError } from '../errors/index.ts';
import { checkTenant } from '../lake/index.ts';

export interface SavedQuery {
  /** The tenant (police force) it belongs to: only that tenant lists, reads, runs, changes or deletes it. */
  tenant: string;
  name: string;
  sql: string;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export interface SavedQueryInput {
  name: string;
  sql: string;
  description?: string | undefined;
}

/**
 * Saved queries: named SQL officers keep and re-run, per tenant (a name is unique within its tenant; another tenant's
 * query of the same name is simply not there). One interface so a shared store can replace SQLite later.
 */
export interface SavedQueryStore {
  list(tenant: string): SavedQuery[];
  /** DW_SAVED_QUERY_NOT_FOUND when the tenant has none of that name. */
  get(tenant: string, name: string): SavedQuery;
  /** Creates a query; DW_SAVED_QUERY_EXISTS when the name is taken in the tenant, unless `replace`. */
  save(tenant: string, input: SavedQueryInput, opts?: { replace?: boolean }): SavedQuery;
  /** DW_SAVED_QUERY_NOT_FOUND when there is none. */
  delete(tenant: string, name: string): void;
  close(): void;
}

export const SAVED_QUERY_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MAX_SQL_BYTES = 64 * 1024;

export class SavedQueryNotFoundError extends DwError {
  constructor(name: string) {
    super('DW_SAVED_QUERY_NOT_FOUND', `no saved query named "${name}"`, { status: 404 });
  }
}

/** Checks a saved query's fields (the SQL itself is checked against the lake by the caller). */
export function checkSavedQueryInput(input: SavedQueryInput): void {
  const errors: FieldError[] = [];
  if (typeof input.name !== 'string' || !SAVED_QUERY_NAME.test(input.name)) errors.push({ field: 'name', reason: 'must be 1-64 characters: lower-case letters, digits, - and _, starting with a letter or digit' });
  if (typeof input.sql !== 'string' || input.sql.trim() === '') errors.push({ field: 'sql', reason: 'must be a non-empty SQL query' });
  else if (Buffer.byteLength(input.sql) > MAX_SQL_BYTES) errors.push({ field: 'sql', reason: `must be at most ${MAX_SQL_BYTES} bytes` });
  if (input.description !== undefined && (typeof input.description !== 'string' || input.description.length > 1000)) errors.push({ field: 'description', reason: 'must be a string of at most 1000 characters' });
  if (errors.length > 0) throw new DwError('DW_REQUEST_INVALID', errors.map((e) => `${e.field}: ${e.reason}`).join('; '), { status: 400, details: errors });
}

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
export function openSavedQueryStore(dataDir: string, opts: { legacyTenant?: string } = {}): SavedQueryStore {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, 'analysis.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
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
  })();
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
      })();
      return get(tenant, input.name);
    },
    delete(tenant, name) {
      if (remove.run(checkTenant(tenant), name).changes === 0) throw new SavedQueryNotFoundError(name);
    },
    close: () => db.close(),
  };
}
