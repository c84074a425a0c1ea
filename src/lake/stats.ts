import { readCheckpoints } from './checkpoints.ts';
import { LAKE_TABLES, type LakeTable } from './layout.ts';
import { committedFiles, listHourDirs, listTenants, splitLive, type TimeRange } from './live-files.ts';
import { readParquetFooter } from './parquet-footer.ts';
import { mapLimit, withLakeStore, type LakeLocationOrStore } from './store.ts';

/** Footers read at once (two small range reads each on S3). */
const FOOTER_CONCURRENCY = 16;

export interface TableStats {
  table: LakeTable;
  tenant: string;
  /** Hour partitions holding live files. */
  partitions: number;
  /** Live files (what readers read). */
  files: number;
  rows: number;
  /** Size of the live files. */
  bytes: number;
  /** Size of their column data before compression (after encoding): `bytes` would be this without zstd. */
  uncompressedBytes: number;
  /** uncompressedBytes / compressed column bytes. */
  compressionRatio: number;
  bytesPerRow: number;
  /** First and last hour partitions (`YYYY-MM-DDTHH`), if any. */
  oldest: string | undefined;
  newest: string | undefined;
  /** Objects readers skip: merged-away inputs awaiting their sweep, batches being written. */
  hiddenFiles: number;
  hiddenBytes: number;
}

export interface LakeStats {
  location: string;
  tables: TableStats[];
}

/**
 * Partitions, files, rows, bytes and compression of each table and tenant (one entry per pair, tenants sorted), from
 * listings and Parquet footers only.
 */
export async function lakeStats(lake: LakeLocationOrStore, opts: { tables?: readonly LakeTable[]; range?: TimeRange; tenant?: string } = {}): Promise<LakeStats> {
  return withLakeStore(lake, async (store) => {
    const tables: TableStats[] = [];
    for (const table of opts.tables ?? LAKE_TABLES) {
      const checkpoints = await readCheckpoints(store, table);
      for (const tenant of opts.tenant !== undefined ? [opts.tenant] : await listTenants(store, table)) {
        const dirs = await listHourDirs(store, table, { tenant, range: opts.range });
        const s: TableStats = {
          table, tenant, partitions: 0, files: 0, rows: 0, bytes: 0, uncompressedBytes: 0, compressionRatio: 0, bytesPerRow: 0,
          oldest: undefined, newest: undefined, hiddenFiles: 0, hiddenBytes: 0,
        };
        const live = [];
        for (const d of dirs) {
          const files = splitLive(committedFiles(d.files, checkpoints)).live;
          s.hiddenFiles += d.files.length - files.length;
          s.hiddenBytes += d.files.reduce((n, f) => n + f.size, 0) - files.reduce((n, f) => n + f.size, 0);
          if (files.length === 0) continue;
          s.partitions++;
          const label = `${d.hour.date}T${d.hour.hour}`;
          s.oldest ??= label;
          s.newest = label;
          live.push(...files);
        }
        let compressed = 0;
        const footers = await mapLimit(live, FOOTER_CONCURRENCY, (f) => readParquetFooter(store, f.key, f.size));
        for (const [i, f] of live.entries()) {
          const footer = footers[i];
          if (!footer) continue; // deleted by a compaction since the listing
          s.files++;
          s.bytes += f.size;
          s.rows += footer.rows;
          s.uncompressedBytes += footer.uncompressedBytes;
          compressed += footer.compressedBytes;
        }
        s.compressionRatio = compressed > 0 ? s.uncompressedBytes / compressed : 0;
        s.bytesPerRow = s.rows > 0 ? s.bytes / s.rows : 0;
        tables.push(s);
      }
    }
    return { location: store.location, tables };
  });
}
