import type { ErrorCode } from '../../../errors/index.ts';

/**
 * Pieces shared by the routes' schemas: the error envelope every refusal answers with, and the responses each kind of
 * route can answer besides its own. These schemas do two jobs: fastify validates requests and serializes answers
 * with them (fast-json-stringify keeps only the properties a response schema names), and @fastify/swagger turns them
 * into the OpenAPI description served at /openapi.json (src/server/routes/openapi.ts).
 */

/**
 * Every code the API can answer, in the envelope's `code` enum. A Record over the ErrorCode union rather than a list:
 * a code added to src/errors without being added here is a type error, so the description never lags behind.
 */
const CODES: Record<ErrorCode, string> = {
  DW_CONFIG_INVALID: 'a configuration value is invalid',
  DW_INGEST_INVALID: 'a report breaks the contract (errors lists each field)',
  DW_INGEST_TOO_LARGE: 'a report or the whole body is over its size limit',
  DW_INGEST_MALFORMED: 'the body (or an NDJSON line) is not JSON, or is empty',
  DW_INGEST_TOO_DEEP: 'a report nests arrays and objects too deep',
  DW_INGEST_BACKPRESSURE: 'the consumers lag too far behind; retry after Retry-After seconds',
  DW_INGEST_RATE_LIMITED: "the drone's credential sends faster than its limit; retry after Retry-After seconds",
  DW_STORAGE_FULL: 'the disk where reports are stored is full; nothing was stored, retry after Retry-After seconds',
  DW_STREAM_CLOSED: 'the stream is closed (the server is shutting down)',
  DW_STREAM_TOPIC_UNKNOWN: 'a topic was never created (a bug)',
  DW_STREAM_NOT_OWNER: 'a consumer lost its partition (never answered over HTTP)',
  DW_STREAM_UNAVAILABLE: 'the stream (NATS JetStream, Kafka) did not answer in time',
  DW_ALERT_NOT_FOUND: "no alert with that id in the caller's tenant",
  DW_ALERT_BAD_TRANSITION: "the lifecycle change is not allowed from the alert's status",
  DW_INCIDENT_NOT_FOUND: "no incident with that id in the caller's tenant",
  DW_INCIDENT_BAD_TRANSITION: "the lifecycle change is not allowed from the incident's status (a merged incident is changed through mergedInto)",
  DW_RULES_INVALID: 'a proposed rule set or silence breaks its schema (errors lists each field)',
  DW_RULES_CONFLICT: 'the rules changed since the version the change was based on: re-read them and retry',
  DW_RULE_NOT_FOUND: "no rule with that id in the caller's tenant's rules in force",
  DW_SILENCE_NOT_FOUND: "no silence with that id in the caller's tenant",
  DW_NOTIFY_INVALID: 'a proposed notification policy breaks its schema (errors lists each field)',
  DW_NOTIFY_CONFLICT: 'the notification policy changed since the version the change was based on: re-read it and retry',
  DW_LAKE_WRITE_FAILED: 'the archive could not write a Parquet file (never answered over HTTP)',
  DW_LAKE_LOCATION_INVALID: 'the lake location is invalid',
  DW_LAKE_CACHE_TOO_SMALL: 'a query over S3 needs more files than the local lake cache may hold',
  DW_OBJECTSTORE_FAILED: 'the object store failed an operation',
  DW_OBJECTSTORE_REQUEST_INVALID: 'the object store was asked for something invalid (a bug)',
  DW_QUERY_FAILED: 'SQL error, a statement the sandbox refuses, or an unknown statistic (404)',
  DW_QUERY_TIMEOUT: 'the query ran longer than its time limit',
  DW_QUERY_CANCELLED: 'the query was cancelled (the client went away)',
  DW_QUERY_TOO_LARGE: 'the answer or the memory a query needs is over its limit',
  DW_QUERY_TOO_MANY: "the caller's force or the service already runs as many queries as allowed; retry after Retry-After seconds",
  DW_QUERY_ENGINE_RESTARTED: "the force's query engine process was stopped under the query (another of its queries ran out of time or memory); retry after Retry-After seconds",
  DW_SAVED_QUERY_NOT_FOUND: 'no saved query with that name',
  DW_SAVED_QUERY_EXISTS: 'a saved query with that name exists',
  DW_NOT_FOUND: 'unknown route, or no such user, drone or file',
  DW_CONFLICT: 'creating something that exists already',
  DW_AUTH_REQUIRED: 'no credentials, or unknown, expired or revoked ones',
  DW_AUTH_FORBIDDEN: 'the roles do not grant this, or a drone publishes as another drone or tenant',
  DW_AUTH_RATE_LIMITED: 'too many failed logins; retry after Retry-After seconds',
  DW_AUTH_CSRF: 'a change made with a session cookie without the matching x-csrf-token header',
  DW_AUDIT_CHAIN_BROKEN: "the audit log's hash chain does not verify",
  DW_AUDIT_LAKE_MISMATCH: "the lake's copy of the audit log differs from the local one",
  DW_REQUEST_INVALID: 'a request other than a report is malformed (the message names the field)',
  DW_INTERNAL: 'an unexpected failure; details are in the server log',
  DW_SIMULATOR_SINK_FAILED: 'the simulator could not deliver (never answered over HTTP)',
};

export const ERROR_CODES = Object.keys(CODES) as ErrorCode[];

export const fieldError = {
  type: 'object',
  additionalProperties: false,
  required: ['field', 'reason'],
  properties: {
    field: { type: 'string', description: 'Path of the field at fault, e.g. `citizens[0].score`; empty for the whole document.' },
    reason: { type: 'string' },
  },
} as const;

