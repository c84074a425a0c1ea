import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config/index.ts';
import { listedFileGone, QueryError, type CursorOptions, type LakeFileSource, type QueryCursor, type TimeRange } from '../lake/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { QueryAdmission } from './admission.ts';
import { EnginePool } from './engine-pool.ts';
import type { QueryEngine } from './engine-types.ts';
import { encodeRows, type TextFormat } from './encode.ts';
import type { SavedQueryStore } from './saved-queries.ts';
import { Snapshots } from './snapshots.ts';
import { startQueryTimer } from '../metrics/record.ts';
import { listStats, statRange, statSql, type StatParams, type StatOption } from './stats.ts';
import type { ExportFormat } from './export-formats.ts';

export { EXPORT_FORMATS, type ExportFormat } from './export-formats.ts';

export interface StatSummary {
  name: string;
  description: string;
  options: StatOption[];
}

export interface AnalysisServiceOptions {
  source: LakeFileSource;
  config: Config['analysis'];
  saved?: SavedQueryStore | undefined;
  logger?: Logger | undefined;
  /** A snapshot not used for this long is dropped (its DuckDB freed). Default 10 minutes. */
  idleMs?: number | undefined;
  /** Snapshots open at most (tenants and ranges together); the least recently used goes first. Default 16. */
  maxSnapshots?: number | undefined;
  /** A query-engine process with no snapshot open and no query for this long is stopped. Default 1 minute. */
  engineIdleMs?: number | undefined;
}

export interface RunOptions {
  /** Rows at most; capped at analysis.maxRows (0 or absent = analysis.maxRows). */
  limit?: number | undefined;
  /** Capped at analysis.timeoutSeconds. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Read only the hour partitions of this range (alert events: from `from` on, see tableRange). Rows outside it may
   * still appear within the boundary hours: the SQL filters on ts / at. On an S3 lake only these objects are fetched.
   */
  range?: TimeRange | undefined;
}

export interface ExportProgress {
  /** Rows written so far (text formats; Parquet reports rows once done). */
  rows: number | undefined;
  /** Bytes written so far. */
  bytes: number;
}

export interface ExportOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((p: ExportProgress) => void) | undefined;
  /** Overrides analysis.exportTimeoutSeconds (0 = none). */
  timeoutMs?: number | undefined;
  /** As RunOptions.range. */
  range?: TimeRange | undefined;
}

const DEFAULT_IDLE_MS = 10 * 60_000;
/** How long a query waits for a free slot (analysis.maxQueries, maxQueriesPerTenant) before 429: see admission.ts. */
const ADMISSION_WAIT_MS = 2000;
/** Snapshots open at once, all tenants and ranges together (each is an in-memory DuckDB: a few MB when idle). */
const DEFAULT_MAX_SNAPSHOTS = 16;
const DEFAULT_ENGINE_IDLE_MS = 60_000;
/** Query-engine processes kept at most beyond the busy ones (analysis.maxQueries), warm for the next query. */
const SPARE_ENGINES = 4;

/**
 * The analysis layer as the API and CLI use it: ad-hoc SQL, ready-made statistics, exports and saved queries, each
 * scoped to one tenant (police force). Queries run on snapshots (snapshots.ts): a LakeSandbox built from one tenant's
 * files only, so its DuckDB cannot open another tenant's file whatever the SQL, one per tenant and per time range
 * (a range reads only its hour partitions: on S3 only those objects are fetched), re-listed at most every
 * `analysis.refreshSeconds`, dropped when idle. The sandboxes run in the tenant's query-engine process (engine-pool.ts),
 * under a hard memory limit and killed if a query overruns its time limit, never in this one. Answers are cursors (rows
 * stream); limits (rows, time) come from the configuration and can only be lowered by a request.
 */
export class AnalysisService {
  readonly saved: SavedQueryStore | undefined;
  private readonly source: LakeFileSource;
  private readonly config: Config['analysis'];
  private readonly logger: Logger;
  private readonly snapshots: Snapshots;
  private closed = false;
  /** Every engine opened and not yet shut: snapshots (current and retired ones still read) and exporters. */
  private readonly engines = new Set<QueryEngine>();
  /** The query-engine processes (one per tenant) the snapshots and exports run in. */
  private readonly processes: EnginePool;
  private readonly idleTimer: NodeJS.Timeout;
  /** Queries and exports running at once, per tenant and in all (analysis.maxQueriesPerTenant, maxQueries). */
  private readonly admission: QueryAdmission;

