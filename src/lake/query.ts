import { existsSync } from 'node:fs';
import { DuckDBTypeId, StatementType } from '@duckdb/node-api';
import { DwError } from '../errors/index.ts';
import { openDuck, sqlString, sqlStringList, type Duck } from './duck.ts';
import { LocalLakeStore } from './fs-store.ts';
import { LAKE_TABLES, type LakeTable } from './layout.ts';
import { liveDataFiles, type TimeRange } from './live-files.ts';
import { HIVE_TYPES, LATEST_ALERTS_SQL, SCHEMAS, SIGHTINGS_SQL, WORDS_SQL } from './schema.ts';

export interface QueryResult {
  columns: string[];
  /** JSON-friendly values: numbers (BIGINT beyond 2^53 as strings), ISO strings for timestamps, plain arrays/objects. */
  rows: unknown[][];
}

export interface LakeQuery {
  /** Runs one read-only statement (SELECT, also DESCRIBE/SUMMARIZE) over the views reports, alerts, alert_events. */
  run(sql: string): Promise<QueryResult>;
  /** Re-lists the lake: the views are a snapshot of the files live when they were built. */
  refresh(): Promise<void>;
  /** Files each view reads. */
  files(): Record<LakeTable, string[]>;
  close(): Promise<void>;
}

export interface LakeQueryOptions {
  /** Prune to the hour directories of this range (the views still hold whole hours: filter on ts/at as well). */
  range?: TimeRange;
}

export class QueryError extends DwError {
  constructor(message: string, cause?: unknown) {
    super('DW_QUERY_FAILED', message, { status: 400, cause });
  }
}

/** EXPLAIN is left out on purpose: EXPLAIN ANALYZE executes its statement, whatever it is. */
const READ_ONLY = new Set<number>([StatementType.SELECT]);

/** A relation with the stored columns of a table plus date/hour, over the given files (or empty with the same columns). */
function sourceOf(table: LakeTable, files: readonly string[]): string {
  if (files.length > 0) return `read_parquet(${sqlStringList(files)}, hive_partitioning = true, hive_types = ${HIVE_TYPES})`;
  const cols = SCHEMAS[table].storedColumns.map(([name, type]) => `CAST(NULL AS ${type}) AS "${name}"`);
  return `(SELECT ${cols.join(', ')}, CAST(NULL AS DATE) AS date, CAST(NULL AS INTEGER) AS hour WHERE false)`;
}

/**
 * Opens an in-memory DuckDB with the views `reports`, `alert_events` and `alerts` (latest state per alert) over the
 * live files of the lake. Once the views exist, DuckDB's access to the file system is cut down to exactly those
 * files (`allowed_paths` + `enable_external_access = false`, then the configuration is locked), and run() accepts
 * read-only statements only: a query can read the lake, not other files, and cannot write anything.
 */
export async function openLakeQuery(lakeRoot: string, opts: LakeQueryOptions = {}): Promise<LakeQuery> {
  const store = new LocalLakeStore(lakeRoot);
  let state = await build();

  async function build(): Promise<{ duck: Duck; files: Record<LakeTable, string[]> }> {
    const files = {} as Record<LakeTable, string[]>;
    for (const t of LAKE_TABLES) files[t] = (await liveDataFiles(store, t, opts.range)).map((f) => store.localPath(f.key));
    const duck = await openDuck();
    try {
      await duck.conn.run(`CREATE VIEW reports AS SELECT ${SCHEMAS.reports.viewProjection} FROM ${sourceOf('reports', files.reports)}`);
      await duck.conn.run(`CREATE VIEW alert_events AS SELECT ${SCHEMAS.alerts.viewProjection} FROM ${sourceOf('alerts', files.alerts)}`);
      await duck.conn.run(`CREATE VIEW alerts AS ${LATEST_ALERTS_SQL}`);
      await duck.conn.run(`CREATE VIEW sightings AS ${SIGHTINGS_SQL}`);
      await duck.conn.run(`CREATE VIEW words AS ${WORDS_SQL}`);
      const all = [...files.reports, ...files.alerts];
      await duck.conn.run(`SET allowed_paths = ${all.length > 0 ? sqlStringList(all) : `[${sqlString('/nonexistent')}]`}`);
      // Turning external access off adds the spill directory (default `.tmp` under the process's working directory) to
      // allowed_directories, which would let queries read and glob any file placed there: no spill directory at all.
      await duck.conn.run(`SET temp_directory = ''`);
      await duck.conn.run('SET enable_external_access = false');
      await duck.conn.run('SET lock_configuration = true');
    } catch (e) {
      duck.close();
      throw e;
    }
    return { duck, files };
  }

  async function runOnce(sql: string): Promise<QueryResult> {
    const conn = state.duck.conn;
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
    const stmt = await extracted.prepare(0).catch((e: Error) => {
      throw new QueryError(e.message, e);
    });
    if (!READ_ONLY.has(stmt.statementType)) throw new QueryError('only read-only queries (SELECT) are allowed on the lake');
    const reader = await stmt.runAndReadAll().catch((e: Error) => {
      throw new QueryError(e.message, e);
    });
    const types = reader.columnTypes().map((t) => t.typeId);
    const rows = reader.getRowsJS().map((row) => row.map((v, i) => jsonFriendly(v, types[i] === DuckDBTypeId.DATE)));
    return { columns: reader.columnNames(), rows };
  }

  async function refresh(): Promise<void> {
    const next = await build();
    state.duck.close();
    state = next;
  }

  return {
    async run(sql) {
      try {
        return await runOnce(sql);
      } catch (e) {
        // Compaction deletes the files it replaced; a snapshot older than that re-lists once and retries.
        const all = [...state.files.reports, ...state.files.alerts];
        if (e instanceof QueryError && all.some((f) => !existsSync(f))) {
          await refresh();
          return runOnce(sql);
        }
        throw e;
      }
    },
    refresh,
    files: () => ({ reports: [...state.files.reports], alerts: [...state.files.alerts] }),
    async close() {
      state.duck.close();
    },
  };
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
