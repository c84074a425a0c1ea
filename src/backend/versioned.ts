/**
 * Per-tenant versioned documents (rule sets, notification policies): append-only, version `n + 1` written only by
 * whoever read `n`. What the SQLite table (sqlite/versioned-docs.ts) and the shared bucket (shared/versioned-docs.ts)
 * keep; the domain stores compose one of them for their versioning part.
 */

/** What every version carries besides its document. */
export interface VersionMeta {
  tenant: string;
  /** Counts from 1 per tenant. */
  version: number;
  author: string;
  /** ISO 8601 time of the change. */
  at: string;
  reason: string;
}

export type Versioned<T extends object> = T & VersionMeta;

/** The domain's conflict error class (DW_RULES_CONFLICT, DW_NOTIFY_CONFLICT): `current` is the newest version known. */
export type VersionConflict = new (tenant: string, expected: number, current: number) => Error;

export interface VersionedDocsOptions<T extends object> {
  /** The document's own fields of what a caller passed (a caller may hand a whole version back): what is stored. */
  pick(doc: T): T;
  conflict: VersionConflict;
}

/** Version `expected + 1` of `doc`, stamped now; fields in the order the stores always answered with. */
export const nextVersion = <T extends object>(tenant: string, expected: number, doc: T, meta: { author: string; reason: string }): Versioned<T> =>
  ({ tenant, version: expected + 1, ...doc, author: meta.author, at: new Date().toISOString(), reason: meta.reason });

/** What SqliteVersionedDocs and KvVersionedDocs both answer (the SQLite one synchronously). */
export interface VersionedDocs<T extends object> {
  versions(tenant: string): Versioned<T>[];
  current(tenant: string): Versioned<T> | undefined;
  commit(tenant: string, expected: number, doc: T, meta: { author: string; reason: string }): Versioned<T> | Promise<Versioned<T>>;
}

/** The versioning half of a domain store (RuleStore, NotifyStore), answered by its versioned documents. */
export abstract class VersionedStore<T extends object, D extends VersionedDocs<T>> {
  constructor(protected readonly docs: D) {}

  /** Every version of the tenant, oldest first. */
  async versions(tenant: string): Promise<Versioned<T>[]> {
    return this.docs.versions(tenant);
  }

  /** The newest version, undefined when the tenant has none yet. */
  async current(tenant: string): Promise<Versioned<T> | undefined> {
    return this.docs.current(tenant);
  }

  /** Writes version `expected + 1` (`expected` 0: the first); the domain's conflict error when the newest is not `expected`. */
  async commit(tenant: string, expected: number, doc: T, meta: { author: string; reason: string }): Promise<Versioned<T>> {
    return this.docs.commit(tenant, expected, doc, meta);
  }
}