  constructor(opts: AnalysisServiceOptions) {
    this.source = opts.source;
    this.config = opts.config;
    this.saved = opts.saved;
    this.logger = opts.logger ?? silentLogger;
    const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
    this.processes = new EnginePool({
      memoryBytes: this.config.engineMemoryBytes,
      max: this.config.maxQueries + SPARE_ENGINES,
      idleMs: opts.engineIdleMs ?? DEFAULT_ENGINE_IDLE_MS,
      logger: this.logger,
    });
    this.snapshots = new Snapshots({
      open: this.processes.open,
      source: opts.source,
      sandbox: { memoryLimit: this.config.memoryLimit, threads: this.config.threads },
      refreshMs: this.config.refreshSeconds * 1000,
      idleMs,
      max: Math.max(1, opts.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS),
      opened: (sandbox) => this.engines.add(sandbox),
    });
    this.admission = new QueryAdmission({ perTenant: this.config.maxQueriesPerTenant, total: this.config.maxQueries, waitMs: ADMISSION_WAIT_MS });
    this.idleTimer = setInterval(() => this.snapshots.dropIdle(), Math.max(1000, Math.min(idleMs, 60_000)));
    this.idleTimer.unref();
  }

  get limits(): { maxRows: number; maxResultBytes: number; timeoutMs: number; exportTimeoutMs: number } {
    return {
      maxRows: this.config.maxRows, maxResultBytes: this.config.maxResultBytes,
      timeoutMs: this.config.timeoutSeconds * 1000, exportTimeoutMs: this.config.exportTimeoutSeconds * 1000,
    };
  }

  /** Queries and exports running right now (each holds a DuckDB connection); 0 when idle. */
  get running(): number {
    let n = 0;
    for (const e of this.engines) {
      if (e.isClosed) this.engines.delete(e);
      else n += e.running;
    }
    return n;
  }

  /** Tenants with a snapshot open right now (diagnostics, tests). */
  get openTenants(): string[] {
    return this.snapshots.tenants();
  }

  listStats(): StatSummary[] {
    return listStats().map(({ name, description, options }) => ({ name, description, options }));
  }

  /** Checks that `sql` is one read-only query valid on the tenant's views (parse and bind), without running it. */
  async validate(tenant: string, sql: string, range?: TimeRange): Promise<void> {
    const sandbox = await this.snapshots.get(tenant, range);
    try {
      await sandbox.validate(sql);
    } catch (e) {
      if (!sandbox.isRetired) throw e;
      await (await this.snapshots.get(tenant, range)).validate(sql); // replaced between the two awaits
    }
  }

  /** Runs ad-hoc SQL over `tenant`'s rows; iterate the cursor for the rows. */
  async query(tenant: string, sql: string, opts: RunOptions = {}): Promise<QueryCursor> {
    return this.open(tenant, sql, this.bounded(opts), opts.range, 'query');
  }

  /**
   * Runs a ready-made statistic over `tenant`'s rows (parameters are validated before the lake is touched). Its
   * from/to prune the files read, unless `opts.range` says otherwise.
   */
  async stat(tenant: string, name: string, params: StatParams, opts: RunOptions = {}): Promise<QueryCursor> {
    const sql = statSql(name, params);
    return this.open(tenant, sql, this.bounded(opts), opts.range ?? statRange(params), 'stat');
  }

  /** A cursor over the whole result (no row limit), under the export time limit: for downloads. */
  async exportCursor(tenant: string, sql: string, opts: ExportOptions = {}): Promise<QueryCursor> {
    const timeoutMs = opts.timeoutMs ?? this.limits.exportTimeoutMs;
    return this.open(tenant, sql, { ...(timeoutMs > 0 ? { timeoutMs } : {}), signal: opts.signal }, opts.range, 'export');
  }

  /** SQL of a statistic with its parameters filled in (for exports of a statistic). */
  statSql(name: string, params: StatParams): string {
    return statSql(name, params);
  }

  /** The time range a statistic's from/to prune the lake to (for exports of a statistic). */
  statRange(params: StatParams): TimeRange | undefined {
    return statRange(params);
  }

