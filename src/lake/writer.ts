import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../util/log.ts';
import {
  applyCommit, discardStaging, LakeWriteError, readCheckpoint, recoverStaging, stagingPrefix, writeCommitMarker,
  type CommitMarker, type RecoveryReport, type StagedFile,
} from './commit.ts';
import { openDuck, parquetCopyOptions, queryRows, sqlString, type Duck } from './duck.ts';
import { LocalLakeStore, type LakeStore } from './fs-store.ts';
import {
  dataFileName, hourDirKey, rangeTag, rejectedKey, stagingTableKey, type HourPartition, type LakeTable, type StreamRange,
} from './layout.ts';
import { SCHEMAS, type TableSchema } from './schema.ts';
import { PROBLEM_OF } from './validate.ts';

/** One stream record to archive: its offset and its value (the JSON the stream carries). */
export interface ArchiveRecord {
  offset: number;
  value: Uint8Array | string;
}

/**
 * How a batch spanning several hours is split into hour files: one filtered COPY per hour (default), or one COPY with
 * PARTITION_BY. bench/archive.ts measures no difference beyond noise; per-hour does not depend on how DuckDB names and
 * splits partitioned output. A batch within one hour is one plain COPY either way.
 */
export type SplitStrategy = 'per-hour' | 'partition-by';

export interface LakeWriterOptions {
  /** Default: the local disk under lakeRoot. */
  store?: LakeStore;
  /** zstd level of batch files. Default 3 (see docs/lake-format.md). */
  compressionLevel?: number;
  /** Default 'per-hour'. */
  strategy?: SplitStrategy;
  logger?: Logger;
}

/** A batch written to staging (step 1), not yet visible to readers. */
export interface StagedBatch {
  table: LakeTable;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  stagingKey: string;
  files: StagedFile[];
  /** Rows written to the table (records minus rejected). */
  rows: number;
  rejected: number;
}

interface RejectedRecord {
  offset: number;
  reason: string;
  value: string;
}

const NEWLINE = new Uint8Array([10]);
/** DuckDB errors caused by the content of the records (malformed JSON, a value of the wrong type or out of range). */
const DATA_ERROR = /^(Invalid Input Error|Conversion Error|Out of Range Error)/;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function bytesOf(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? encoder.encode(v) : v;
}

function textOf(v: Uint8Array | string): string {
  return typeof v === 'string' ? v : decoder.decode(v);
}

/**
 * Writes stream batches to the lake with the commit protocol of commit.ts. The values are JSON already, so a batch
 * becomes NDJSON by joining them with newlines, and DuckDB turns it into Parquet: read_json into a temporary table,
 * then one sorted COPY per hour partition. Operations are serialized: one DuckDB, one batch at a time.
 */
export class LakeWriter {
  readonly store: LakeStore;
  private readonly duck: Duck;
  private readonly level: number;
  private readonly strategy: SplitStrategy;
  private readonly logger: Logger;
  private queue: Promise<unknown> = Promise.resolve();
  private tableSeq = 0;
  private closed = false;

  private constructor(store: LakeStore, duck: Duck, opts: LakeWriterOptions) {
    this.store = store;
    this.duck = duck;
    this.level = opts.compressionLevel ?? 3;
    this.strategy = opts.strategy ?? 'per-hour';
    this.logger = opts.logger ?? silentLogger;
  }

  static async open(lakeRoot: string, opts: LakeWriterOptions = {}): Promise<LakeWriter> {
    const store = opts.store ?? new LocalLakeStore(lakeRoot);
    await store.ensureDir('');
    return new LakeWriter(store, await openDuck(), opts);
  }

  /** Step 1: the batch's Parquet files (and rejected records) in a fresh staging directory, fsynced. */
  stage(table: LakeTable, partition: number, records: readonly ArchiveRecord[]): Promise<StagedBatch> {
    return this.serialized(() => this.stageNow(table, partition, records));
  }

  /** Step 2: the COMMIT marker. From here on the batch is decided. */
  async writeMarker(batch: StagedBatch): Promise<void> {
    await writeCommitMarker(this.store, batch.stagingKey, markerOf(batch));
  }

  /** Steps 3-4: files renamed into place, checkpoint advanced. */
  async publish(batch: StagedBatch): Promise<void> {
    await applyCommit(this.store, batch.stagingKey, markerOf(batch));
  }

  /** Step 6 (or abandoning a batch before step 2). */
  async discard(batch: StagedBatch): Promise<void> {
    await discardStaging(this.store, batch.stagingKey);
  }

