import { checkTenant, openSnapshot, QueryError, type LakeFileSource, type LakeFiles, type SandboxOptions, type TenantScope, type TimeRange } from '../lake/index.ts';
import type { EngineOpener, QueryEngine } from './engine-types.ts';

/**
 * The analysis service's engines: one snapshot (a LakeSandbox over a file list) per tenant and time range, so that a
 * tenant's engine is only ever given that tenant's files. A range is keyed by the hours containing its bounds: two
 * ranges with the same boundary hours read exactly the same files (the lake is pruned by whole hours), so they share
 * a snapshot. Each snapshot is re-listed at most every `refreshMs` (rebuilt only when its files changed), dropped when
 * idle for `idleMs`, and the least recently used goes when more than `max` are open. Dropping retires the engine: the
 * queries still reading it finish first.
 */

const HOUR_MS = 3_600_000;

interface Snapshot {
  tenant: string;
  range: TimeRange | undefined;
  current: { sandbox: QueryEngine; builtAt: number } | undefined;
  building: Promise<QueryEngine> | undefined;
  usedAt: number;
}

export interface SnapshotsOptions {
  source: LakeFileSource;
  sandbox: Omit<SandboxOptions, 'tenant' | 'exportFile'>;
  refreshMs: number;
  idleMs: number;
  /** Snapshots open at most (whole-lake and ranged, all tenants). */
  max: number;
  /** Opens an engine (in this process, or in a query-engine process: engine-pool.ts). */
  open: EngineOpener;
  /** Called with every engine opened (the service counts their running queries). */
  opened: (sandbox: QueryEngine) => void;
}

const hourKey = (d: Date | undefined): string => (d ? String(Math.floor(d.getTime() / HOUR_MS)) : '');

/** `tenant` for the whole lake, `tenant|<first hour>|<last hour>` (hours since the epoch) for a range. */
export function snapshotKey(tenant: string, range: TimeRange | undefined): string {
  return range ? `${tenant}|${hourKey(range.from)}|${hourKey(range.to)}` : tenant;
}

export class Snapshots {
  private readonly snapshots = new Map<string, Snapshot>();
  private closed = false;

  constructor(private readonly opts: SnapshotsOptions) {}

  /** Tenants with a snapshot open. */
  tenants(): string[] {
    return [...new Set([...this.snapshots.values()].map((s) => s.tenant))].sort();
  }

  /** The snapshot of `tenant` (and `range`), rebuilt when older than refreshMs or when `force`d; one build at a time. */
  get(tenant: string, range: TimeRange | undefined, force = false): Promise<QueryEngine> {
    if (this.closed) return Promise.reject(new QueryError('the analysis service is closed'));
    checkTenant(tenant);
    const key = snapshotKey(tenant, range);
    let entry = this.snapshots.get(key);
    if (entry) this.snapshots.delete(key); // re-inserted last: the map's order is recency
    entry ??= { tenant, range, current: undefined, building: undefined, usedAt: 0 };
    this.snapshots.set(key, entry);
    entry.usedAt = performance.now();
    this.evict(key);
    const snap = entry;
    // Its engine process died (a query out of memory or killed past its time limit): rebuilt on a fresh one.
    if (snap.current?.sandbox.isRetired) snap.current = undefined;
    if (snap.current && !force && performance.now() - snap.current.builtAt < this.opts.refreshMs) return Promise.resolve(snap.current.sandbox);
    snap.building ??= (async () => {
      try {
        const builtAt = performance.now();
        const current = snap.current;
        // Listing is cheap (ms); opening a sandbox binds the views over every file (tens of ms): reuse an unchanged one.
        const sandbox = await openSnapshot(this.opts.source, scopeOf(tenant, range), (files) =>
          current && !force && sameFiles(current.sandbox.files, files) ? Promise.resolve(current.sandbox) : this.opts.open(files, { ...this.opts.sandbox, tenant }));
        if (sandbox === current?.sandbox) {
          current.builtAt = builtAt;
          return sandbox;
        }
        this.opts.opened(sandbox);
        if (this.closed || this.snapshots.get(key) !== snap) {
          // Closed, or dropped while building: nobody would retire it later; the caller's query still runs on it.
          sandbox.retire();
          if (this.closed) throw new QueryError('the analysis service is closed');
          return sandbox;
        }
        snap.current?.sandbox.retire();
        snap.current = { sandbox, builtAt };
        return sandbox;
      } finally {
        snap.building = undefined;
      }
    })();
    return snap.building;
  }

  /** Drops the snapshots unused for idleMs. */
  dropIdle(): void {
    const now = performance.now();
    for (const [key, s] of this.snapshots) {
      if (now - s.usedAt >= this.opts.idleMs && !s.building) this.drop(key, s);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.snapshots.values()];
    this.snapshots.clear();
    for (const s of all) {
      const building = s.building;
      s.current?.sandbox.retire();
      s.current = undefined;
      if (building) (await building.catch(() => undefined))?.retire();
    }
  }

  /** The least recently used snapshots go while there are more than `max` (never one being built, nor `keep`). */
  private evict(keep: string): void {
    for (const [key, s] of this.snapshots) {
      if (this.snapshots.size <= this.opts.max) return;
      if (!s.building && key !== keep) this.drop(key, s);
    }
  }

  private drop(key: string, s: Snapshot): void {
    this.snapshots.delete(key);
    s.current?.sandbox.retire();
    s.current = undefined;
  }
}

/** One tenant's scope, pruned to `range` (the tenant is checked first: it becomes a key prefix). */
function scopeOf(tenant: string, range: TimeRange | undefined): TenantScope {
  return { tenant: checkTenant(tenant), ...(range ? { range } : {}) };
}

function sameFiles(a: LakeFiles, b: LakeFiles): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((f, i) => f === y[i]);
  return same(a.reports, b.reports) && same(a.alerts, b.alerts) && same(a.incidents, b.incidents);
}
