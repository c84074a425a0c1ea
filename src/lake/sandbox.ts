import { DuckDBTypeId, JSDuckDBValueConverter, ResultReturnType, StatementType, type DuckDBConnection, type DuckDBInstance } from '@duckdb/node-api';
import { DwError } from '../errors/index.ts';
import { openDuck, sqlString, sqlStringList } from './duck.ts';
import { checkTenant, type LakeTable } from './layout.ts';
import { HIVE_TYPES, LATEST_ALERTS_SQL, SCHEMAS, SIGHTINGS_SQL, WORDS_SQL } from './schema.ts';
import { QueryError } from './sandbox-errors.ts';
import { pragmaName, pragmaRefusal, refusalOf, scrubPaths } from './sandbox-guard.ts';
import { interruptGuard, type InterruptGuard } from './sandbox-interrupt.ts';

export { QueryCancelledError, QueryError, QueryTimeoutError } from './sandbox-errors.ts';

/** The local Parquet files each table's views read: the whole input of the analysis engine. */
export type LakeFiles = Record<LakeTable, readonly string[]>;

export interface SandboxOptions {
  /**
   * The tenant whose rows the views show. The files given are that tenant's already (the sandbox can read nothing
   * else); the views also filter on the `tenant` column, so a file put in the wrong directory cannot leak either.
   */
  tenant?: string | undefined;
  /** DuckDB `memory_limit` (e.g. `2GB`); default DuckDB's (80% of RAM). There is no spill directory (see below). */
  memoryLimit?: string | undefined;
  /** DuckDB worker threads; default one per core. */
  threads?: number | undefined;
  /**
   * A file path (that must not exist yet) this sandbox may write, for `copyToParquet`. Nothing else is writable. Only
   * exports open a sandbox with one, each for its own fresh temporary file.
   */
  exportFile?: string | undefined;
}

export interface CursorOptions {
  /** Stop after this many rows (`truncated` tells whether there were more). Default: no limit. */
  limit?: number | undefined;
  /** Interrupt the query (and the reading of its rows) after this many ms. Default: no limit. */
  timeoutMs?: number | undefined;
  /** Aborting interrupts the query. */
  signal?: AbortSignal | undefined;
}

/** A running query whose rows are read chunk by chunk (about 2,048 rows each): no full result in JS memory. */
export interface QueryCursor extends AsyncIterable<unknown[][]> {
  readonly columns: readonly string[];
  /** DuckDB type of each column (`VARCHAR`, `TIMESTAMP WITH TIME ZONE`, `STRUCT(...)`...). */
  readonly columnTypes: readonly string[];
  /** Rows read so far. */
  readonly rowCount: number;
  /** True once the row limit cut the result short. */
  readonly truncated: boolean;
  /**
   * Interrupts the query and releases its connection (at once, or when a read in flight returns); a pending or later
   * read throws QueryCancelledError. Safe to call twice, and after the end.
   */
  cancel(): void;
}

/** EXPLAIN is left out on purpose: EXPLAIN ANALYZE executes its statement, whatever it is. */
const READ_ONLY = new Set<number>([StatementType.SELECT]);

/** The views a query reads the lake through: the only tables it may name (sandbox-guard.ts). */
const VIEWS: ReadonlySet<string> = new Set(['reports', 'sightings', 'words', 'alert_events', 'alerts']);

/** A relation with the stored columns of a table plus date/hour, over the given files (or empty with the same columns). */
function sourceOf(table: LakeTable, files: readonly string[]): string {
  if (files.length > 0) return `read_parquet(${sqlStringList(files)}, hive_partitioning = true, hive_types = ${HIVE_TYPES})`;
  const cols = SCHEMAS[table].storedColumns.map(([name, type]) => `CAST(NULL AS ${type}) AS "${name}"`);
  return `(SELECT ${cols.join(', ')}, CAST(NULL AS DATE) AS date, CAST(NULL AS INTEGER) AS hour WHERE false)`;
}

/** DuckDB JS values to what JSON can carry without loss of meaning. */
export function jsonFriendly(v: unknown, isDate = false): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : isDate ? v.toISOString().slice(0, 10) : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map((x) => jsonFriendly(x));
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonFriendly(x)]));
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

