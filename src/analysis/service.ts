import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config/index.ts';
import { LakeSandbox, QueryError, snapshotFiles, type CursorOptions, type LakeFileSource, type LakeFiles, type QueryCursor } from '../lake/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { encodeRows, type TextFormat } from './encode.ts';
import type { SavedQueryStore } from './saved-queries.ts';
import { getStat, listStats, statSql, type StatParams, type StatOption } from './stats.ts';

export type ExportFormat = 'csv' | 'json' | 'ndjson' | 'parquet';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'json', 'ndjson', 'parquet'];

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
}

export interface RunOptions {
  /** Rows at most; capped at analysis.maxRows (0 or absent = analysis.maxRows). */
  limit?: number | undefined;
  /** Capped at analysis.timeoutSeconds. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
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
}

/**
 * The analysis layer as the API and CLI use it: ad-hoc SQL, ready-made statistics, exports and saved queries over a
 * snapshot of the lake that is re-listed at most every `analysis.refreshSeconds`. Answers are cursors (rows stream);
 * limits (rows, time) come from the configuration and can only be lowered by a request.
 */
export class AnalysisService {
  readonly saved: SavedQueryStore | undefined;
  private readonly source: LakeFileSource;
  private readonly config: Config['analysis'];
  private readonly logger: Logger;
  private current: { sandbox: LakeSandbox; builtAt: number } | undefined;
  private building: Promise<LakeSandbox> | undefined;
  private closed = false;
  /** Every engine opened and not yet shut: snapshots (current and retired ones still read) and exporters. */
  private readonly engines = new Set<LakeSandbox>();

  constructor(opts: AnalysisServiceOptions) {
    this.source = opts.source;
    this.config = opts.config;
    this.saved = opts.saved;
    this.logger = opts.logger ?? silentLogger;
  }

  get limits(): { maxRows: number; timeoutMs: number; exportTimeoutMs: number } {
    return { maxRows: this.config.maxRows, timeoutMs: this.config.timeoutSeconds * 1000, exportTimeoutMs: this.config.exportTimeoutSeconds * 1000 };
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

  listStats(): StatSummary[] {
    return listStats().map(({ name, description, options }) => ({ name, description, options }));
  }

  /** Checks that `sql` is one read-only query valid on the lake's views (parse and bind), without running it. */
  async validate(sql: string): Promise<void> {
    await (await this.sandbox()).validate(sql);
  }

  /** Runs ad-hoc SQL; iterate the cursor for the rows. */
  async query(sql: string, opts: RunOptions = {}): Promise<QueryCursor> {
    return this.open(sql, this.bounded(opts));
  }

  /** Runs a ready-made statistic (parameters are validated before the lake is touched). */
  async stat(name: string, params: StatParams, opts: RunOptions = {}): Promise<QueryCursor> {
    getStat(name);
    return this.open(statSql(name, params), this.bounded(opts));
  }

  /** A cursor over the whole result (no row limit), under the export time limit: for downloads. */
  async exportCursor(sql: string, opts: ExportOptions = {}): Promise<QueryCursor> {
    const timeoutMs = opts.timeoutMs ?? this.limits.exportTimeoutMs;
    return this.open(sql, { ...(timeoutMs > 0 ? { timeoutMs } : {}), signal: opts.signal });
  }

  /** SQL of a statistic with its parameters filled in (for exports of a statistic). */
  statSql(name: string, params: StatParams): string {
    return statSql(name, params);
  }

  /**
   * Writes the whole result of `sql` (no row limit) to `target`: CSV, JSON (one array), JSON lines, or Parquet
   * (zstd, written by DuckDB). The file appears complete or not at all: the rows go to a temporary sibling that is
   * renamed over `target` at the end. Returns the row count and size.
   */
  async exportToFile(sql: string, target: string, format: ExportFormat, opts: ExportOptions = {}): Promise<{ rows: number; bytes: number }> {
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    const timeoutMs = opts.timeoutMs ?? this.limits.exportTimeoutMs;
    const run: CursorOptions = { ...(timeoutMs > 0 ? { timeoutMs } : {}), signal: opts.signal };
    let rows: number;
    try {
      if (format === 'parquet') {
        const snapshot = await this.sandbox();
        const exporter = await LakeSandbox.open(snapshot.files, { exportFile: tmp, memoryLimit: this.config.memoryLimit, threads: this.config.threads });
        this.engines.add(exporter);
        // DuckDB writes row group after row group: the growing file is the progress there is to show.
        const poll = opts.onProgress ? setInterval(() => void fsp.stat(tmp).then((s) => opts.onProgress!({ rows: undefined, bytes: s.size }), () => {}), 250) : undefined;
        try {
          rows = await exporter.copyToParquet(sql, run);
        } finally {
          if (poll) clearInterval(poll);
          exporter.close();
        }
      } else {
        const cursor = await this.open(sql, run);
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
    const building = this.building;
    this.current?.sandbox.retire();
    this.current = undefined;
    if (building) (await building.catch(() => undefined))?.retire();
  }

  private bounded(opts: RunOptions): CursorOptions {
    const { maxRows, timeoutMs } = this.limits;
    return {
      limit: opts.limit && opts.limit > 0 ? Math.min(opts.limit, maxRows) : maxRows,
      timeoutMs: opts.timeoutMs && opts.timeoutMs > 0 ? Math.min(opts.timeoutMs, timeoutMs) : timeoutMs,
      signal: opts.signal,
    };
  }

  /** Opens a cursor; a snapshot whose files compaction has deleted since is re-listed once and the query retried. */
  private async open(sql: string, opts: CursorOptions): Promise<QueryCursor> {
    const sandbox = await this.sandbox();
    try {
      return await sandbox.cursor(sql, opts);
    } catch (e) {
      if (!(e instanceof QueryError) || ![...sandbox.files.reports, ...sandbox.files.alerts].some((f) => !existsSync(f))) throw e;
      this.logger.info('lake files changed under a query; re-listing and retrying');
      return (await this.sandbox(true)).cursor(sql, opts);
    }
  }

  /** The current snapshot, rebuilt when older than analysis.refreshSeconds (one rebuild at a time). */
  private async sandbox(force = false): Promise<LakeSandbox> {
    if (this.closed) throw new QueryError('the analysis service is closed');
    const fresh = this.current && !force && performance.now() - this.current.builtAt < this.config.refreshSeconds * 1000;
    if (fresh) return this.current!.sandbox;
    this.building ??= (async () => {
      try {
        const builtAt = performance.now();
        const files = await snapshotFiles(this.source);
        // Listing is cheap (ms); opening a sandbox binds the views over every file (tens of ms): reuse an unchanged one.
        if (this.current && !force && sameFiles(this.current.sandbox.files, files)) {
          this.current.builtAt = builtAt;
          return this.current.sandbox;
        }
        const sandbox = await LakeSandbox.open(files, { memoryLimit: this.config.memoryLimit, threads: this.config.threads });
        this.engines.add(sandbox);
        if (this.closed) {
          sandbox.retire();
          throw new QueryError('the analysis service is closed');
        }
        this.current?.sandbox.retire();
        this.current = { sandbox, builtAt };
        return sandbox;
      } finally {
        this.building = undefined;
      }
    })();
    return this.building;
  }
}

function sameFiles(a: LakeFiles, b: LakeFiles): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((f, i) => f === y[i]);
  return same(a.reports, b.reports) && same(a.alerts, b.alerts);
}

export type { TextFormat };
