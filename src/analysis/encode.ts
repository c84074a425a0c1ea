import { cellText, csvCell, type QueryCursor } from '../lake/index.ts';

/** Text formats a query result is streamed in (Parquet is written by DuckDB itself: see LakeSandbox.copyToParquet). */
export type TextFormat = 'csv' | 'json' | 'ndjson' | 'envelope';

export const MEDIA_TYPES: Record<TextFormat | 'parquet', string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  envelope: 'application/json; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

function rowObject(columns: readonly string[], row: readonly unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]!] = row[i] ?? null;
  return o;
}

/**
 * Encodes a cursor's rows as text, one string per DuckDB chunk (~2,048 rows), so a consumer with backpressure
 * (`Readable.from` piped to a socket or file) holds one chunk at a time, whatever the size of the result.
 * - `csv`: RFC 4180 with a header line and CRLF, the same cells as `dronewatch query --format csv`;
 * - `json`: one array of row objects (what `--format json` prints), streamed;
 * - `ndjson`: one row object per line;
 * - `envelope`: the API's answer `{ columns, columnTypes, rows: [[...]], rowCount, truncated, elapsedMs }`, whose
 *   trailing fields are known only once the rows are read, so they come last.
 * `onRows` is told the running row count after each chunk (progress bars).
 */
export async function* encodeRows(cursor: QueryCursor, format: TextFormat, opts: { onRows?: (n: number) => void; startedAt?: number } = {}): AsyncGenerator<string> {
  const { columns } = cursor;
  let first = true;
  if (format === 'csv') yield `${columns.map(csvCell).join(',')}\r\n`;
  else if (format === 'json') yield '[';
  else if (format === 'envelope') yield `{"columns":${JSON.stringify(columns)},"columnTypes":${JSON.stringify(cursor.columnTypes)},"rows":[`;
  for await (const batch of cursor) {
    let out = '';
    for (const row of batch) {
      if (format === 'csv') out += `${row.map((v) => csvCell(cellText(v))).join(',')}\r\n`;
      else if (format === 'ndjson') out += `${JSON.stringify(rowObject(columns, row))}\n`;
      else {
        out += `${first ? '\n' : ',\n'}${JSON.stringify(format === 'json' ? rowObject(columns, row) : row)}`;
        first = false;
      }
    }
    opts.onRows?.(cursor.rowCount);
    yield out;
  }
  if (format === 'json') yield first ? ']\n' : '\n]\n';
  else if (format === 'envelope') {
    const elapsedMs = opts.startedAt === undefined ? null : Math.round(performance.now() - opts.startedAt);
    yield `${first ? '' : '\n'}],"rowCount":${cursor.rowCount},"truncated":${cursor.truncated},"elapsedMs":${elapsedMs}}\n`;
  }
}