  /** Steps 1-4 and 6, for callers without a stream offset to commit in between (tests, benchmarks, imports). */
  async write(table: LakeTable, partition: number, records: readonly ArchiveRecord[]): Promise<StagedBatch> {
    const batch = await this.stage(table, partition, records);
    await this.writeMarker(batch);
    await this.publish(batch);
    await this.discard(batch);
    return batch;
  }

  /** Rolls interrupted batches of one partition (or all partitions) of a table forward or back. */
  recover(table: LakeTable, partition?: number): Promise<RecoveryReport> {
    const prefix = partition === undefined ? 'batch-' : stagingPrefix('batch', partition);
    return recoverStaging(this.store, table, prefix, this.logger);
  }

  /** Last offset of the partition durably in the lake, if any. */
  checkpoint(table: LakeTable, partition: number): Promise<number | undefined> {
    return readCheckpoint(this.store, table, partition);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    this.duck.close();
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new LakeWriteError('lake writer is closed'));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async stageNow(table: LakeTable, partition: number, records: readonly ArchiveRecord[]): Promise<StagedBatch> {
    if (records.length === 0) throw new RangeError('lake: cannot stage an empty batch');
    for (let i = 1; i < records.length; i++) {
      if (records[i]!.offset <= records[i - 1]!.offset) throw new RangeError('lake: batch offsets must increase');
    }
    const range: StreamRange = { partition, first: records[0]!.offset, last: records[records.length - 1]!.offset };
    const stagingKey = `${stagingTableKey(table)}/${stagingPrefix('batch', partition)}${rangeTag(range).slice(6)}-${randomBytes(3).toString('hex')}`;
    await this.store.ensureDir(stagingKey);
    const schema = SCHEMAS[table];
    const temp = `lake_batch_${++this.tableSeq}`;
    const files: StagedFile[] = [];
    try {
      const { rejected } = await this.load(schema, stagingKey, temp, records);
      const rows = records.length - rejected.length;
      if (rows > 0) files.push(...(await this.writeHours(schema, stagingKey, temp, range)));
      if (rejected.length > 0) {
        const lines = rejected.map((r) => JSON.stringify({ partition, offset: r.offset, reason: r.reason, value: r.value }));
        await this.store.putScratch(`${stagingKey}/rejected.ndjson`, `${lines.join('\n')}\n`);
        files.push({ src: 'rejected.ndjson', dst: rejectedKey(table, range), rows: rejected.length });
        this.logger.error({ table, partition, offsets: rejected.map((r) => r.offset).slice(0, 20), reason: rejected[0]!.reason, count: rejected.length },
          'lake: records the lake cannot store were set aside in _rejected/');
      }
      for (const f of files) await this.store.syncFile(`${stagingKey}/${f.src}`);
      for (const dir of new Set(files.map((f) => f.src.split('/').slice(0, -1).join('/')))) {
        await this.store.syncDir(dir ? `${stagingKey}/${dir}` : stagingKey);
      }
      return { table, partition, firstOffset: range.first, lastOffset: range.last, stagingKey, files, rows, rejected: rejected.length };
    } catch (e) {
      await discardStaging(this.store, stagingKey).catch(() => undefined);
      throw e instanceof LakeWriteError ? e : new LakeWriteError(`lake: writing ${table} partition ${partition} offsets ${range.first}-${range.last} failed: ${(e as Error).message}`, e);
    } finally {
      await this.duck.conn.run(`DROP TABLE IF EXISTS ${temp}`).catch(() => undefined);
    }
  }

