import { reportSchemaV1 } from '../../../contract/schema.ts';
import { epochMs, error, fieldError, nullable, responses, ERROR_SCHEMA_ID } from './common.ts';

/** Request and response schemas of ingestion, dead letters, health, the live fleet and the dashboard's routes. */

// ---- POST /v1/reports ----

const batchResult = {
  type: 'object',
  additionalProperties: false,
  required: ['accepted', 'rejected'],
  properties: {
    accepted: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['reportId', 'duplicate', 'index'], properties: { reportId: { type: 'string' }, duplicate: { type: 'boolean', description: 'Stored before (a resend): not stored twice.' }, index: { type: 'integer', minimum: 0 } } },
    },
    rejected: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['index', 'code', 'errors'], properties: { index: { type: 'integer', minimum: 0 }, code: { type: 'string' }, errors: { type: 'array', items: fieldError } } },
    },
  },
} as const;
const errorRef = { $ref: `${ERROR_SCHEMA_ID}#` } as const;
/**
 * The report schema as it can sit inside the description, twice (one report, an array of them): without $id and
 * $schema, which must be unique in a document, and with its `#/$defs/...` references replaced by their definitions
 * (inside the description, `#` is the document's root, not the report schema's).
 */
function embeddable(schema: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { $id: _id, $schema: _schema, $defs, ...rest } = schema;
  const defs = ($defs ?? {}) as Record<string, unknown>;
  const inline = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(inline);
    if (typeof v !== 'object' || v === null) return v;
    const ref = (v as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/$defs/')) return inline(defs[ref.slice('#/$defs/'.length)]);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, inline(x)]));
  };
  return inline(rest) as Record<string, unknown>;
}
const report = embeddable(reportSchemaV1);

/**
 * The body as the OpenAPI description shows it. Not a fastify body schema on purpose: the route reads any body itself
 * (src/server/routes/reports.ts) so that the ingestor judges every one and keeps each rejection as a dead letter.
 */
export const reportsRequestBody = {
  content: {
    'application/json': { schema: { oneOf: [report, { type: 'array', items: report }] } },
    'application/x-ndjson': { schema: { type: 'string', description: 'One report per line.' } },
  },
} as const;

export const reportsSchema = {
  tags: ['ingestion'],
  summary: 'Ingest one report (JSON), an array of reports, or NDJSON (drone or gateway credentials)',
  description: 'Every report is judged on its own: rejected ones are kept in the dead letters with the reason. Any Content-Type but NDJSON is read as JSON. The body is read by the route itself, whatever its Content-Type, so that every rejection is dead-lettered.',
  response: responses({
    202: { ...batchResult, description: 'Every report accepted (stored on the stream before this answer).' },
    207: { ...batchResult, description: 'Some reports accepted, some rejected (dead-lettered).' },
    400: { description: 'No report accepted: one rejected report answers the error envelope (`DW_INGEST_INVALID`, `DW_INGEST_MALFORMED`, `DW_INGEST_TOO_DEEP`, with `deadLettered`), several answer the batch result.', oneOf: [errorRef, batchResult] },
    403: error('`DW_AUTH_FORBIDDEN`: not a drone credential, or a drone publishing as another drone (dead-lettered).'),
    413: error('`DW_INGEST_TOO_LARGE`: the report or the whole body is over its limit (dead-lettered).'),
    429: error('`DW_INGEST_RATE_LIMITED`: this drone sends faster than its limit; nothing of the request was stored.', { retryAfter: true }),
    503: error('Nothing of the request was stored: `DW_INGEST_BACKPRESSURE` (the consumers lag too far behind, or ingestion is at its limit of requests, bytes or event-loop delay), `DW_STORAGE_FULL` (the disk is under the free space kept), `DW_STREAM_CLOSED`, `DW_STREAM_UNAVAILABLE`.', { retryAfter: true }),
  }, 'authenticated'),
} as const;

// ---- GET /v1/dead-letters ----

export const deadLettersSchema = {
  tags: ['ingestion'],
  summary: "The caller's tenant's rejected reports, oldest first, with the reason and the raw bytes",
  querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 }, since: { type: 'string', format: 'date-time' } } },
  response: responses({
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['deadLetters'],
      properties: {
        deadLetters: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['receivedAt', 'source', 'tenant', 'index', 'code', 'reason', 'errors', 'rawBase64', 'rawBytes', 'truncated', 'partition', 'offset', 'storedAt'],
            properties: {
              receivedAt: epochMs,
              source: { type: 'string' },
              tenant: { type: 'string' },
              index: { type: 'integer', minimum: 0 },
              code: { type: 'string' },
              reason: { type: 'string' },
              errors: { type: 'array', items: fieldError },
              rawBase64: { type: 'string', contentEncoding: 'base64' },
              rawBytes: { type: 'integer', minimum: 0 },
              truncated: { type: 'boolean' },
              rawSha256: { type: 'string' },
              partition: { type: 'integer', minimum: 0 },
              offset: { type: 'integer', minimum: 0 },
              storedAt: epochMs,
            },
          },
        },
      },
    },
  }, 'authenticated', 'invalid'),
} as const;

// ---- health (public: no data) ----

// Lag per consumer group, and component summaries whose fields differ per component (open-ended on purpose).
const lag = { type: 'object', additionalProperties: { type: 'integer' } } as const;

export const healthSchema = {
  tags: ['health'],
  summary: 'Status and consumer lag',
  response: responses({
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['status', 'uptimeSeconds'],
      properties: { status: { type: 'string', enum: ['ok', 'overloaded'] }, uptimeSeconds: { type: 'integer', minimum: 0 }, lag, components: { type: 'object', additionalProperties: true } },
    },
  }),
} as const;