  /**
   * Writes the whole result of `sql` over `tenant`'s rows (no row limit) to `target`: CSV, JSON (one array), JSON
   * lines, or Parquet (zstd, written by DuckDB). The file appears complete or not at all: the rows go to a temporary
   * sibling that is renamed over `target` at the end. Returns the row count and size.
   */
  async exportToFile(tenant: string, sql: string, target: string, format: ExportFormat, opts: ExportOptions = {}): Promise<{ rows: number; bytes: number }> {
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    const timeoutMs = opts.timeoutMs ?? this.limits.exportTimeoutMs;
    const run: CursorOptions = { ...(timeoutMs > 0 ? { timeoutMs } : {}), signal: opts.signal };
    let rows: number;
    try {
      if (format === 'parquet') {
        const leave = await this.admission.enter(tenant);
        try {
          const { files } = await this.snapshots.get(tenant, opts.range);
          const exporter = await this.processes.open(files, { tenant, exportFile: tmp, memoryLimit: this.config.memoryLimit, threads: this.config.threads });
          this.engines.add(exporter);
          // DuckDB writes row group after row group: the growing file is the progress there is to show.
          const poll = opts.onProgress ? setInterval(() => void fsp.stat(tmp).then((s) => opts.onProgress!({ rows: undefined, bytes: s.size }), () => {}), 250) : undefined;
          try {
            rows = await exporter.copyToParquet(sql, run);
          } finally {
            if (poll) clearInterval(poll);
            exporter.close();
          }
        } finally {
          leave();
        }
      } else {
        const cursor = await this.open(tenant, sql, run, opts.range, 'export');
        const out = createWriteStream(tmp, { flags: 'wx' });
        let bytes = 0;
        const counted = async function* (source: AsyncGenerator<string>): AsyncGenerator<Buffer> {
          for await (const s of source) {
            const b = Buffer.from(s);
            bytes += b.length;
            yield b;
          }
        };
        const onRows = opts.onProgress ? (n: number): void => opts.onProgress!({ rows: n, bytes }) : undefined;
        await pipeline(Readable.from(counted(encodeRows(cursor, format, onRows ? { onRows } : {}))), out);
        rows = cursor.rowCount;
      }
      const { size } = await fsp.stat(tmp);
      await fsp.rename(tmp, target);
      opts.onProgress?.({ rows, bytes: size });
      return { rows, bytes: size };
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idleTimer);
    await this.snapshots.close();
    await this.processes.close();
  }

  /** The pid of `tenant`'s query-engine process, if one runs (diagnostics, tests). */
  enginePid(tenant: string): number | undefined {
    return this.processes.process(tenant)?.pid;
  }

  private bounded(opts: RunOptions): CursorOptions {
    const { maxRows, maxResultBytes, timeoutMs } = this.limits;
    return {
      limit: opts.limit && opts.limit > 0 ? Math.min(opts.limit, maxRows) : maxRows,
      maxBytes: maxResultBytes,
      timeoutMs: opts.timeoutMs && opts.timeoutMs > 0 ? Math.min(opts.timeoutMs, timeoutMs) : timeoutMs,
      signal: opts.signal,
    };
  }

  /**
   * Opens a cursor on the snapshot of `tenant` and `range`. A snapshot whose files compaction or retention has
   * deleted since it was listed is re-listed once and the query retried.
   */
  private async open(tenant: string, sql: string, opts: CursorOptions, range: TimeRange | undefined, kind: 'query' | 'stat' | 'export'): Promise<QueryCursor> {
    if (this.closed) throw new QueryError('the analysis service is closed');
    const leave = await this.admission.enter(tenant);
    // The query's duration metric: from its admission to the release of its connection (or its failure to open).
    const timed = startQueryTimer(tenant, kind);
    // The slot is given back when the cursor's connection is (its rows read, an error, a cancel); a failed attempt
    // below releases its own connection, and the slot goes with the last failure.
    let opened = false;
    const run = { ...opts, onRelease: () => (opened ? (timed(), leave()) : undefined) };
    try {
      const cursor = await this.openOn(tenant, sql, run, range);
      opened = true;
      return cursor;
    } catch (e) {
      timed();
      leave();
      throw e;
    }
  }

  private async openOn(tenant: string, sql: string, opts: CursorOptions, range: TimeRange | undefined): Promise<QueryCursor> {
    const sandbox = await this.snapshots.get(tenant, range);
    try {
      return await sandbox.cursor(sql, opts);
    } catch (e) {
      // Replaced (refresh, eviction) between get() and cursor(), or its engine process died under another query before
      // this one had started: its successor answers. Not a query that stopped the engine itself (time, memory).
      if (sandbox.isRetired && !filesGone(e, sandbox) && !ownFailure(e)) return (await this.snapshots.get(tenant, range)).cursor(sql, opts);
      if (!filesGone(e, sandbox)) throw e;
      this.logger.info('lake files changed under a query; re-listing and retrying');
      return (await this.snapshots.get(tenant, range, true)).cursor(sql, opts);
    }
  }
}

/** The query failed because files of its snapshot were deleted (compaction, retention) since it was listed. */
function filesGone(e: unknown, sandbox: QueryEngine): boolean {
  return e instanceof QueryError && listedFileGone(sandbox.files);
}

/** The query's own end (its time, memory, cancel): re-running it elsewhere would end the same way. */
function ownFailure(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'DW_QUERY_TIMEOUT' || code === 'DW_QUERY_TOO_LARGE' || code === 'DW_QUERY_CANCELLED';
}

export type { TextFormat };
