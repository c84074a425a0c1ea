/** The formats `export` writes. Their own module: the CLI lists them in its options without loading DuckDB. */
export type ExportFormat = 'csv' | 'json' | 'ndjson' | 'parquet';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'json', 'ndjson', 'parquet'];
