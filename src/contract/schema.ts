import { readFileSync } from 'node:fs';

/**
 * The checked-in JSON Schema of report format v1 (schema/report.v1.json), for other tools and for the cross-check
 * test. Read with fs rather than a JSON import so it loads the same under tsx, plain Node and any bundler.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

export const REPORT_SCHEMA_V1_PATH = new URL('../../schema/report.v1.json', import.meta.url);

export const reportSchemaV1: JsonSchema = JSON.parse(readFileSync(REPORT_SCHEMA_V1_PATH, 'utf8')) as JsonSchema;

export const REPORT_SCHEMA_V1_ID = 'urn:dronewatch:schema:report:v1';
