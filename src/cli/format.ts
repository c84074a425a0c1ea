import { Option } from 'commander';
import { formatResult, type ResultFormat } from '../lake/format.ts';

export type OutputFormat = ResultFormat;

export function formatOption(): Option {
  return new Option('-f, --format <format>', 'output format').choices(['table', 'csv', 'json']).default('table');
}

/** Prints objects (one per row, columns from the first) the way query results are printed. */
export function printRows(objects: readonly Record<string, unknown>[], format: OutputFormat, out: NodeJS.WritableStream = process.stdout): void {
  const columns = objects.length > 0 ? Object.keys(objects[0]!) : [];
  out.write(formatResult({ columns, rows: objects.map((o) => columns.map((c) => o[c])) }, format));
}
