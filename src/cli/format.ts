import { Option } from 'commander';

export type OutputFormat = 'table' | 'csv' | 'json';

export function formatOption(): Option {
  return new Option('-f, --format <format>', 'output format').choices(['table', 'csv', 'json']).default('table');
}

/** Tabular output shared by every CLI command that prints rows (query, alerts list, dead letters). */
export interface Tabular {
  columns: string[];
  rows: unknown[][];
}

export function rowsFromObjects(objects: readonly Record<string, unknown>[]): Tabular {
  const columns = objects.length > 0 ? Object.keys(objects[0]!) : [];
  return { columns, rows: objects.map((o) => columns.map((c) => o[c])) };
}

export function formatTabular(t: Tabular, format: OutputFormat): string {
  if (format === 'json') {
    return `${JSON.stringify(t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i]]))), jsonReplacer, 2)}\n`;
  }
  if (format === 'csv') {
    const lines = [t.columns.map(csvCell).join(',')];
    for (const r of t.rows) lines.push(r.map((v) => csvCell(cellText(v))).join(','));
    return `${lines.join('\n')}\n`;
  }
  const text = t.rows.map((r) => r.map(cellText));
  const widths = t.columns.map((c, i) => Math.min(60, Math.max(c.length, ...text.map((r) => r[i]!.length))));
  const line = (cells: string[]): string => cells.map((c, i) => fit(c, widths[i]!)).join('  ').trimEnd();
  const out = [line(t.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)];
  out.push(`(${t.rows.length} row${t.rows.length === 1 ? '' : 's'})`);
  return `${out.join('\n')}\n`;
}

export function printRows(objects: readonly Record<string, unknown>[], format: OutputFormat, out: NodeJS.WritableStream = process.stdout): void {
  out.write(formatTabular(rowsFromObjects(objects), format));
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v, jsonReplacer);
  return String(v);
}

function fit(s: string, w: number): string {
  const one = s.replace(/[\r\n\t]/g, ' ');
  return one.length > w ? `${one.slice(0, w - 1)}…` : one.padEnd(w);
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;
}
