import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { ObjectStore } from '../objectstore/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { readCheckpoint } from './checkpoints.ts';
import { completeBatch, decide, LakeWriteError, pruneBatch, recoverPartition, type Decision, type RecoveryReport } from './commit.ts';
import { openDuck, parquetCopyOptions, queryRows, sqlString, type Duck } from './duck.ts';
import { dataFileName, hourDirKey, rangeTag, rejectedKey, type HourPartition, type LakeTable, type StreamRange } from './layout.ts';
import { openScratch, type Scratch } from './scratch.ts';
import { lakeStore, mapLimit, type LakeLocationOrStore } from './store.ts';
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
  /** zstd level of batch files. Default 3 (see docs/lake-format.md). */
  compressionLevel?: number;
  /** Default 'per-hour'. */
  strategy?: SplitStrategy;
  /** Where the local scratch directory goes (DuckDB writes the files there before they are uploaded). Default: the OS temp dir. */
  scratchDir?: string;
  /**
   * DuckDB threads building the batches. Default 1: a batch (tens of thousands of rows) is too small for DuckDB's
   * parallelism to pay, and the archive shares the cores with ingestion and alerting. Measured on 25,000-report
   * batches (2 cores): 1 thread 5.5-6.5 us of CPU per row and faster batches, vs 9-14 us with DuckDB's default (one
   * per core).
   */
  threads?: number;
  logger?: Logger;
}

/** One file of a staged batch: built locally, uploaded to `dst` by publish(). */
export interface StagedFile {
  /** Local path of the built file. */
  src: string;
  /** Its key in the lake. */
  dst: string;
  rows: number;
  bytes: number;
}

/** A batch built in the local scratch directory (step 1), not yet in the lake. */
export interface StagedBatch {
  table: LakeTable;
  partition: number;
  /** The range the batch covers (its files are named by it): may start before its first record. */
  firstOffset: number;
  lastOffset: number;
  /** Local scratch directory of the batch. */
  dir: string;
  files: StagedFile[];
  /** Rows written to the table (records minus rejected). */
  rows: number;
  rejected: number;
  /** Set by publish(): the batch is in the lake. */
  published?: boolean;
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
/** Old checkpoints of a partition are pruned every this many batches (and by every recovery). */
const CHECKPOINT_PRUNE_EVERY = 8;
/** Files of one batch uploaded at once. */
const UPLOAD_CONCURRENCY = 4;

function bytesOf(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? encoder.encode(v) : v;
}

function textOf(v: Uint8Array | string): string {
  return typeof v === 'string' ? v : decoder.decode(v);
}

/**
 * Writes stream batches to the lake with the commit protocol of commit.ts, on any object store. The values are JSON
 * already, so a batch becomes NDJSON by joining them with newlines, and DuckDB turns it into Parquet in a local
 * scratch directory: read_json into a temporary table, then one sorted COPY per (tenant, hour) partition, so that no
 * file ever holds two tenants' rows. A record whose tenant is not a valid id goes to `_rejected/`. The files are then
 * uploaded to keys named by the batch's range. Building is serialized (one DuckDB, one batch at a time).
 */
export class LakeWriter {
  readonly store: ObjectStore;
  /** Names this writer in the commit records it creates. */
  readonly id: string;
  private readonly ownsStore: boolean;
  private readonly scratch: Scratch;
  private readonly duck: Duck;
  private readonly level: number;
  private readonly strategy: SplitStrategy;
  private readonly logger: Logger;
  private queue: Promise<unknown> = Promise.resolve();
  private tableSeq = 0;
  /** Batches published per table and partition, to prune old checkpoints every few batches. */
  private readonly published = new Map<string, number>();
  private closed = false;

  private constructor(store: ObjectStore, ownsStore: boolean, scratch: Scratch, duck: Duck, opts: LakeWriterOptions) {
    this.store = store;
    this.ownsStore = ownsStore;
    this.scratch = scratch;
    this.duck = duck;
    this.id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.level = opts.compressionLevel ?? 3;
    this.strategy = opts.strategy ?? 'per-hour';
    this.logger = opts.logger ?? silentLogger;
  }

  /** A writer on the lake at `lake` (a path, `s3://bucket/prefix`, or an open store, which the writer does not close). */
  static async open(lake: LakeLocationOrStore, opts: LakeWriterOptions = {}): Promise<LakeWriter> {
    const { store, owned } = lakeStore(lake);
    const scratch = await openScratch(opts.scratchDir);
    const threads = opts.threads ?? 1;
    if (!(Number.isInteger(threads) && threads > 0)) throw new RangeError(`LakeWriter: threads must be a positive integer, got ${threads}`);
    return new LakeWriter(store, owned, scratch, await openDuck({ threads: String(threads) }), opts);
  }

  /**
   * Step 1: the batch's Parquet files (and rejected records) in a fresh local directory. `range` is the offset range
   * the batch covers (default: from its first to its last record); the archiver makes ranges tile the partition.
   */
  stage(table: LakeTable, partition: number, records: readonly ArchiveRecord[], range?: { first: number; last: number }): Promise<StagedBatch> {
    return this.serialized(() => this.stageNow(table, partition, records, range));
  }

