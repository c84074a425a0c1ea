import { error, isoInstant, noContent, responses, type ErrorSet } from './common.ts';

/**
 * Request and response schemas of the analysis routes (src/server/routes/analysis.ts). Query answers are streamed
 * (fastify does not serialize a stream), so their response schemas describe the answer for clients and the fuzzer
 * without touching it; their rows are open-ended (any column the SQL selects), hence `additionalProperties: true`.
 */

const TAGS = ['analysis'];
export const FORMATS = ['json', 'csv', 'ndjson', 'parquet'] as const;
// Examples valid on any lake: clients see the shape of a request, and the fuzzer starts from queries that run.
const sqlText = { type: 'string', minLength: 1, maxLength: 65536, examples: ['SELECT count(*) AS reports FROM reports', 'SELECT severity, count(*) AS n FROM alerts GROUP BY severity'] } as const;
const formatField = { type: 'string', enum: FORMATS, description: 'The answer\'s format; default: from the Accept header, else JSON.' } as const;
const limitField = { type: 'integer', minimum: 1, description: 'Row limit (capped by analysis.maxRows).' } as const;
const timeoutField = { type: 'integer', minimum: 1, description: 'Time limit in ms (capped by analysis.timeoutSeconds).' } as const;
/** ISO 8601 instants (checked by rangeOf): only the hour partitions from..to are read. */
const instantField = { type: 'string', minLength: 1, maxLength: 40, description: 'ISO 8601 date or timestamp: only the hour partitions from..to are read.' } as const;
const name = { type: 'string', minLength: 1, maxLength: 64, examples: ['reports-count'] } as const;
const queryName = { type: 'object', additionalProperties: false, required: ['name'], properties: { name } } as const;

/** The JSON answer of a query: column names and DuckDB types, then rows as arrays, then the counts known at the end. */
const envelope = {
  type: 'object',
  additionalProperties: false,
  required: ['columns', 'columnTypes', 'rows', 'rowCount', 'truncated', 'elapsedMs'],
  properties: {
    columns: { type: 'array', items: { type: 'string' } },
    columnTypes: { type: 'array', items: { type: 'string' } },
    // A row holds whatever the SQL selects: numbers, strings, booleans, null, lists, structs.
    rows: { type: 'array', items: { type: 'array' } },
    rowCount: { type: 'integer', minimum: 0 },
    truncated: { type: 'boolean', description: 'True when the row limit cut the result.' },
    elapsedMs: { type: ['integer', 'null'] },
  },
} as const;
/** Downloads and exports in JSON: one array of row objects, whatever columns the SQL selects. */
const rowObjects = { type: 'array', items: { type: 'object', additionalProperties: true } } as const;
const text = { type: 'string' } as const;
const binary = { type: 'string', contentMediaType: 'application/vnd.apache.parquet' } as const;

const answer = (description: string, json: object) => ({
  description,
  content: {
    'application/json': { schema: json },
    'text/csv': { schema: text },
    'application/x-ndjson': { schema: text },
    'application/vnd.apache.parquet': { schema: binary },
  },
});

const QUERY_ERRORS = {
  400: error('`DW_QUERY_FAILED`: SQL error or a statement the sandbox refuses; `DW_REQUEST_INVALID` / `DW_CONFIG_INVALID`: a malformed parameter (`errors` names it).'),
  408: error('`DW_QUERY_TIMEOUT`: the query ran longer than its time limit.'),
  413: error('`DW_QUERY_TOO_LARGE`: the answer is over analysis.maxResultBytes, or the query needs more memory than analysis.memoryLimit; `DW_REQUEST_INVALID`: the body is over the request body limit.'),
  429: error("`DW_QUERY_TOO_MANY`: the caller's force or the service already runs as many queries as allowed.", { retryAfter: true }),
  499: error('`DW_QUERY_CANCELLED`: the client went away (it never reads this answer).'),
  503: error("`DW_QUERY_ENGINE_RESTARTED`: the force's query engine process was stopped under the query (another of its queries ran out of time or memory), retry after Retry-After; or the stream is closed or did not answer (`DW_STREAM_CLOSED`, `DW_STREAM_UNAVAILABLE`).", { retryAfter: true }),
  507: error('`DW_LAKE_CACHE_TOO_SMALL`: a query over S3 needs more files than the local lake cache may hold.'),
} as const;
const SAVED_NOT_FOUND = error('`DW_SAVED_QUERY_NOT_FOUND`: no saved query of that name in the caller\'s tenant.');

const savedQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['tenant', 'name', 'sql', 'description', 'createdAt', 'updatedAt'],
  properties: { tenant: { type: 'string' }, name: { type: 'string' }, sql: { type: 'string' }, description: { type: 'string' }, createdAt: isoInstant, updatedAt: isoInstant },
} as const;
const savedBody = {
  type: 'object',
  additionalProperties: false,
  required: ['sql'],
  properties: { name: { type: 'string', examples: ['reports-count'] }, sql: sqlText, description: { type: 'string', maxLength: 1000 } },
} as const;

const queryRoute = (summary: string, own: Record<number, unknown>, sets: ErrorSet[], extra: Record<string, unknown>) => ({
  tags: TAGS, summary, ...extra, response: responses({ ...QUERY_ERRORS, ...own }, 'authenticated', ...sets),
});

export const listStatsSchema = {
  tags: TAGS,
  summary: 'The ready-made statistics (docs/analysis.md)',
  response: responses({
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['stats'],
      properties: {
        stats: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'description', 'options'],
            properties: { name: { type: 'string' }, description: { type: 'string' }, options: { type: 'array', items: { type: 'string', enum: ['cell', 'minutes', 'limit', 'tz'] }, description: 'Parameters it takes besides from/to.' } },
          },
        },
      },
    },
  }, 'authenticated'),
} as const;

export const statSchema = queryRoute('Run a statistic', {
  200: answer('The rows (JSON: the query envelope; with `download`, an array of row objects as an attachment).', { oneOf: [envelope, rowObjects] }),
  404: error('`DW_QUERY_FAILED`: no statistic of that name.'),
}, ['invalid', 'path'], {
  params: queryName,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      from: { type: 'string' }, to: { type: 'string' }, cell: { type: 'string' }, minutes: { type: 'string' }, limit: { type: 'string' }, tz: { type: 'string', maxLength: 64 },
      format: formatField, download: { type: 'boolean' },
    },
  },
});

export const querySchema = queryRoute('Run one SELECT over the lake views (read-only sandbox)', {
  200: answer('The rows, up to the row limit.', envelope),
}, ['body'], {
  body: { type: 'object', additionalProperties: false, required: ['sql'], properties: { sql: sqlText, format: formatField, limit: limitField, timeoutMs: timeoutField, from: instantField, to: instantField } },
});

export const exportSchema = queryRoute('Export a whole result as a file (no row limit, the export time limit)', {
  200: answer('The file, as an attachment.', rowObjects),
}, ['body'], {
  body: { type: 'object', additionalProperties: false, required: ['sql', 'format'], properties: { sql: sqlText, format: { ...formatField, description: 'The file\'s format.' }, filename: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,100}$' }, from: instantField, to: instantField } },
});

export const listSavedSchema = {
  tags: TAGS,
  summary: "The caller's tenant's saved queries",
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['queries'], properties: { queries: { type: 'array', items: savedQuery } } } }, 'authenticated'),
} as const;

export const createSavedSchema = {
  tags: TAGS,
  summary: 'Save a query (its SQL is checked first)',
  body: { ...savedBody, required: ['name', 'sql'] },
  response: responses({
    201: { ...savedQuery, description: 'Saved.' },
    400: error('`DW_QUERY_FAILED`: the SQL does not pass the sandbox; `DW_REQUEST_INVALID`: a malformed field (e.g. the name).'),
    409: error('`DW_SAVED_QUERY_EXISTS`: a saved query of that name exists (replace it with PUT).'),
  }, 'authenticated', 'body'),
} as const;

export const replaceSavedSchema = {
  tags: TAGS,
  summary: 'Create or replace a saved query',
  params: queryName,
  body: savedBody,
  response: responses({
    200: savedQuery,
    400: error('`DW_QUERY_FAILED`: the SQL does not pass the sandbox; `DW_REQUEST_INVALID`: a malformed field, or a body `name` that differs from the URL\'s.'),
  }, 'authenticated', 'body', 'path'),
} as const;

export const getSavedSchema = {
  tags: TAGS,
  summary: 'One saved query',
  params: queryName,
  response: responses({ 200: savedQuery, 404: SAVED_NOT_FOUND }, 'authenticated', 'path'),
} as const;

export const deleteSavedSchema = {
  tags: TAGS,
  summary: 'Delete a saved query',
  params: queryName,
  response: responses({ 204: noContent('Deleted.'), 404: SAVED_NOT_FOUND }, 'authenticated', 'path'),
} as const;

export const runSavedSchema = queryRoute('Run a saved query', {
  200: answer('The rows (JSON: the query envelope; with `download`, the whole result as a file).', { oneOf: [envelope, rowObjects] }),
  404: SAVED_NOT_FOUND,
}, ['invalid', 'path'], {
  params: queryName,
  querystring: { type: 'object', additionalProperties: false, properties: { format: formatField, limit: limitField, download: { type: 'boolean' }, from: instantField, to: instantField } },
});
