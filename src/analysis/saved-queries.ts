import { DwError, type FieldError } from '../errors/index.ts';

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
 * query of the same name is simply not there). Reads answer at once (from a local copy where the store is shared);
 * writes may wait for the shared store. SQLite: src/backend/sqlite/saved-queries.ts; shared: src/backend/shared/.
 */
export interface SavedQueryStore {
  list(tenant: string): SavedQuery[];
  /** DW_SAVED_QUERY_NOT_FOUND when the tenant has none of that name. */
  get(tenant: string, name: string): SavedQuery;
  /** Creates a query; DW_SAVED_QUERY_EXISTS when the name is taken in the tenant, unless `replace`. */
  save(tenant: string, input: SavedQueryInput, opts?: { replace?: boolean }): SavedQuery | Promise<SavedQuery>;
  /** DW_SAVED_QUERY_NOT_FOUND when there is none. */
  delete(tenant: string, name: string): void | Promise<void>;
  close(): void | Promise<void>;
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