  /** Step 2: the decision (commit record, put-if-absent). See `decide` for `superseded`. */
  async writeMarker(batch: StagedBatch): Promise<Decision> {
    return decide(this.store, {
      version: 2, table: batch.table, partition: batch.partition, first: batch.firstOffset, last: batch.lastOffset,
      files: batch.files.map((f) => ({ key: f.dst, rows: f.rows, bytes: f.bytes })), rows: batch.rows, rejected: batch.rejected,
      writer: this.id, at: Date.now(),
    });
  }

  /** Steps 3-4: files uploaded to their keys, then the checkpoint that makes them visible. Only after a decision. */
  async publish(batch: StagedBatch): Promise<void> {
    try {
      await mapLimit(batch.files, UPLOAD_CONCURRENCY, (f) => this.store.putFile(f.dst, f.src));
      await completeBatch(this.store, { table: batch.table, partition: batch.partition, first: batch.firstOffset, last: batch.lastOffset, writer: this.id });
    } catch (e) {
      throw new LakeWriteError(`lake: publishing ${batch.table} partition ${batch.partition} offsets ${batch.firstOffset}-${batch.lastOffset} failed: ${(e as Error).message}`, e);
    }
    batch.published = true;
  }

  /** Step 6: the local files; once published, also the batch's commit record and superseded checkpoints. */
  async discard(batch: StagedBatch): Promise<void> {
    await fsp.rm(batch.dir, { recursive: true, force: true });
    if (!batch.published) return;
    const id = `${batch.table}/${batch.partition}`;
    const n = (this.published.get(id) ?? 0) + 1;
    this.published.set(id, n);
    await pruneBatch(this.store, batch.table, batch.partition, batch.firstOffset, n % CHECKPOINT_PRUNE_EVERY === 0);
  }

  /** Steps 1-4 and 6, for callers without a stream offset to commit in between (tests, benchmarks, imports). */
  async write(table: LakeTable, partition: number, records: readonly ArchiveRecord[]): Promise<StagedBatch> {
    const batch = await this.stage(table, partition, records);
    try {
      if ((await this.writeMarker(batch)) !== 'decided') {
        throw new LakeWriteError(`lake: ${table} partition ${partition} offsets ${batch.firstOffset}-${batch.lastOffset}: another range was decided there, or the lake already holds these offsets`);
      }
      await this.publish(batch);
    } finally {
      await this.discard(batch);
    }
    return batch;
  }

  /** The partition's checkpoint and the decided batch to complete first, if any (see recoverPartition). */
  recover(table: LakeTable, partition: number): Promise<RecoveryReport> {
    return recoverPartition(this.store, table, partition, this.logger);
  }