export const liveSchema = {
  tags: ['health'],
  summary: 'Liveness probe: the process serves HTTP',
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['status', 'uptimeSeconds'], properties: { status: { type: 'string', enum: ['live'] }, uptimeSeconds: { type: 'integer', minimum: 0 } } } }),
} as const;

export const readySchema = {
  tags: ['health'],
  summary: 'Readiness probe: the stream answers and the consumers keep up',
  response: responses({
    200: { type: 'object', additionalProperties: false, required: ['status'], properties: { status: { type: 'string', enum: ['ready'] }, lag } },
    503: { description: 'Not ready, with the reasons.', type: 'object', additionalProperties: false, required: ['status', 'reasons'], properties: { status: { type: 'string', enum: ['not ready'] }, reasons: { type: 'array', items: { type: 'string' } } } },
  }),
} as const;

// ---- live fleet ----

const position = {
  type: 'object',
  additionalProperties: false,
  required: ['tenant', 'droneId', 'lat', 'lon', 'ts', 'appendedAt'],
  properties: { tenant: { type: 'string' }, droneId: { type: 'string' }, lat: { type: 'number' }, lon: { type: 'number' }, ts: epochMs, appendedAt: epochMs },
} as const;

const fleetHealth = {
  type: 'object',
  additionalProperties: false,
  required: ['at', 'drones', 'reportsPerSecond', 'reportsRead', 'reportsSkipped', 'newestTs', 'silentAfterMs', 'silentCount', 'silent', 'lag', 'consumers', 'overloaded'],
  properties: {
    at: epochMs,
    drones: { type: 'integer', minimum: 0 },
    reportsPerSecond: { type: 'number' },
    reportsRead: { type: 'integer', minimum: 0 },
    reportsSkipped: { type: 'integer', minimum: 0 },
    newestTs: epochMs,
    silentAfterMs: { type: 'integer' },
    silentCount: { type: 'integer', minimum: 0 },
    silent: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['droneId', 'lastTs', 'lastAppendedAt', 'silentForMs', 'lat', 'lon'],
        properties: { droneId: { type: 'string' }, lastTs: epochMs, lastAppendedAt: epochMs, silentForMs: { type: 'integer' }, lat: { type: 'number' }, lon: { type: 'number' } },
      },
    },
    lag: { type: 'integer', description: "Unread records of the tracker's own group (-1 until known)." },
    consumers: lag,
    overloaded: { type: 'boolean' },
  },
} as const;

export const fleetSchema = {
  tags: ['fleet'],
  summary: "Every tracked drone's last position and the fleet's health",
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['drones', 'health'], properties: { drones: { type: 'array', items: position }, health: fleetHealth } } }, 'authenticated'),
} as const;

export const trackSchema = {
  tags: ['fleet'],
  summary: "A drone's recent positions, oldest first (empty if not tracked)",
  params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
  response: responses({
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['droneId', 'track'],
      properties: { droneId: { type: 'string' }, track: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['lat', 'lon', 'ts'], properties: { lat: { type: 'number' }, lon: { type: 'number' }, ts: epochMs } } } },
    },
  }, 'authenticated', 'path'),
} as const;

export const fleetStreamSchema = {
  tags: ['fleet'],
  summary: 'Live positions and health (Server-Sent Events)',
  description: '`snapshot` on connect (`{ drones: [[droneId, lat, lon, ts], ...], health }`), then `positions` (the drones that moved, at most every 250 ms) and `health` (every second).',
  response: responses({ 200: { description: 'An endless event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } } }, 'authenticated'),
} as const;

// ---- dashboard ----

export const dashboardConfigSchema = {
  tags: ['dashboard'],
  summary: "The dashboard's map settings",
  response: responses({
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['tileUrl', 'tileAttribution', 'tileMaxZoom', 'bbox', 'alertThreshold', 'criticalThreshold'],
      properties: {
        tileUrl: nullable({ type: 'string' }),
        tileAttribution: { type: 'string' },
        tileMaxZoom: { type: 'integer' },
        bbox: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4, description: '[minLat, minLon, maxLat, maxLon]' },
        alertThreshold: { type: 'number' },
        criticalThreshold: { type: 'number' },
      },
    },
  }, 'authenticated'),
} as const;

/** A file of the built dashboard (web/dist), served from memory with an ETag. */
export const assetSchema = (url: string, type: string) => ({
  tags: ['dashboard'],
  summary: `Dashboard file ${url}`,
  response: responses({
    200: { description: 'The file (gzip when accepted).', content: { [type.split(';')[0]!]: { schema: { type: 'string' } } } },
    304: { description: 'Not modified (If-None-Match matched the ETag).', type: 'null' },
  }),
});

export const notBuiltSchema = {
  tags: ['dashboard'],
  summary: 'The dashboard is not built: a page that says how to build it',
  response: responses({ 503: { description: 'How to build the dashboard.', content: { 'text/html': { schema: { type: 'string' } } } } }),
} as const;

export const tileSchema = {
  tags: ['dashboard'],
  summary: 'A tile of the local raster tile set',
  params: { type: 'object', additionalProperties: false, required: ['z', 'x', 'file'], properties: { z: { type: 'string', maxLength: 64 }, x: { type: 'string', maxLength: 64 }, file: { type: 'string', maxLength: 64, description: '`<y>.png` (or .jpg, .jpeg, .webp).' } } },
  response: responses({
    200: { description: 'The tile.', content: { 'image/png': { schema: { type: 'string' } }, 'image/jpeg': { schema: { type: 'string' } }, 'image/webp': { schema: { type: 'string' } } } },
    404: error('`DW_NOT_FOUND`: no such tile.'),
  }, 'path'),
} as const;