/** `$id` of the shared error envelope, added to the server once (addSchema) and referenced by every route. */
export const ERROR_SCHEMA_ID = 'DwError';

/** What every refusal answers (src/server/app.ts' error handler, DwError.toJSON): docs/errors.md lists the codes. */
export const errorEnvelope = {
  $id: ERROR_SCHEMA_ID,
  title: 'DwError',
  description: `The error envelope of every refusal (docs/errors.md). Codes: ${ERROR_CODES.map((c) => `\`${c}\`: ${CODES[c]}`).join('; ')}.`,
  type: 'object',
  additionalProperties: false,
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', enum: ERROR_CODES, description: 'Stable error code (docs/errors.md).' },
    message: { type: 'string', description: 'Human-readable; names the field at fault. Never a stack trace.' },
    errors: { type: 'array', items: fieldError, description: 'Each field at fault and why, when fields are at fault.' },
    deadLettered: { type: 'boolean', description: 'POST /v1/reports: the rejected report was kept in the dead letters.' },
  },
} as const;

const RETRY_AFTER = { 'retry-after': { type: 'integer', minimum: 0, description: 'Seconds to wait before retrying.' } } as const;

/** One error response: the shared envelope, with what this status means on this route. */
export function error(description: string, opts: { retryAfter?: boolean } = {}) {
  return { description, $ref: `${ERROR_SCHEMA_ID}#`, ...(opts.retryAfter ? { headers: RETRY_AFTER } : {}) } as const;
}

/**
 * What a server may answer to any request: 401 (a public route still refuses a bad bearer token: the caller meant
 * it), 500 (DW_INTERNAL and the 500 codes of the stores) and 503 (the stream closed or unreachable).
 */
const ANY = {
  401: error('`DW_AUTH_REQUIRED`: an invalid, expired or revoked bearer token was sent (public routes need none, but refuse a bad one).'),
  500: error('`DW_INTERNAL` (an unexpected failure, logged by the server), or a store failure: `DW_OBJECTSTORE_FAILED`, `DW_STREAM_TOPIC_UNKNOWN`, `DW_CONFIG_INVALID`.'),
  // While the server closes, fastify itself answers 503 with a body of its own, before any route: not described here.
  503: error('The stream is closed (`DW_STREAM_CLOSED`: the server is shutting down) or did not answer in time (`DW_STREAM_UNAVAILABLE`).'),
} as const;

/** Refusals of routes that need a credential: none or a bad one (401), a role or CSRF token missing (403). */
const AUTHENTICATED = {
  401: error('`DW_AUTH_REQUIRED`: no credentials, or unknown, expired or revoked ones (session cookie, API token, drone credential).'),
  403: error("`DW_AUTH_FORBIDDEN`: the caller's roles do not grant this route; `DW_AUTH_CSRF`: a change made with a session cookie without its x-csrf-token header."),
} as const;

/** A request whose params, query string or body fastify validates. */
const INVALID = { 400: error('`DW_REQUEST_INVALID`: a parameter, the query string or the body is malformed; `errors` names each field.') } as const;

/** Routes that read a body: fastify's own refusals, answered with `DW_REQUEST_INVALID` and their status. */
const BODY = {
  ...INVALID,
  413: error('`DW_REQUEST_INVALID`: the body is over the request body limit.'),
  415: error('`DW_REQUEST_INVALID`: the Content-Type is not one this route reads (application/json).'),
} as const;

/**
 * The router's limit on one path parameter, as sent (percent-encoded): far above every parameter's own maxLength (at
 * most 200 characters, up to 12 encoded bytes each is 2,400), so that an overlong one gets the schema's 400 naming
 * the field, and the router's bare 414 is only for absurd URLs.
 */
export const MAX_PATH_PARAM_CHARS = 4096;

/** Routes with path parameters: the router refuses a longer parameter before the route (app.ts). */
const PATH = {
  ...INVALID,
  414: error(`\`DW_REQUEST_INVALID\`: a path parameter is over ${MAX_PATH_PARAM_CHARS} characters (refused by the router, before the route).`),
} as const;

export type ErrorSet = 'authenticated' | 'invalid' | 'body' | 'path';

/**
 * A route's responses: its own (success and route-specific errors) plus the sets it is exposed to. Every route gets
 * 401, 500 and 503; `authenticated` adds 403 (and says what 401 means there), `invalid` 400, `body` 400/413/415,
 * `path` (path parameters) 400/414.
 */
export function responses<T extends Record<number, object>>(own: T, ...sets: ErrorSet[]) {
  // OpenAPI requires a description of each response; a schema without one is described by its status.
  const described = Object.fromEntries(Object.entries(own).map(([status, s]) => [status, 'description' in s ? s : { ...s, description: STATUS_TEXT[status] ?? 'Success.' }]));
  return {
    ...ANY,
    ...(sets.includes('authenticated') ? AUTHENTICATED : {}),
    ...(sets.includes('invalid') ? INVALID : {}),
    ...(sets.includes('body') ? BODY : {}),
    ...(sets.includes('path') ? PATH : {}),
    ...described,
  };
}

const STATUS_TEXT: Record<string, string> = { 200: 'OK.', 201: 'Created.', 202: 'Accepted.', 204: 'Done; no content.' };

/** An empty answer (204, 304): `type: 'null'` makes @fastify/swagger describe it without content. */
export const noContent = (description: string) => ({ description, type: 'null' }) as const;

export const isoInstant = { type: 'string', format: 'date-time' } as const;
/** Epoch milliseconds. */
export const epochMs = { type: 'integer', description: 'Epoch milliseconds.' } as const;
export const nullable = <T extends { type: string }>(s: T) => ({ ...s, type: [s.type, 'null'] }) as const;