  /** Last offset of the partition in the lake, if any. */
  checkpoint(table: LakeTable, partition: number): Promise<number | undefined> {
    return readCheckpoint(this.store, table, partition);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    this.duck.close();
    await this.scratch.remove();
    if (this.ownsStore) await this.store.close();
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new LakeWriteError('lake writer is closed'));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async stageNow(table: LakeTable, partition: number, records: readonly ArchiveRecord[], given?: { first: number; last: number }): Promise<StagedBatch> {
    if (records.length === 0 && !given) throw new RangeError('lake: cannot stage an empty batch');
    for (let i = 1; i < records.length; i++) {
      if (records[i]!.offset <= records[i - 1]!.offset) throw new RangeError('lake: batch offsets must increase');
    }
    const range: StreamRange = { partition, first: given?.first ?? records[0]!.offset, last: given?.last ?? records[records.length - 1]!.offset };
    if (records.length > 0 && (records[0]!.offset < range.first || records[records.length - 1]!.offset > range.last)) {
      throw new RangeError(`lake: records outside the batch range ${range.first}-${range.last}`);
    }
    const dir = await this.scratch.sub(`${table}-${rangeTag(range)}`);
    const schema = SCHEMAS[table];
    const temp = `lake_batch_${++this.tableSeq}`;
    const files: StagedFile[] = [];
    try {
      const { rejected } = records.length === 0 ? { rejected: [] } : await this.load(schema, dir, temp, records);
      const rows = records.length - rejected.length;
      if (rows > 0) files.push(...(await this.writeHours(schema, dir, temp, range)));
      if (rejected.length > 0) {
        const lines = rejected.map((r) => JSON.stringify({ partition, offset: r.offset, reason: r.reason, value: r.value }));
        const src = path.join(dir, 'rejected.ndjson');
        await fsp.writeFile(src, `${lines.join('\n')}\n`);
        files.push({ src, dst: rejectedKey(table, range), rows: rejected.length, bytes: 0 });
        this.logger.error({ table, partition, offsets: rejected.map((r) => r.offset).slice(0, 20), reason: rejected[0]!.reason, count: rejected.length },
          'lake: records the lake cannot store were set aside in _rejected/');
      }
      for (const f of files) f.bytes = (await fsp.stat(f.src)).size;
      return { table, partition, firstOffset: range.first, lastOffset: range.last, dir, files, rows, rejected: rejected.length };
    } catch (e) {
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
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
  private async load(schema: TableSchema, dir: string, temp: string, records: readonly ArchiveRecord[]): Promise<{ rejected: RejectedRecord[] }> {
    const input = path.join(dir, 'input.ndjson');
    const parts: Uint8Array[] = [];
    for (const r of records) parts.push(bytesOf(r.value), NEWLINE);
    await writeParts(input, parts);
    try {
      if (await this.tryLoad(schema, input, temp, records.length)) return { rejected: [] };
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
      await fsp.writeFile(input, `${good.join('\n')}\n`);
      if (!(await this.tryLoad(schema, input, temp, good.length))) {
        const failure = 'records that pass the shape check but not DuckDB';
        // Never block the partition on a record nobody can store: keep the whole batch verbatim instead.
        this.logger.error({ table: schema.table, failure }, 'lake: DuckDB refused records that passed the shape check; the batch goes to _rejected/');
        return { rejected: records.map((r) => ({ offset: r.offset, reason: `DuckDB: ${failure}`, value: textOf(r.value) })) };
      }
      return { rejected };
    } finally {
      await fsp.rm(input, { force: true });
    }
  }

  /** True when every line loaded and every row is storable; false (table dropped) otherwise. Throws on I/O errors. */
  private async tryLoad(schema: TableSchema, input: string, temp: string, expected: number): Promise<boolean> {
    const conn = this.duck.conn;
    await conn.run(`DROP TABLE IF EXISTS ${temp}`);
    const source = `read_json(${sqlString(input)}, format = 'newline_delimited', columns = ${schema.jsonColumns})`;
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

  /** One file per (tenant, date, hour) group of the batch, all named by the batch's range. */
  private async writeHours(schema: TableSchema, dir: string, temp: string, range: StreamRange): Promise<StagedFile[]> {
    const conn = this.duck.conn;
    const groups = (await queryRows(conn, `SELECT tenant, date, hour, count(*) AS n FROM ${temp} GROUP BY ALL ORDER BY ALL`))
      .map((r) => ({ tenant: String(r.tenant), date: String(r.date), hour: String(r.hour), rows: Number(r.n) }));
    const name = dataFileName(range);
    const options = parquetCopyOptions(this.level);
    const keyOf = (g: { tenant: string } & HourPartition): string => `${hourDirKey(schema.table, g.tenant, g)}/${name}`;
    if (this.strategy === 'partition-by' && groups.length > 1) {
      const files = await this.partitionBy(schema, dir, temp, groups, keyOf);
      if (files) return files;
    }
    const files: StagedFile[] = [];
    for (const [i, g] of groups.entries()) {
      const src = path.join(dir, `${i}.parquet`);
      const where = groups.length === 1 ? '' : `WHERE tenant = ${sqlString(g.tenant)} AND date = ${sqlString(g.date)} AND hour = ${sqlString(g.hour)}`;
      await conn.run(`COPY (SELECT * EXCLUDE (date, hour, _invalid) FROM ${temp} ${where} ORDER BY ${schema.orderBy})
        TO ${sqlString(src)} (${options})`);
      files.push({ src, dst: keyOf(g), rows: g.rows, bytes: 0 });
    }
    return files;
  }

  /**
   * The PARTITION_BY strategy: one partitioned COPY per tenant (partition columns are left out of the files, and the
   * tenant column stays in them, as in per-hour files). Undefined when DuckDB did not write exactly one file per hour.
   */
  private async partitionBy(schema: TableSchema, dir: string, temp: string, groups: readonly ({ tenant: string; rows: number } & HourPartition)[],
    keyOf: (g: { tenant: string } & HourPartition) => string): Promise<StagedFile[] | undefined> {
    const split = path.join(dir, 'split');
    await fsp.mkdir(split, { recursive: true }); // DuckDB creates the output directory, not its parents
    const files: StagedFile[] = [];
    for (const [i, tenant] of [...new Set(groups.map((g) => g.tenant))].entries()) {
      const out = path.join(split, String(i));
      await this.duck.conn.run(`COPY (SELECT * EXCLUDE (_invalid) FROM ${temp} WHERE tenant = ${sqlString(tenant)} ORDER BY ${schema.orderBy}) TO ${sqlString(out)}
        (${parquetCopyOptions(this.level)}, PARTITION_BY (date, hour), FILENAME_PATTERN 'part{i}')`);
      for (const g of groups.filter((x) => x.tenant === tenant)) {
        const hourDir = path.join(out, `date=${g.date}`, `hour=${g.hour}`);
        const produced = await fsp.readdir(hourDir).catch(() => [] as string[]);
        if (produced.length === 1) files.push({ src: path.join(hourDir, produced[0]!), dst: keyOf(g), rows: g.rows, bytes: 0 });
      }
    }
    if (files.length === groups.length) return files;
    // One file per hour is what a name per range needs; if DuckDB ever splits a partition, split by hour instead.
    await fsp.rm(split, { recursive: true, force: true });
    return undefined;
  }
}

async function writeParts(file: string, parts: readonly Uint8Array[]): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writev(parts as Uint8Array[]);
  } finally {
    await fh.close();
  }
}