  /**
   * Loads the batch into a temporary table of stored columns. Fast path: the values joined as NDJSON, read by
   * DuckDB. If DuckDB refuses them or finds rows it cannot store exactly, the slow path checks each record in
   * JavaScript, sets the bad ones aside and loads the others.
   */
  private async load(schema: TableSchema, stagingKey: string, temp: string, records: readonly ArchiveRecord[]): Promise<{ rejected: RejectedRecord[] }> {
    const inputKey = `${stagingKey}/input.ndjson`;
    const parts: Uint8Array[] = [];
    for (const r of records) parts.push(bytesOf(r.value), NEWLINE);
    await this.store.putScratch(inputKey, parts);
    try {
      if (await this.tryLoad(schema, inputKey, temp, records.length)) return { rejected: [] };
      const rejected: RejectedRecord[] = [];
      const good: string[] = [];
      const problem = PROBLEM_OF[schema.table];
      for (const r of records) {
        const text = textOf(r.value);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          rejected.push({ offset: r.offset, reason: `not JSON: ${(e as Error).message}`, value: text });
          continue;
        }
        const why = problem(parsed);
        if (why) rejected.push({ offset: r.offset, reason: why, value: text });
        else good.push(JSON.stringify(parsed)); // re-serialized: one line, whatever the producer's formatting
      }
      if (good.length === 0) return { rejected };
      await this.store.putScratch(inputKey, `${good.join('\n')}\n`);
      if (!(await this.tryLoad(schema, inputKey, temp, good.length))) {
        const failure = 'records that pass the shape check but not DuckDB';
        // Never block the partition on a record nobody can store: keep the whole batch verbatim instead.
        this.logger.error({ table: schema.table, failure }, 'lake: DuckDB refused records that passed the shape check; the batch goes to _rejected/');
        return { rejected: records.map((r) => ({ offset: r.offset, reason: `DuckDB: ${failure}`, value: textOf(r.value) })) };
      }
      return { rejected };
    } finally {
      await this.store.remove(inputKey);
    }
  }

  /** True when every line loaded and every row is storable; false (table dropped) otherwise. Throws on I/O errors. */
  private async tryLoad(schema: TableSchema, inputKey: string, temp: string, expected: number): Promise<boolean> {
    const conn = this.duck.conn;
    await conn.run(`DROP TABLE IF EXISTS ${temp}`);
    const source = `read_json(${sqlString(this.store.localPath(inputKey))}, format = 'newline_delimited', columns = ${schema.jsonColumns})`;
    try {
      await conn.run(`CREATE TEMP TABLE ${temp} AS SELECT ${schema.storedProjection},\n  coalesce(${schema.invalidRowPredicate}, false) AS _invalid FROM ${source}`);
    } catch (e) {
      // Only errors about the data send records to the slow path; anything else (I/O, memory, a bug) is retried.
      if (!DATA_ERROR.test((e as Error).message)) throw e;
      this.logger.warn({ table: schema.table, err: (e as Error).message }, 'lake: fast load refused, checking records one by one');
      return false;
    }
    const [row] = await queryRows(conn, `SELECT count(*) AS n, count(*) FILTER (WHERE _invalid) AS bad FROM ${temp}`);
    if (Number(row!.n) === expected && Number(row!.bad) === 0) return true;
    await conn.run(`DROP TABLE IF EXISTS ${temp}`);
    return false;
  }

  private async writeHours(schema: TableSchema, stagingKey: string, temp: string, range: StreamRange): Promise<StagedFile[]> {
    const conn = this.duck.conn;
    const hours = (await queryRows(conn, `SELECT date, hour, count(*) AS n FROM ${temp} GROUP BY ALL ORDER BY ALL`))
      .map((r) => ({ date: String(r.date), hour: String(r.hour), rows: Number(r.n) }));
    const name = dataFileName(range);
    const options = parquetCopyOptions(this.level);
    if (this.strategy === 'partition-by' && hours.length > 1) {
      await conn.run(`COPY (SELECT * EXCLUDE (_invalid) FROM ${temp} ORDER BY ${schema.orderBy}) TO ${sqlString(this.store.localPath(`${stagingKey}/split`))}
        (${options}, PARTITION_BY (date, hour), FILENAME_PATTERN 'part{i}')`);
      const files: StagedFile[] = [];
      for (const h of hours) {
        const dir = `split/date=${h.date}/hour=${h.hour}`;
        const produced = (await this.store.list(`${stagingKey}/${dir}`)).filter((e) => !e.isDir);
        if (produced.length === 1) files.push({ src: `${dir}/${produced[0]!.name}`, dst: `${hourDirKey(schema.table, h)}/${name}`, rows: h.rows });
      }
      if (files.length === hours.length) return files;
      // One file per hour is what a name per range needs; if DuckDB ever splits a partition, split by hour instead.
      await this.store.removeTree(`${stagingKey}/split`);
    }
    const files: StagedFile[] = [];
    for (const [i, h] of hours.entries()) {
      const src = `${i}.parquet`;
      const where = hours.length === 1 ? '' : `WHERE date = ${sqlString(h.date)} AND hour = ${sqlString(h.hour)}`;
      await conn.run(`COPY (SELECT * EXCLUDE (date, hour, _invalid) FROM ${temp} ${where} ORDER BY ${schema.orderBy})
        TO ${sqlString(this.store.localPath(`${stagingKey}/${src}`))} (${options})`);
      files.push({ src, dst: `${hourDirKey(schema.table, h as HourPartition)}/${name}`, rows: h.rows });
    }
    return files;
  }
}

function markerOf(b: StagedBatch): CommitMarker {
  return {
    version: 1, kind: 'batch', table: b.table, partition: b.partition, firstOffset: b.firstOffset, lastOffset: b.lastOffset,
    files: b.files, deletes: [], checkpoint: true,
  };
}
