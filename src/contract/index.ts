/** Report format v1: types, the JSON Schema, the fast validator, parsing and report ids. See docs/report-format.md. */
export type { AcceptedReport, Citizen, Report } from './types.ts';
export { parseReportId, reportIdOf } from './report-id.ts';
export { validateReport, type ValidateOptions, type ValidationResult } from './validate.ts';
export { decodeJsonBytes, parseJsonArray, parseJsonText, parseReport, utf8LargerThan, type ParseOptions, type ParsedJsonArray, type ParsedReport } from './parse.ts';
export { parseRfc3339 } from './timestamp.ts';
export { REPORT_SCHEMA_V1_ID, REPORT_SCHEMA_V1_PATH, reportSchemaV1, type JsonSchema } from './schema.ts';
export { DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_MAX_REPORT_BYTES, MAX_FIELD_ERRORS, MAX_NESTING_DEPTH, REPORT_LIMITS } from './limits.ts';
