import { StatementType, type DuckDBConnection, type DuckDBInstance } from '@duckdb/node-api';
import { DwError } from '../errors/index.ts';
import { openDuck, sqlString, sqlStringList } from './duck.ts';
import { checkTenant, type LakeTable } from './layout.ts';
import { HIVE_TYPES, LATEST_ALERTS_SQL, LATEST_INCIDENTS_SQL, SCHEMAS, SIGHTINGS_SQL, WORDS_SQL } from './schema.ts';
import { openCursor, type QueryCursor } from './sandbox-cursor.ts';
import { QueryError, QueryTooLargeError } from './sandbox-errors.ts';
import { pragmaName, pragmaRefusal, refusalOf, scrubPaths } from './sandbox-guard.ts';
import { interruptGuard } from './sandbox-interrupt.ts';

export { QueryCancelledError, QueryError, QueryTimeoutError, QueryTooLargeError } from './sandbox-errors.ts';
export { jsonFriendly, type QueryCursor } from './sandbox-cursor.ts';

/** The local Parquet files each table's views read: the whole input of the analysis engine. */
export type LakeFiles = Record<LakeTable, readonly string[]>;

/** Every file of a snapshot, whatever its table. */
export function allLakeFiles(files: LakeFiles): string[] {
  return [...files.reports, ...files.alerts, ...files.incidents];
}

export interface SandboxOptions {
  /**
   * The tenant whose rows the views show. The files given are that tenant's already (the sandbox can read nothing
   * else); the views also filter on the `tenant` column, so a file put in the wrong directory cannot leak either.
   */
  tenant?: string | undefined;
  /**
   * DuckDB `memory_limit` of this engine (e.g. `1GB`), shared by the queries running on it; default DuckDB's (80% of
   * RAM). There is no spill directory (see below): a query needing more fails with DW_QUERY_TOO_LARGE.
   */
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
  /**
   * Stop the query with DW_QUERY_TOO_LARGE once the rows read hold more than this many bytes (about their size as
   * JSON). Default: no limit.
   */
  maxBytes?: number | undefined;
  /** Interrupt the query (and the reading of its rows) after this many ms. Default: no limit. */
  timeoutMs?: number | undefined;
  /** Aborting interrupts the query. */
  signal?: AbortSignal | undefined;
  /** Called once when the query's connection is released (its end, an error, a cancel): for the caller's accounting. */
  onRelease?: (() => void) | undefined;
}

/** EXPLAIN is left out on purpose: EXPLAIN ANALYZE executes its statement, whatever it is. */
const READ_ONLY = new Set<number>([StatementType.SELECT]);

/** Query connections an engine sets up before its configuration is locked (LakeSandbox.open). */
const POOLED_CONNECTIONS = 8;

/** The views a query reads the lake through: the only tables it may name (sandbox-guard.ts). */
const VIEWS: ReadonlySet<string> = new Set(['reports', 'sightings', 'words', 'alert_events', 'alerts', 'incident_events', 'incidents']);

