import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { AuditRecord, AuditRow } from './audit.ts';

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

export type { AuditRow };

/** A row of a lake file: the entry and the log it belongs to. */
export type AuditLakeRow = AuditRow & { log_id: string | null };

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
    // No external file cache: each file is read once. With it on, verification on Ceph RGW failed in 2-3 runs of 8
    // with "ZSTD Decompression failure" on intact downloads (md5 = ETag) that followed one another at one local path;
    // with it off, in none of 7. DuckDB's mechanism is not confirmed (its cache validation should prevent this), so
    // the paths are unique now too.
    const instance = await DuckDBInstance.create(':memory:', { threads: '1', enable_external_file_cache: 'false' });
    return new AuditDuck(instance, await instance.connect());
  }

  /**
   * Writes the rows (already in seq order) to `file` as zstd Parquet. `work` is a scratch file name for the NDJSON
   * input (removed afterwards). Pages of rows may be given one after another through `pages` for large exports.
   * `logId` adds a last column `log_id` with that value (the lake copy: one lake holds the logs of several hosts, and
   * a reader of `audit/**` tells their entries apart by it; it is not hashed, the file name carries it too).
   */
  async writeParquet(pages: AsyncIterable<readonly AuditRow[]> | Iterable<readonly AuditRow[]>, file: string, work: string, compressionLevel = 3, opts: { logId?: string } = {}): Promise<number> {
    const fh = await fsp.open(work, 'w');
    let rows = 0;
    try {
      for await (const page of pages) {
        if (page.length === 0) continue;
        // Only the audit columns: rows read back from a lake file carry `log_id` too.
        await fh.write(`${page.map((r) => JSON.stringify(r, AUDIT_COLUMNS as unknown as string[])).join('\n')}\n`);
        rows += page.length;
      }
    } finally {
      await fh.close();
    }
    try {
      const logCol = opts.logId === undefined ? '' : `, ${sqlString(opts.logId)} AS log_id`;
      // An empty input still gives a file with the schema (an export of nothing is a valid, empty table).
      const source = rows === 0
        ? `SELECT ${AUDIT_COLUMNS.map((c) => `NULL::${c === 'seq' ? 'BIGINT' : 'VARCHAR'} AS "${c}"`).join(', ')}${logCol} LIMIT 0`
        : `SELECT ${SELECT_LIST}${logCol} FROM read_json(${sqlString(work)}, format = 'newline_delimited', columns = ${JSON_COLUMNS}) ORDER BY seq`;
      await this.conn.run(`COPY (${source}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${compressionLevel}, PARQUET_VERSION v2)`);
    } finally {
      await fsp.rm(work, { force: true });
    }
    return rows;
  }

  /**
   * The rows of local Parquet files, in seq order, with their `log_id` (null in a file without that column). Hive
   * partitioning is off: the `tenant` compared with the hash is the one stored in the file, not the one spelled in
   * its directory name. By name, across files: a file missing a column reads it as null rather than failing the
   * whole read, and the hash check then reports the entry.
   */
  async readParquet(files: readonly string[]): Promise<AuditLakeRow[]> {
    if (files.length === 0) return [];
    const list = `[${files.map((f) => sqlString(path.resolve(f))).join(', ')}]`;
    const reader = await this.conn.runAndReadAll(`SELECT * FROM read_parquet(${list}, hive_partitioning = false, union_by_name = true) ORDER BY seq`);
    const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
    return (reader.getRowObjectsJS() as Record<string, unknown>[]).map((r) => ({
      seq: Number(r.seq), at: String(r.at), actor: String(r.actor), tenant: String(r.tenant), action: String(r.action),
      target: text(r.target), details: String(r.details), ip: text(r.ip), prev_hash: String(r.prev_hash), hash: String(r.hash),
      log_id: text(r.log_id),
    }));
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
