import { listAll, type ObjectStore } from '../objectstore/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { checkTenant, hourStartMs, tenantPrefix, type LakeTable } from './layout.ts';
import { listDates, listTenants } from './live-files.ts';
import { withLakeStore, type LakeLocationOrStore } from './store.ts';

/**
 * Retention: hour partitions whose every row is older than the table's retention period are deleted whole (legal
 * retention periods are per table: reports and alerts are configured apart). It works per tenant directory, and the
 * cutoff is recorded per tenant, so that forces with different legal periods can be given their own later. Before
 * deleting, the cutoff is written to `_retention/<table>/tenant=<t>.json`; a compaction that uploads a merged file
 * into a condemned hour afterwards sees it and deletes its file again, so a merge racing with retention cannot bring
 * rows back.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface RetentionOptions {
  table: LakeTable;
  /** Rows older than this many days go (whole hours: an hour goes once its end is that old). */
  maxAgeDays: number;
  /** Only this tenant (default: every tenant found under `<table>/`). */
  tenant?: string;
  /** List what would go, delete nothing. */
  dryRun?: boolean;
  /** Clock, epoch ms. */
  now?: number;
  logger?: Logger;
}

export interface RetentionPartition {
  /** Hour directory key, e.g. `reports/tenant=paris/date=2025-01-15/hour=10`. */
  dir: string;
  tenant: string;
  date: string;
  hour: string;
  /** Objects in it (data files, including merged-away ones not yet swept). */
  files: number;
  bytes: number;
}

export interface RetentionResult {
  table: LakeTable;
  /** Hours ending at or before this instant go. */
  cutoff: string;
  dryRun: boolean;
  partitions: RetentionPartition[];
  files: number;
  bytes: number;
}

export function retentionKey(table: LakeTable, tenant: string): string {
  return `_retention/${table}/tenant=${checkTenant(tenant)}.json`;
}

/** The last cutoff retention applied to a tenant's table (epoch ms), if any. */
export async function readRetentionCutoff(store: ObjectStore, table: LakeTable, tenant: string): Promise<number | undefined> {
  const buf = await store.get(retentionKey(table, tenant));
  if (!buf) return undefined;
  try {
    const before = (JSON.parse(buf.toString('utf8')) as { before?: unknown }).before;
    return typeof before === 'number' && Number.isFinite(before) ? before : undefined;
  } catch {
    return undefined;
  }
}

/** What retention removes (or, with dryRun, would remove) from one table. */
export async function applyRetention(lake: LakeLocationOrStore, opts: RetentionOptions): Promise<RetentionResult> {
  if (!(opts.maxAgeDays > 0)) throw new RangeError(`retention: maxAgeDays must be positive, got ${opts.maxAgeDays}`);
  const logger = opts.logger ?? silentLogger;
  const cutoff = Math.floor(((opts.now ?? Date.now()) - opts.maxAgeDays * DAY_MS) / HOUR_MS) * HOUR_MS;
  return withLakeStore(lake, async (store) => {
    const result: RetentionResult = { table: opts.table, cutoff: new Date(cutoff).toISOString(), dryRun: opts.dryRun === true, partitions: [], files: 0, bytes: 0 };
    const condemned = new Map<string, string[][]>();
    const tenants = opts.tenant !== undefined ? [opts.tenant] : await listTenants(store, opts.table);
    for (const tenant of tenants) {
      const keys: string[][] = [];
      condemned.set(tenant, keys);
      for (const date of await listDates(store, opts.table, tenant, { to: new Date(cutoff - 1) })) {
        const byHour = new Map<string, { keys: string[]; bytes: number }>();
        const prefix = `${tenantPrefix(opts.table, tenant)}date=${date}/`;
        for (const o of (await listAll(store, prefix)).objects) {
          const dir = o.key.slice(prefix.length).split('/')[0]!;
          if (!dir.startsWith('hour=')) continue;
          const start = hourStartMs({ date, hour: dir.slice(5) });
          if (Number.isNaN(start) || start + HOUR_MS > cutoff) continue;
          const h = byHour.get(dir) ?? { keys: [], bytes: 0 };
          h.keys.push(o.key);
          h.bytes += o.size;
          byHour.set(dir, h);
        }
        for (const [dir, h] of byHour) {
          result.partitions.push({ dir: `${prefix}${dir}`, tenant, date, hour: dir.slice(5), files: h.keys.length, bytes: h.bytes });
          result.files += h.keys.length;
          result.bytes += h.bytes;
          keys.push(h.keys);
        }
      }
    }
    if (!result.dryRun) {
      for (const [tenant, keys] of condemned) {
        await store.put(retentionKey(opts.table, tenant), JSON.stringify({ before: cutoff, at: Date.now(), maxAgeDays: opts.maxAgeDays }));
        for (const k of keys) await store.deleteMany(k);
      }
      if (result.files > 0) logger.info({ table: opts.table, cutoff: result.cutoff, partitions: result.partitions.length, files: result.files, bytes: result.bytes }, 'lake: retention deleted old partitions');
    }
    return result;
  });
}
