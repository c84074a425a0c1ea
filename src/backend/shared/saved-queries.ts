import { checkSavedQueryInput, SavedQueryNotFoundError, type SavedQuery, type SavedQueryInput, type SavedQueryStore } from '../../analysis/saved-queries.ts';
import { DwError } from '../../errors/index.ts';
import { checkTenant } from '../../lake/layout.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { KvConflictError, type KvFollowing, type SharedKv, type SharedKvStore } from './kv.ts';

export const SAVED_QUERIES_BUCKET = 'dw_saved_queries';

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Key of a tenant's query: both parts are restricted to [a-z0-9_-] (TENANT_ID, SAVED_QUERY_NAME), so `.` separates them. */
const keyOf = (tenant: string, name: string): string => `${tenant}.${name}`;

/**
 * Saved queries in a shared bucket: every API process of a deployment, on any host, lists and runs the same ones.
 * Reads come from this process's copy of the bucket (followed); a save or delete is a compare-and-set on the query's
 * key, so two officers saving one name at once get one query and one DW_SAVED_QUERY_EXISTS.
 */
export class KvSavedQueryStore implements SavedQueryStore {
  private readonly queries = new Map<string, SavedQuery>();
  private following: KvFollowing | undefined;

  private constructor(private readonly store: SharedKvStore, private readonly kv: SharedKv) {}

  static async open(store: SharedKvStore, opts: { logger?: Logger; timeoutMs?: number } = {}): Promise<KvSavedQueryStore> {
    try {
      const kv = await store.bucket(SAVED_QUERIES_BUCKET);
      const s = new KvSavedQueryStore(store, kv);
      s.following = await kv.follow((key, value) => {
        if (value === null) s.queries.delete(key);
        else s.queries.set(key, JSON.parse(dec.decode(value)) as SavedQuery);
      }, { timeoutMs: opts.timeoutMs ?? 10_000, logger: opts.logger ?? silentLogger, what: 'saved queries' });
      return s;
    } catch (e) {
      await store.close().catch(() => undefined);
      throw e;
    }
  }

  list(tenant: string): SavedQuery[] {
    checkTenant(tenant);
    return [...this.queries.values()].filter((q) => q.tenant === tenant).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(tenant: string, name: string): SavedQuery {
    const q = this.queries.get(keyOf(checkTenant(tenant), name));
    if (!q) throw new SavedQueryNotFoundError(name);
    return q;
  }

  async save(tenant: string, input: SavedQueryInput, opts: { replace?: boolean } = {}): Promise<SavedQuery> {
    checkTenant(tenant);
    checkSavedQueryInput(input);
    const key = keyOf(tenant, input.name);
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.kv.get(key);
      if (cur && !opts.replace) {
        throw new DwError('DW_SAVED_QUERY_EXISTS', `a saved query named "${input.name}" exists already (replace it with PUT /v1/queries/${input.name} or --replace)`, { status: 409 });
      }
      const now = new Date().toISOString();
      const prev = cur ? (JSON.parse(dec.decode(cur.value)) as SavedQuery) : undefined;
      const q: SavedQuery = { tenant, name: input.name, sql: input.sql, description: input.description ?? '', createdAt: prev?.createdAt ?? now, updatedAt: now };
      try {
        await (cur ? this.kv.update(key, enc.encode(JSON.stringify(q)), cur.revision) : this.kv.create(key, enc.encode(JSON.stringify(q))));
        this.queries.set(key, q);
        return q;
      } catch (e) {
        if (!(e instanceof KvConflictError)) throw e;
      }
    }
    throw new DwError('DW_CONFLICT', `saved query "${input.name}" kept changing under 20 attempts`, { status: 409 });
  }

  async delete(tenant: string, name: string): Promise<void> {
    const key = keyOf(checkTenant(tenant), name);
    if (!(await this.kv.get(key))) throw new SavedQueryNotFoundError(name);
    await this.kv.delete(key);
    this.queries.delete(key);
  }

  async close(): Promise<void> {
    this.following?.stop();
    await this.store.close();
  }
}
