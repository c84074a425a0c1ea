import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** A private in-memory DuckDB with one connection. */
export interface Duck {
  instance: DuckDBInstance;
  conn: DuckDBConnection;
  close(): void;
}

export async function openDuck(options: Record<string, string> = {}): Promise<Duck> {
  const instance = await DuckDBInstance.create(':memory:', options);
  const conn = await instance.connect();
  return {
    instance,
    conn,
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A SQL list of string literals, e.g. for read_parquet([...]). */
export function sqlStringList(items: readonly string[]): string {
  return `[${items.map(sqlString).join(', ')}]`;
}

export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Runs a query and returns its rows as objects (DuckDB JS values: BIGINT as bigint). */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}

/** Parquet COPY options every lake file is written with (see docs/lake-format.md for why). */
export function parquetCopyOptions(compressionLevel: number): string {
  return `FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${compressionLevel}, PARQUET_VERSION v2`;
}