/**
 * The analysis engine: an in-memory DuckDB with the views `reports`, `sightings`, `words`, `alert_events` and
 * `alerts` over exactly the files it is given (it never lists anything itself, so the lake may be a local directory or
 * a cache of objects fetched from S3). Once the views exist, DuckDB's access to the file system is cut down to exactly
 * those files (`allowed_paths` + `enable_external_access = false`, then the configuration is locked), and only
 * single read-only statements run: a query reads the lake, not other files, and writes nothing.
 *
 * Each query gets its own connection, so queries run concurrently and one can be interrupted without the others.
 */
export class LakeSandbox {
  private active = 0;
  private retired = false;
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly setup: DuckDBConnection,
    readonly files: LakeFiles,
    private readonly exportFile: string | undefined,
  ) {}

  /** Query connections open right now (cursors not yet read to the end, exports being written). */
  get running(): number {
    return this.active;
  }

  /** True once retired (or closed): no new query starts on it. */
  get isRetired(): boolean {
    return this.retired;
  }

  /** True once the engine is shut (retired and its last query done, or closed). */
  get isClosed(): boolean {
    return this.closed;
  }

  static async open(files: LakeFiles, opts: SandboxOptions = {}): Promise<LakeSandbox> {
    const duck = await openDuck();
    const conn = duck.conn;
    try {
      const only = opts.tenant !== undefined ? ` WHERE tenant = ${sqlString(checkTenant(opts.tenant))}` : '';
      await conn.run(`CREATE VIEW reports AS SELECT ${SCHEMAS.reports.viewProjection} FROM ${sourceOf('reports', files.reports)}${only}`);
      await conn.run(`CREATE VIEW alert_events AS SELECT ${SCHEMAS.alerts.viewProjection} FROM ${sourceOf('alerts', files.alerts)}${only}`);
      await conn.run(`CREATE VIEW alerts AS ${LATEST_ALERTS_SQL}`);
      await conn.run(`CREATE VIEW sightings AS ${SIGHTINGS_SQL}`);
      await conn.run(`CREATE VIEW words AS ${WORDS_SQL}`);
      // VIEWS names exactly these: a view added above and not there could not be read.
      const allowed = [...files.reports, ...files.alerts, ...(opts.exportFile ? [opts.exportFile] : [])];
      await conn.run(`SET allowed_paths = ${allowed.length > 0 ? sqlStringList(allowed) : `[${sqlString('/nonexistent')}]`}`);
      // Turning external access off adds the spill directory (default `.tmp` under the process's working directory) to
      // allowed_directories, which would let queries read and glob any file placed there: no spill directory at all.
      await conn.run(`SET temp_directory = ''`);
      if (opts.memoryLimit) await conn.run(`SET memory_limit = ${sqlString(opts.memoryLimit)}`);
      if (opts.threads) await conn.run(`SET threads = ${Math.max(1, Math.floor(opts.threads))}`);
      await conn.run('SET enable_external_access = false');
      await conn.run('SET lock_configuration = true');
    } catch (e) {
      duck.close();
      throw e instanceof DwError ? e : new QueryError(scrubPaths(`cannot open the lake for queries: ${(e as Error).message}`, [...files.reports, ...files.alerts]), e);
    }
    return new LakeSandbox(duck.instance, conn, files, opts.exportFile);
  }

  /** Checks that `sql` is exactly one read-only statement, without running it. Throws QueryError otherwise. */
  async validate(sql: string): Promise<void> {
    // A connection of its own, counted like a query's: a refresh that retires this snapshot meanwhile must not close
    // a connection DuckDB is still using.
    const conn = await this.acquire();
    try {
      await this.prepare(conn, sql);
    } finally {
      this.release(conn);
    }
  }

  /** Starts a query; iterate the cursor for its rows. The connection closes when iteration ends, breaks or throws. */
  async cursor(sql: string, opts: CursorOptions = {}): Promise<QueryCursor> {
    const conn = await this.acquire();
    const guard = interruptGuard(conn, opts, (e) => this.failure(e));
    try {
      const stmt = await this.prepare(conn, sql);
      const result = await guard.wrap(() => stmt.stream());
      return this.cursorOver(conn, guard, result, opts.limit);
    } catch (e) {
      guard.dispose();
      this.release(conn);
      throw e;
    }
  }

  /** Runs a query to completion and returns every row (small results: statistics, CLI tables). */
  async all(sql: string, opts: CursorOptions = {}): Promise<{ columns: string[]; rows: unknown[][]; truncated: boolean }> {
    const cur = await this.cursor(sql, opts);
    const rows: unknown[][] = [];
    for await (const batch of cur) for (const r of batch) rows.push(r);
    return { columns: [...cur.columns], rows, truncated: cur.truncated };
  }

  /**
   * Writes the result of a read-only query to this sandbox's export file with DuckDB's Parquet writer and returns the
   * number of rows (Parquet cannot be produced row by row from JS: DuckDB writes it, row group by row group). The user's SQL is checked to be one SELECT on its own before it is
   * wrapped in COPY, so it cannot change the target; the file system allows this one file anyway.
   */
  async copyToParquet(sql: string, opts: Omit<CursorOptions, 'limit'> = {}): Promise<number> {
    if (!this.exportFile) throw new DwError('DW_INTERNAL', 'this lake sandbox was opened without an export file');
    const conn = await this.acquire();
    const guard = interruptGuard(conn, opts, (e) => this.failure(e));
    try {
      await this.prepare(conn, sql);
      // A trailing `;` is fine on its own but not inside COPY ( ... ); the newline ends a trailing `--` comment.
      const body = sql.replace(/[\s;]+$/, '');
      const copy = `COPY (\n${body}\n) TO ${sqlString(this.exportFile)} (FORMAT parquet, COMPRESSION zstd)`;
      const check = await conn.extractStatements(copy).catch((e: unknown) => {
        throw this.failure(e);
      });
      if (check.count !== 1 || (await check.prepare(0)).statementType !== StatementType.COPY) throw new QueryError('the query cannot be exported (it does not fit in COPY (...) TO)');
      const reader = await guard.wrap(() => conn.runAndReadAll(copy));
      const count = reader.getRowsJS()[0]?.[0];
      return typeof count === 'bigint' ? Number(count) : Number(count ?? 0);
    } finally {
      guard.dispose();
      this.release(conn);
    }
  }

  /**
   * Closes once the queries running on it are done (a refreshed snapshot retires the old one without cutting the
   * queries still reading it short).
   */
  retire(): void {
    this.retired = true;
    this.maybeClose();
  }

  /** Interrupts nothing: waits for no one. Use retire() when queries may still be running. */
  close(): void {
    this.retired = true;
    this.active = 0;
    this.maybeClose();
  }

  private async acquire(): Promise<DuckDBConnection> {
    if (this.retired) throw new DwError('DW_INTERNAL', 'lake sandbox already closed');
    this.active += 1;
    try {
      return await this.instance.connect();
    } catch (e) {
      this.active -= 1;
      throw e;
    }
  }

  private release(conn: DuckDBConnection): void {
    conn.closeSync();
    this.active -= 1;
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.closed || !this.retired || this.active > 0) return;
    this.closed = true;
    this.setup.closeSync();
    this.instance.closeSync();
  }

  /** A QueryError from DuckDB's error, without this sandbox's file paths in its message. */
  private failure(e: unknown): QueryError {
    return new QueryError(scrubPaths((e as Error).message, this.secretPaths()), e);
  }

  private secretPaths(): string[] {
    return [...this.files.reports, ...this.files.alerts, ...(this.exportFile ? [this.exportFile] : [])];
  }

  /**
   * Parses, binds and checks `sql`: exactly one read-only statement, reading only the lake's views and nothing that
   * shows the server's paths or settings (sandbox-guard.ts).
   */
  private async prepare(conn: DuckDBConnection, sql: string) {
    // DuckDB reads SQL as a C string: it would stop at a NUL and run only the text before it, while the caller (and
    // the audit log) hold the whole text as what ran.
    const nul = sql.indexOf('\0');
    if (nul >= 0) throw new QueryError(`the SQL contains a NUL character (U+0000) at position ${nul}: DuckDB would run only the text before it, so it is refused`);
    let extracted;
    try {
      extracted = await conn.extractStatements(sql);
    } catch (e) {
      // Parse errors come as "Failed to extract statements: <DuckDB message>"; an input without any statement (empty,
      // only comments or semicolons) has no DuckDB message and the binding throws a bare "Error in native callback".
      const message = (e as Error).message;
      throw new QueryError(message.startsWith('Failed to extract statements') ? message : `expected exactly one SQL statement, got none (${message})`, e);
    }
    if (extracted.count !== 1) throw new QueryError(`expected exactly one SQL statement, got ${extracted.count}`);
    const stmt = await extracted.prepare(0).catch((e: unknown) => {
      throw this.failure(e);
    });
    if (!READ_ONLY.has(stmt.statementType)) throw new QueryError('only read-only queries (SELECT) are allowed on the lake');
    const refusal = await this.refusal(conn, sql);
    if (refusal !== undefined) throw new QueryError(refusal);
    return stmt;
  }

  /** Why the guard refuses `sql` (one SELECT, as prepared), judged on DuckDB's parse tree of it; undefined if it may run. */
  private async refusal(conn: DuckDBConnection, sql: string): Promise<string | undefined> {
    const reader = await conn.runAndReadAll('SELECT json_serialize_sql(CAST($1 AS VARCHAR))', [sql]);
    const tree = JSON.parse(String(reader.getRowsJS()[0]?.[0] ?? 'null')) as { error?: boolean; statements?: unknown[] } | null;
    // Statements DuckDB prepares as a SELECT but cannot serialise are PRAGMAs it rewrites into one.
    if (!tree || tree.error || !Array.isArray(tree.statements)) return pragmaRefusal(pragmaName(sql));
    if (tree.statements.length !== 1) return `expected exactly one SQL statement, got ${tree.statements.length}`;
    return refusalOf(tree.statements as Parameters<typeof refusalOf>[0], VIEWS);
  }

  private cursorOver(conn: DuckDBConnection, guard: InterruptGuard, result: Awaited<ReturnType<DuckDBConnection['stream']>>, limit: number | undefined): QueryCursor {
    const columns = result.columnNames();
    const types = result.columnTypes();
    const isDate = types.map((t) => t.typeId === DuckDBTypeId.DATE);
    let rowCount = 0;
    let truncated = false;
    let iterated = false;
    let finished = false;
    /** A fetch is in flight: the connection may be closed only once it has returned. */
    let fetching = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      guard.dispose();
      this.release(conn);
    };
    const max = limit ?? Number.POSITIVE_INFINITY;
    const fetchChunk = async (): Promise<Awaited<ReturnType<typeof result.fetchChunk>>> => {
      fetching = true;
      try {
        const chunk = await guard.wrap(() => result.fetchChunk());
        // An error while a streamed result is read (a failed cast at row 50,000...) ends it exactly like its last row:
        // the binding returns no chunk and drops DuckDB's message. Only the result's state tells them apart.
        if ((!chunk || chunk.rowCount === 0) && result.returnType === ResultReturnType.INVALID) {
          throw new QueryError(`the query failed after ${rowCount} rows were read; DuckDB does not report the cause of an error in a streamed result (a Parquet export of the same query shows it)`);
        }
        return chunk;
      } finally {
        fetching = false;
      }
    };
    async function* rows(): AsyncGenerator<unknown[][]> {
      try {
        for (;;) {
          const chunk = await fetchChunk();
          if (!chunk || chunk.rowCount === 0) return;
          let batch = chunk.convertRows(JSDuckDBValueConverter).map((row) => row.map((v, i) => jsonFriendly(v, isDate[i])));
          if (rowCount + batch.length > max) {
            batch = batch.slice(0, max - rowCount);
            truncated = true;
          }
          rowCount += batch.length;
          if (batch.length > 0) yield batch;
          if (truncated) return;
          // A result of exactly `limit` rows is not truncated: look one chunk ahead only when the limit is reached.
          if (rowCount === max) {
            const next = await fetchChunk();
            truncated = next !== null && next.rowCount > 0;
            return;
          }
        }
      } finally {
        finish();
      }
    }
    return {
      columns,
      columnTypes: types.map((t) => t.toString()),
      get rowCount() {
        return rowCount;
      },
      get truncated() {
        return truncated;
      },
      cancel: () => {
        guard.cancel();
        // Between two reads (or before the first) nothing else would release the connection if the reader never
        // comes back (an HTTP client gone before its answer started); a fetch in flight releases it when it fails.
        if (!fetching) finish();
      },
      [Symbol.asyncIterator]() {
        if (iterated) throw new DwError('DW_INTERNAL', 'a query cursor can be iterated once');
        iterated = true;
        return rows();
      },
    };
  }
}
