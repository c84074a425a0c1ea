import { columnDecimals } from '../util/decimals.ts';
import type { QueryResult } from './query.ts';

export type ResultFormat = 'table' | 'csv' | 'json';

/** A cell as text: strings as they are, NULL as empty, lists and structs as JSON. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A CSV field (RFC 4180): quoted when it holds a quote, comma or line break. */
export function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A query result as text for the CLI: an aligned table (numbers rounded for reading), CSV (RFC 4180) or a JSON array of row objects. */
export function formatResult(result: QueryResult, format: ResultFormat): string {
  const { columns, rows } = result;
  if (format === 'json') {
    const objects = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null])));
    return `${JSON.stringify(objects, null, 2)}\n`;
  }
  if (format === 'csv') {
    const lines = [columns.map(csvCell).join(','), ...rows.map((r) => r.map((v) => csvCell(cellText(v))).join(','))];
    return `${lines.join('\r\n')}\r\n`;
  }
  // A table is read by people: numbers are rounded to the precision the column has (columnDecimals); CSV and JSON
  // keep every digit.
  const decimals = columns.map((_c, i) => columnDecimals(rows.map((r) => r[i])));
  const text = rows.map((r) => r.map((v, i) => {
    if (v === null || v === undefined) return 'NULL';
    const d = decimals[i];
    if (typeof v === 'number' && d !== undefined && Number.isFinite(v)) return v.toFixed(d);
    return cellText(v).replace(/[\r\n\t]/g, ' ');
  }));
  const widths = columns.map((c, i) => Math.min(80, Math.max(c.length, ...text.map((r) => r[i]!.length))));
  const fit = (s: string, w: number): string => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (cells: string[]): string => cells.map((c, i) => fit(c, widths[i]!)).join(' | ').trimEnd();
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...text.map(line), `(${rows.length} row${rows.length === 1 ? '' : 's'})`];
  return `${out.join('\n')}\n`;
}
