import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { AuditRecord } from './audit.ts';

/**
 * Audit entries as Parquet, for the lake copy and `dronewatch audit export`. Every hashed field is kept as the exact
 * text that was hashed (`at` as its ISO string, `details` as its JSON text) so that the chain can be recomputed from
 * the files alone, by this code or by any engine. Written by DuckDB with the lake's Parquet options (zstd, v2 pages):
 * entries go through a local NDJSON file, as the lake writer does with reports.
 */

/** Columns of an audit Parquet file, in order. */
export const AUDIT_COLUMNS = ['seq', 'at', 'actor', 'tenant', 'action', 'target', 'details', 'ip', 'prev_hash', 'hash'] as const;

const JSON_COLUMNS = `{${AUDIT_COLUMNS.map((c) => `"${c}": '${c === 'seq' ? 'BIGINT' : 'VARCHAR'}'`).join(', ')}}`;
/** Quoted: `at` is a DuckDB keyword. */
const SELECT_LIST = AUDIT_COLUMNS.map((c) => `"${c}"`).join(', ');

/** An entry as a row of the files: snake_case, `details` as the hashed JSON text. */
export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  tenant: string;
  action: string;
  target: string | null;
  details: string;
  ip: string | null;
  prev_hash: string;
  hash: string;
}

export function auditRow(r: AuditRecord): AuditRow {
  return { seq: r.seq, at: r.at, actor: r.actor, tenant: r.tenant, action: r.action, target: r.target, details: r.detailsJson, ip: r.ip, prev_hash: r.prevHash, hash: r.hash };
}

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A private in-memory DuckDB: single-threaded, these files are small. */
export class AuditDuck {
  private constructor(private readonly instance: DuckDBInstance, private readonly conn: DuckDBConnection) {}

  static async open(): Promise<AuditDuck> {
    // No external file cache: each file is read once, and verification reads downloads that follow one another at
    // one path. With the cache on, DuckDB 1.5 read a batch's download with cached pages of the previous batch's file
    // at that path ("ZSTD Decompression failure" on intact files, one CI run in four on Ceph RGW).
    const instance = await DuckDBInstance.create(':memory:', { threads: '1', enable_external_file_cache: 'false' });
    return new AuditDuck(instance, await instance.connect());
  }

  /**
   * Writes the rows (already in seq order) to `file` as zstd Parquet. `work` is a scratch file name for the NDJSON
   * input (removed afterwards). Pages of rows may be given one after another through `pages` for large exports.
   */
  async writeParquet(pages: AsyncIterable<readonly AuditRow[]> | Iterable<readonly AuditRow[]>, file: string, work: string, compressionLevel = 3): Promise<number> {
    const fh = await fsp.open(work, 'w');
    let rows = 0;
    try {
      for await (const page of pages) {
        if (page.length === 0) continue;
        await fh.write(`${page.map((r) => JSON.stringify(r)).join('\n')}\n`);
        rows += page.length;
      }
    } finally {
      await fh.close();
    }
    try {
      // An empty input still gives a file with the schema (an export of nothing is a valid, empty table).
      const source = rows === 0
        ? `SELECT ${AUDIT_COLUMNS.map((c) => `NULL::${c === 'seq' ? 'BIGINT' : 'VARCHAR'} AS "${c}"`).join(', ')} LIMIT 0`
        : `SELECT ${SELECT_LIST} FROM read_json(${sqlString(work)}, format = 'newline_delimited', columns = ${JSON_COLUMNS}) ORDER BY seq`;
      await this.conn.run(`COPY (${source}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${compressionLevel}, PARQUET_VERSION v2)`);
    } finally {
      await fsp.rm(work, { force: true });
    }
    return rows;
  }

  /**
   * The rows of local Parquet files, in seq order. Hive partitioning is off: the `tenant` compared with the hash is
   * the one stored in the file, not the one spelled in its directory name.
   */
  async readParquet(files: readonly string[]): Promise<AuditRow[]> {
    if (files.length === 0) return [];
    const list = `[${files.map((f) => sqlString(path.resolve(f))).join(', ')}]`;
    const reader = await this.conn.runAndReadAll(`SELECT ${SELECT_LIST} FROM read_parquet(${list}, hive_partitioning = false) ORDER BY seq`);
    return (reader.getRowObjectsJS() as Record<string, unknown>[]).map((r) => ({
      seq: Number(r.seq), at: String(r.at), actor: String(r.actor), tenant: String(r.tenant), action: String(r.action),
      target: r.target === null ? null : String(r.target), details: String(r.details), ip: r.ip === null ? null : String(r.ip),
      prev_hash: String(r.prev_hash), hash: String(r.hash),
    }));
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
