import { existsSync } from 'node:fs';
import { LAKE_TABLES, type LakeTable } from './layout.ts';
import type { TenantScope, TimeRange } from './live-files.ts';
import { lakeFilesFor } from './sources.ts';
import { allLakeFiles, LakeSandbox, QueryError, type CursorOptions, type LakeFiles, type QueryCursor, type SandboxOptions } from './sandbox.ts';

export interface QueryResult {
  columns: string[];
  /** JSON-friendly values: numbers (BIGINT beyond 2^53 as strings), ISO strings for timestamps, plain arrays/objects. */
  rows: unknown[][];
  /** True when a row limit cut the result short. */
  truncated?: boolean;
}

/**
 * Where the engine's files come from. The engine itself is only ever given file lists: the local lake lists its
 * directories; an object-store lake fetches the objects a time range needs into a local cache and hands those over.
 */
export interface LakeFileSource {
  /**
   * Local paths of the live Parquet files of one tenant's `table` (never another tenant's), pruned to the hour
   * partitions of `range` when given.
   */
  liveFiles(table: LakeTable, opts: TenantScope): Promise<string[]>;
}

export interface LakeQuery {
  /** Runs one read-only statement (SELECT) over the views and returns every row (up to `limit`). */
  run(sql: string, opts?: CursorOptions): Promise<QueryResult>;
  /** Starts one read-only statement; its rows are read chunk by chunk from the cursor. */
  cursor(sql: string, opts?: CursorOptions): Promise<QueryCursor>;
  /** Checks that `sql` is one read-only statement valid on the views, without running it. */
  validate(sql: string): Promise<void>;
  /** Re-lists the lake: the views are a snapshot of the files live when they were built. */
  refresh(): Promise<void>;
  /** Files each view reads. */
  files(): Record<LakeTable, string[]>;
  close(): Promise<void>;
}

export interface LakeQueryOptions extends SandboxOptions {
  /** The only tenant whose files the views read. */
  tenant: string;
  /** Prune to the hour directories of this range (the views still hold whole hours: filter on ts/at as well). */
  range?: TimeRange | undefined;
}

/**
 * The time range each table is pruned to for a query over `range`. Alert and incident events are pruned by `from`
 * only: the `alerts` and `incidents` views are each one's latest state, which may come from an event (ack, resolve)
 * after `to`.
 */
export function tableRange(table: LakeTable, range: TimeRange | undefined): TimeRange | undefined {
  if (!range || table === 'reports') return range;
  return range.from ? { from: range.from } : undefined;
}

/** Lists the files of every table of one tenant, for one snapshot of the lake (see tableRange for the pruning). */
export async function snapshotFiles(source: LakeFileSource, scope: TenantScope): Promise<LakeFiles> {
  const files = {} as Record<LakeTable, string[]>;
  for (const t of LAKE_TABLES) {
    const range = tableRange(t, scope.range);
    files[t] = await source.liveFiles(t, { tenant: scope.tenant, ...(range ? { range } : {}) });
  }
  return files;
}

/** Whether a file of `files` is gone: compaction or retention deleted it after it was listed. */
export function listedFileGone(files: LakeFiles): boolean {
  return allLakeFiles(files).some((f) => !existsSync(f));
}

/** Listings tried by openSnapshot before its error is the caller's. */
const SNAPSHOT_TRIES = 3;

/**
 * Lists one tenant's files and opens an engine on them. Compaction and retention delete the files they replaced, and
 * one deleted between the listing and the engine's binding fails the open ("No files found"; a soak's queries met it
 * every few minutes): the lake is listed again, up to SNAPSHOT_TRIES times. Any other failure is thrown at once.
 */
export async function openSnapshot<E>(source: LakeFileSource, scope: TenantScope, open: (files: LakeFiles) => Promise<E>): Promise<E> {
  for (let attempt = 1; ; attempt++) {
    const files = await snapshotFiles(source, scope);
    try {
      return await open(files);
    } catch (e) {
      if (attempt >= SNAPSHOT_TRIES || !(e instanceof QueryError) || !listedFileGone(files)) throw e;
    }
  }
}

/**
 * Opens one tenant's lake for queries: a snapshot of its live files (see LakeSandbox for the sandbox). `source` is a lake
 * location (a directory or `s3://bucket/prefix`, fetched into the default cache) or any LakeFileSource.
 */
export async function openLakeQuery(source: string | LakeFileSource, opts: LakeQueryOptions): Promise<LakeQuery> {
  const owned = typeof source === 'string' ? lakeFilesFor(source) : undefined;
  const files = owned ?? (source as LakeFileSource);
  const { range, ...sandboxOpts } = opts;
  const scope = { tenant: opts.tenant, ...(range ? { range } : {}) };
  let sandbox: LakeSandbox;
  try {
    sandbox = await openSnapshot(files, scope, (listed) => LakeSandbox.open(listed, sandboxOpts));
  } catch (e) {
    await owned?.close();
    throw e;
  }

  async function refresh(): Promise<void> {
    const next = await openSnapshot(files, scope, (listed) => LakeSandbox.open(listed, sandboxOpts));
    sandbox.retire();
    sandbox = next;
  }

  /** Compaction deletes the files it replaced; a snapshot older than that re-lists once and retries. */
  async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof QueryError && listedFileGone(sandbox.files)) {
        await refresh();
        return fn();
      }
      throw e;
    }
  }

  return {
    run: (sql, o) => withRetry(() => sandbox.all(sql, o)),
    cursor: (sql, o) => withRetry(() => sandbox.cursor(sql, o)),
    validate: (sql) => sandbox.validate(sql),
    refresh,
    files: () => ({ reports: [...sandbox.files.reports], alerts: [...sandbox.files.alerts], incidents: [...sandbox.files.incidents] }),
    async close() {
      sandbox.retire();
      await owned?.close();
    },
  };
}
