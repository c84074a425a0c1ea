import { DuckDBTypeId, JSDuckDBValueConverter, ResultReturnType, type DuckDBDataChunk, type DuckDBResult } from '@duckdb/node-api';
import { DwError } from '../errors/index.ts';
import { QueryError, QueryTooLargeError } from './sandbox-errors.ts';
import type { InterruptGuard } from './sandbox-interrupt.ts';

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

/** About the size of a JSON-friendly value once encoded (what an answer's size limit counts): strings by length. */
export function answerSize(v: unknown): number {
  if (typeof v === 'string') return v.length + 2;
  if (v === null || typeof v !== 'object') return 8;
  let n = 2;
  if (Array.isArray(v)) for (const x of v) n += answerSize(x) + 1;
  else for (const [k, x] of Object.entries(v as Record<string, unknown>)) n += k.length + 4 + answerSize(x);
  return n;
}

export interface CursorLimits {
  /** Rows at most (`truncated` then says whether there were more). */
  limit: number;
  /** Bytes of rows at most (answerSize): beyond, the query stops with QueryTooLargeError. */
  maxBytes: number;
}

/**
 * Reads `result` chunk by chunk. The first chunk is read before this returns, so that a query failing at once (its
 * time limit, its size, its memory) fails before any answer has started. Rows are converted one at a time, and between
 * two rows the time limit and the size limit are checked: a chunk of 2,048 huge values is never converted whole, and
 * JS work cannot keep the time limit from firing. `finish` releases the connection; it is called exactly once.
 */
export async function openCursor(result: DuckDBResult, guard: InterruptGuard, limits: CursorLimits, finish: () => void): Promise<QueryCursor> {
  const columns = result.columnNames();
  const types = result.columnTypes();
  const isDate = types.map((t) => t.typeId === DuckDBTypeId.DATE);
  const max = limits.limit;
  let rowCount = 0;
  let bytes = 0;
  let truncated = false;
  let iterated = false;
  let finished = false;
  /** A fetch is in flight: the connection may be closed only once it has returned. */
  let fetching = false;
  const done = (): void => {
    if (finished) return;
    finished = true;
    guard.dispose();
    finish();
  };
  const fetchChunk = async (): Promise<DuckDBDataChunk | null> => {
    fetching = true;
    try {
      const chunk = await guard.wrap(() => result.fetchChunk());
      // An error while a streamed result is read (a failed cast at row 50,000...) ends it exactly like its last row:
      // the binding returns no chunk and drops DuckDB's message. Only the result's state tells them apart.
      if ((!chunk || chunk.rowCount === 0) && result.returnType === ResultReturnType.INVALID) {
        throw new QueryError(`the query failed after ${rowCount} rows were read; DuckDB does not report the cause of an error in a streamed result (a Parquet export of the same query shows it)`);
      }
      return chunk && chunk.rowCount > 0 ? chunk : null;
    } finally {
      fetching = false;
    }
  };
  /** The rows of `chunk` up to the row limit, converted one by one under the time and size limits. */
  const convert = (chunk: DuckDBDataChunk): unknown[][] => {
    const out: unknown[][] = [];
    const n = Math.min(chunk.rowCount, max - rowCount);
    for (let r = 0; r < n; r++) {
      guard.check();
      const row = chunk.convertRowValues(r, JSDuckDBValueConverter).map((v, i) => jsonFriendly(v, isDate[i]));
      bytes += answerSize(row);
      if (bytes > limits.maxBytes) {
        const e = new QueryTooLargeError(`the answer is over its size limit of ${limits.maxBytes} bytes after ${rowCount + r} rows (analysis.maxResultBytes): select fewer or shorter columns, fewer rows, or export the result instead`);
        guard.stop(e);
        throw e;
      }
      out.push(row);
    }
    if (chunk.rowCount > n) truncated = true;
    rowCount += out.length;
    return out;
  };

  let first: unknown[][] | undefined;
  let ended = false;
  try {
    const chunk = await fetchChunk();
    if (chunk) first = convert(chunk);
    else ended = true;
  } catch (e) {
    done();
    throw e;
  }

  async function* rows(): AsyncGenerator<unknown[][]> {
    try {
      // Read before the cursor was returned: a cancel since then still stops the reader here.
      guard.check();
      if (first && first.length > 0) yield first;
      first = undefined;
      if (ended) return;
      for (;;) {
        if (truncated) return;
        if (rowCount >= max) {
          // A result of exactly `limit` rows is not truncated: look one chunk ahead only when the limit is reached.
          truncated = (await fetchChunk()) !== null;
          return;
        }
        const chunk = await fetchChunk();
        if (!chunk) return;
        const batch = convert(chunk);
        if (batch.length > 0) yield batch;
      }
    } finally {
      done();
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
      // Between two reads (or before the first) nothing else would release the connection if the reader never comes
      // back (an HTTP client gone before its answer started); a fetch in flight releases it when it fails.
      if (!fetching) done();
    },
    [Symbol.asyncIterator]() {
      if (iterated) throw new DwError('DW_INTERNAL', 'a query cursor can be iterated once');
      iterated = true;
      return rows();
    },
  };
}
