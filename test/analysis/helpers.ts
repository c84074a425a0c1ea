import { decompress } from 'fzstd';
import { asyncBufferFromFile, parquetReadObjects, parquetSchema, parquetMetadataAsync } from 'hyparquet';
import { validateConfig, type Config } from '../../src/config/index.ts';
import type { AcceptedReport } from '../../src/contract/types.ts';
import { LakeWriter } from '../../src/lake/index.ts';
import { recordsOf } from '../lake/helpers.ts';

/** The analysis section of a valid configuration, with the given overrides. */
export function analysisConfig(overrides: Partial<Config['analysis']> = {}): Config['analysis'] {
  return { ...validateConfig({}).analysis, threads: 1, ...overrides };
}

/** Archives `reports` into the lake at `root` as one batch starting at stream offset `first`. */
export async function archiveReports(root: string, reports: readonly AcceptedReport[], first = 0): Promise<void> {
  const w = await LakeWriter.open(root);
  try {
    await w.write('reports', 0, recordsOf(reports, first));
  } finally {
    await w.close();
  }
}

// hyparquet decodes Snappy only; the exports are zstd (what DuckDB writes them with), so fzstd decodes the pages.
const compressors = { ZSTD: (input: Uint8Array, outputLength: number): Uint8Array => decompress(input, new Uint8Array(outputLength)) };

/** A Parquet file read with hyparquet (an independent reader: not DuckDB): column names and row objects. */
export async function readParquet(file: string | ArrayBuffer): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
  const buffer = typeof file === 'string' ? await asyncBufferFromFile(file) : file;
  const metadata = await parquetMetadataAsync(buffer);
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  const rows = await parquetReadObjects({ file: buffer, metadata, compressors }) as Record<string, unknown>[];
  return { columns, rows };
}

/** A Parquet body (an HTTP answer) as an ArrayBuffer hyparquet can read. */
export function arrayBufferOf(body: Buffer): ArrayBuffer {
  return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
}

/** RFC 4180 CSV (quoted fields, "" escapes, CRLF or LF line ends) to rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      // the \n ends the row
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** A JSON-friendly value as the CSV exports spell it: NULL empty, lists/structs as JSON, the rest as text. */
export function csvText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A value read by hyparquet, in the JSON-friendly form the API gives (ISO timestamps, safe bigints as numbers). */
export function fromParquet(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(fromParquet);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromParquet(x)]));
  return v;
}

export function rowObjects(columns: readonly string[], rows: readonly unknown[][]): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null])));
}