/** A relation with the stored columns of a table plus date/hour, over the given files (or empty with the same columns). */
export function sourceOf(table: LakeTable, files: readonly string[]): string {
  const cols = SCHEMAS[table].storedColumns.map(([name, type]) => `CAST(NULL AS ${type}) AS "${name}"`);
  const empty = `SELECT ${cols.join(', ')}, CAST(NULL AS DATE) AS date, CAST(NULL AS INTEGER) AS hour WHERE false`;
  if (files.length === 0) return `(${empty})`;
  if (!SCHEMAS[table].addedColumns?.length) return `read_parquet(${sqlStringList(files)}, hive_partitioning = true, hive_types = ${HIVE_TYPES})`;
  // Files from before a column was added lack it: matched by name (else DuckDB refuses a list mixing both), and the
  // empty relation in front gives every column, typed, even when no file has it yet.
  return `(${empty} UNION ALL BY NAME SELECT * FROM read_parquet(${sqlStringList(files)}, hive_partitioning = true, hive_types = ${HIVE_TYPES}, union_by_name = true))`;
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
  /** Callers' callbacks of the connections in use (CursorOptions.onRelease). */
  private readonly onRelease = new Map<DuckDBConnection, () => void>();
  private retired = false;
  private closed = false;

  /** The query connections set up before the lock (see open()): `idle` are free, the others in use or being reset. */
  private readonly pooled: ReadonlySet<DuckDBConnection>;
  private readonly idle: DuckDBConnection[];
  /** Pooled connections being reset after a query (release()): the engine must not close under them. */
  private resetting = 0;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly setup: DuckDBConnection,
    pool: DuckDBConnection[],
    readonly files: LakeFiles,
    private readonly exportFile: string | undefined,
    private readonly memoryLimit: string | undefined,
  ) {
    this.pooled = new Set(pool);
    this.idle = [...pool];
  }

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
    const pool: DuckDBConnection[] = [];
    try {
      const only = opts.tenant !== undefined ? ` WHERE tenant = ${sqlString(checkTenant(opts.tenant))}` : '';
      await conn.run(`CREATE VIEW reports AS SELECT ${SCHEMAS.reports.viewProjection} FROM ${sourceOf('reports', files.reports)}${only}`);
      await conn.run(`CREATE VIEW alert_events AS SELECT ${SCHEMAS.alerts.viewProjection} FROM ${sourceOf('alerts', files.alerts)}${only}`);
      await conn.run(`CREATE VIEW alerts AS ${LATEST_ALERTS_SQL}`);
      await conn.run(`CREATE VIEW incident_events AS SELECT ${SCHEMAS.incidents.viewProjection} FROM ${sourceOf('incidents', files.incidents)}${only}`);
      await conn.run(`CREATE VIEW incidents AS ${LATEST_INCIDENTS_SQL}`);
      await conn.run(`CREATE VIEW sightings AS ${SIGHTINGS_SQL}`);
      await conn.run(`CREATE VIEW words AS ${WORDS_SQL}`);
      // VIEWS names exactly these: a view added above and not there could not be read.
      const allowed = [...allLakeFiles(files), ...(opts.exportFile ? [opts.exportFile] : [])];
      await conn.run(`SET allowed_paths = ${allowed.length > 0 ? sqlStringList(allowed) : `[${sqlString('/nonexistent')}]`}`);
      // Turning external access off adds the spill directory (default `.tmp` under the process's working directory) to
      // allowed_directories, which would let queries read and glob any file placed there: no spill directory at all.
      await conn.run(`SET temp_directory = ''`);
      await conn.run(`SET max_temp_directory_size = '0KiB'`);
      if (opts.memoryLimit) await conn.run(`SET memory_limit = ${sqlString(opts.memoryLimit)}`);
      if (opts.threads) await conn.run(`SET threads = ${Math.max(1, Math.floor(opts.threads))}`);
      await conn.run('SET enable_external_access = false');
      // A streamed result runs ahead of its reader until this much is buffered, counted without the strings' contents
      // (16 bytes a value): at the default (976 KiB) `SELECT repeat('x', 1000000) FROM range(10000)` materialised all
      // 10 GB before its first row was read; 20 kB values over 100,000 rows, 1.3 GB. The least buffer keeps DuckDB
      // about one chunk ahead of the reader (43 MB there). The setting is per connection and cannot be set once the
      // configuration is locked: the query connections are opened and set now, and reused (see release()).
      for (let i = 0; i < POOLED_CONNECTIONS; i++) {
        const c = await duck.instance.connect();
        pool.push(c);
        await c.run(`SET streaming_buffer_size = '1KiB'`);
      }
      await conn.run('SET lock_configuration = true');
    } catch (e) {
      for (const c of pool) c.closeSync();
      duck.close();
      throw e instanceof DwError ? e : new QueryError(scrubPaths(`cannot open the lake for queries: ${(e as Error).message}`, allLakeFiles(files)), e);
    }
    return new LakeSandbox(duck.instance, conn, pool, files, opts.exportFile, opts.memoryLimit);
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

  /**
   * Starts a query and reads its first rows (sandbox-cursor.ts); iterate the cursor for them. The connection closes
   * when iteration ends, breaks or throws.
   */
  async cursor(sql: string, opts: CursorOptions = {}): Promise<QueryCursor> {
    const conn = await this.acquire(opts.onRelease);
    const guard = interruptGuard(conn, opts, (e) => this.failure(e));
    let result;
    try {
      // Wrapped too: an interrupt (time limit, cancel) may come while DuckDB parses or binds.
      const stmt = await guard.wrap(() => this.prepare(conn, sql));
      result = await guard.wrap(() => stmt.stream());
    } catch (e) {
      guard.dispose();
      this.release(conn);
      throw e;
    }
    const limits = { limit: opts.limit ?? Number.POSITIVE_INFINITY, maxBytes: opts.maxBytes ?? Number.POSITIVE_INFINITY };
    return openCursor(result, guard, limits, () => this.release(conn));
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
  async copyToParquet(sql: string, opts: Omit<CursorOptions, 'limit' | 'maxBytes'> = {}): Promise<number> {
    if (!this.exportFile) throw new DwError('DW_INTERNAL', 'this lake sandbox was opened without an export file');
    const conn = await this.acquire(opts.onRelease);
    const guard = interruptGuard(conn, opts, (e) => this.failure(e));
    try {
      await guard.wrap(() => this.prepare(conn, sql));
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
    const pending = [...this.onRelease.values()];
    this.onRelease.clear();
    this.maybeClose();
    for (const done of pending) done();
  }

  /** A connection of its own for one query; `onRelease` is called once when it is released (or could not be opened). */
  private async acquire(onRelease?: () => void): Promise<DuckDBConnection> {
    if (this.retired) {
      onRelease?.();
      throw new DwError('DW_INTERNAL', 'lake sandbox already closed');
    }
    this.active += 1;
    try {
      // Beyond the pool (more queries at once on one engine than the analysis service lets a tenant run), a fresh
      // connection with DuckDB's default streaming buffer.
      const conn = this.idle.pop() ?? await this.instance.connect();
      if (onRelease) this.onRelease.set(conn, onRelease);
      return conn;
    } catch (e) {
      this.active -= 1;
      onRelease?.();
      throw e;
    }
  }

  private release(conn: DuckDBConnection): void {
    this.active -= 1;
    const done = this.onRelease.get(conn);
    this.onRelease.delete(conn);
    if (this.pooled.has(conn) && !this.retired) {
      // A query stopped early (row or size limit, cancel, error) leaves its result, with the rows DuckDB buffered, on
      // the connection: the next statement on it drops them, so an idle connection holds nothing.
      this.resetting += 1;
      const back = (): void => {
        this.resetting -= 1;
        if (this.retired) conn.closeSync();
        else this.idle.push(conn);
        this.maybeClose();
      };
      conn.run('SELECT NULL').then(back, back);
    } else {
      conn.closeSync();
    }
    this.maybeClose();
    done?.();
  }

  private maybeClose(): void {
    if (this.closed || !this.retired || this.active > 0 || this.resetting > 0) return;
    this.closed = true;
    for (const c of this.idle) c.closeSync();
    this.idle.length = 0;
    this.setup.closeSync();
    this.instance.closeSync();
  }

  /** A QueryError from DuckDB's error, without this sandbox's file paths in its message. */
  private failure(e: unknown): DwError {
    const message = (e as Error).message;
    // DuckDB's advice (a persistent database, a temp directory) does not apply here: there is no spill on purpose.
    if (/Out of Memory Error/.test(message)) {
      // Also what DuckDB answers when the process's own limit (analysis.engineMemoryBytes, RLIMIT_DATA) refuses it memory.
      return new QueryTooLargeError(`the query needs more memory than its engine may use (memory_limit ${this.memoryLimit ?? 'DuckDB\'s default'}, analysis.memoryLimit; or its process's limit, analysis.engineMemoryBytes): narrow it (time range, columns, shorter values, GROUP BY keys) or raise the limit`);
    }
    return new QueryError(scrubPaths(message, this.secretPaths()), e);
  }

  private secretPaths(): string[] {
    return [...allLakeFiles(this.files), ...(this.exportFile ? [this.exportFile] : [])];
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
}
