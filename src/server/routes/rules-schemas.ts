import { LIMITS } from '../../rules/validate.ts';
import { error, responses } from './schemas/common.ts';

/**
 * Request and response schemas of the rule and silence routes (rules.ts, silences.ts); the types are src/rules/types.ts.
 * fastify checks the shape; src/rules/validate.ts checks the meaning (thresholds, closed rings, known zones) and
 * answers DW_RULES_INVALID naming each field.
 */
const TAGS = ['rules'];
const id = { type: 'string', pattern: '^[a-z0-9][a-z0-9:_-]{0,63}$' } as const;
const score = { type: 'number', minimum: 0, maximum: 100 } as const;
const severity = { type: 'string', enum: ['info', 'warning', 'critical'] } as const;
const reason = { type: 'string', minLength: 1, maxLength: LIMITS.reason, description: 'Why: kept with the version and in the audit log.' } as const;
const baseVersion = { type: 'integer', minimum: 0, description: 'The version this change was based on: refused with 409 `DW_RULES_CONFLICT` if another change came first.' } as const;
const position = { type: 'array', minItems: 2, maxItems: 3, items: { type: 'number' } } as const;
const ring = { type: 'array', minItems: 4, items: position } as const;

export const zone = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'geometry'],
  properties: {
    id,
    name: { type: 'string', maxLength: LIMITS.name },
    geometry: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'coordinates'],
      description: 'GeoJSON Polygon or MultiPolygon, positions [lon, lat], rings closed.',
      properties: {
        type: { type: 'string', enum: ['Polygon', 'MultiPolygon'] },
        // Polygon: rings; MultiPolygon: polygons, each rings (src/rules/validate.ts says which the type needs).
        coordinates: { type: 'array', minItems: 1, items: { anyOf: [ring, { type: 'array', minItems: 1, items: ring }] } },
      },
    },
  },
} as const;

export const rule = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'kind'],
  description: '`score`: a citizen below `threshold` alerts (critical below `criticalThreshold`); `words`: when one of `words` is heard, a citizen below `threshold` alerts with `severity`; `zone-entry`: one of `citizens` seen inside `zone` alerts with `severity`. `zone` on score and word rules: only inside that zone.',
  properties: {
    id,
    kind: { type: 'string', enum: ['score', 'words', 'zone-entry'] },
    enabled: { type: 'boolean' },
    threshold: score,
    criticalThreshold: score,
    words: { type: 'array', maxItems: LIMITS.words, items: { type: 'string', minLength: 1, maxLength: 200 } },
    citizens: { type: 'array', maxItems: LIMITS.citizens, items: { type: 'string', minLength: 1, maxLength: 200 } },
    severity,
    zone: id,
  },
} as const;

const ruleSetBody = {
  rules: { type: 'array', maxItems: LIMITS.rules, items: rule },
  zones: { type: 'array', maxItems: LIMITS.zones, items: zone },
} as const;

export const ruleSetVersion = {
  type: 'object',
  additionalProperties: false,
  required: ['tenant', 'version', 'author', 'at', 'reason', 'rules', 'zones'],
  properties: {
    tenant: { type: 'string' },
    version: { type: 'integer', minimum: 1 },
    author: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    reason: { type: 'string' },
    ...ruleSetBody,
  },
} as const;

const versionMeta = { type: 'object', additionalProperties: false, required: ['version', 'author', 'at', 'reason'], properties: { version: { type: 'integer' }, author: { type: 'string' }, at: { type: 'string', format: 'date-time' }, reason: { type: 'string' } } } as const;
const INVALID = error('`DW_RULES_INVALID`: the rules break their schema (`errors` names each field); `DW_REQUEST_INVALID`: malformed body.');
const CONFLICT = error('`DW_RULES_CONFLICT`: another change came first (baseVersion is no longer the version in force).');
const idParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id } } as const;

export const getRulesSchema = {
  tags: TAGS,
  summary: "The caller's tenant's rules in force (or one version of them)",
  description: "The configuration's rules are version 1 of a tenant that never changed them.",
  querystring: { type: 'object', additionalProperties: false, properties: { version: { type: 'integer', minimum: 1 } } },
  response: responses({ 200: ruleSetVersion, 404: error('`DW_NOT_FOUND`: no such version.') }, 'authenticated', 'invalid'),
} as const;

export const listVersionsSchema = {
  tags: TAGS,
  summary: 'Every version of the rules: who changed them, when and why',
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['versions'], properties: { versions: { type: 'array', items: versionMeta } } } }, 'authenticated'),
} as const;

export const postRulesSchema = {
  tags: TAGS,
  summary: 'Replace the whole rule set: a new version, taken up by every alert worker within seconds',
  body: { type: 'object', additionalProperties: false, required: ['rules', 'reason'], properties: { ...ruleSetBody, reason, baseVersion } },
  response: responses({ 201: ruleSetVersion, 400: INVALID, 409: CONFLICT }, 'authenticated', 'body'),
} as const;

export const putRuleSchema = {
  tags: TAGS,
  summary: 'Add or replace one rule (and the zones given with it): a new version',
  params: idParams,
  body: {
    type: 'object', additionalProperties: false, required: ['rule', 'reason'],
    properties: { rule: { ...rule, required: ['kind'], description: 'The rule; its id is the path\'s.' }, zones: ruleSetBody.zones, reason, baseVersion },
  },
  response: responses({ 200: ruleSetVersion, 400: INVALID, 409: CONFLICT }, 'authenticated', 'body', 'path'),
} as const;

export const deleteRuleSchema = {
  tags: TAGS,
  summary: 'Disable one rule: a new version in which it is kept but never fires',
  params: idParams,
  querystring: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason, baseVersion } },
  response: responses({ 200: ruleSetVersion, 404: error("`DW_RULE_NOT_FOUND`: no rule with that id in the rules in force."), 409: CONFLICT }, 'authenticated', 'path'),
} as const;

const silence = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'tenant', 'match', 'startsAt', 'endsAt', 'reason', 'author', 'createdAt'],
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    match: silenceMatch(),
    startsAt: { type: 'string', format: 'date-time' },
    endsAt: { type: 'string', format: 'date-time' },
    reason: { type: 'string' },
    author: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

function silenceMatch() {
  return {
    type: 'object', additionalProperties: false, required: ['kind', 'value'],
    description: 'What is silenced: alerts inside a zone of the rules in force, of one drone, or about one citizen.',
    properties: { kind: { type: 'string', enum: ['zone', 'drone', 'citizen'] }, value: { type: 'string', minLength: 1, maxLength: 200 } },
  } as const;
}

const SILENCE_TAGS = ['silences'];
export const listSilencesSchema = {
  tags: SILENCE_TAGS,
  summary: "The caller's tenant's silences (past, current and future)",
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['silences'], properties: { silences: { type: 'array', items: silence } } } }, 'authenticated'),
} as const;

export const addSilenceSchema = {
  tags: SILENCE_TAGS,
  summary: 'Silence alerts of a zone, a drone or a citizen for a time: stored (marked silenced), never announced live nor sent to webhooks',
  body: {
    type: 'object', additionalProperties: false, required: ['match', 'endsAt', 'reason'],
    properties: { match: silenceMatch(), startsAt: { type: 'string', format: 'date-time', description: 'Default: now.' }, endsAt: { type: 'string', format: 'date-time' }, reason },
  },
  response: responses({ 201: silence, 400: INVALID }, 'authenticated', 'body'),
} as const;

export const removeSilenceSchema = {
  tags: SILENCE_TAGS,
  summary: 'End a silence now (remove it)',
  params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
  response: responses({ 200: silence, 404: error("`DW_SILENCE_NOT_FOUND`: no silence with that id in the caller's tenant.") }, 'authenticated', 'path'),
} as const;

const incidentCounts = {
  type: 'object',
  additionalProperties: false,
  required: ['incidents', 'merged', 'gatherings', 'perDay', 'perZone'],
  description: 'The alerts grouped into incidents as the alert workers group them (incidents.radiusMeters, windowMinutes; docs/incidents.md).',
  properties: {
    incidents: { type: 'integer', description: 'Incidents at the end of the replay (one merged into another counts in that one).' },
    merged: { type: 'integer', description: 'Incidents absorbed into an older one when an alert linked them.' },
    gatherings: { type: 'integer', description: 'Incidents of two citizens or more (a lone alert is an incident too).' },
    perDay: { type: 'object', additionalProperties: { type: 'integer' }, description: 'UTC day (YYYY-MM-DD) of the incident\'s first sighting -> incidents.' },
    perZone: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Zone id of the proposed set containing the incident\'s centroid -> incidents; `(none)`: outside every zone.' },
  },
} as const;

const counts = {
  type: 'object',
  additionalProperties: false,
  required: ['alerts', 'sightings', 'perDay', 'perZone', 'perSeverity', 'perRule', 'incidents'],
  properties: {
    alerts: { type: 'integer', description: 'Alerts raised (sightings folded with the dedup window, as the alert state does).' },
    sightings: { type: 'integer', description: 'Sightings that raised or updated an alert.' },
    perDay: { type: 'object', additionalProperties: { type: 'integer' }, description: 'UTC day (YYYY-MM-DD) of the raising report -> alerts.' },
    perZone: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Zone id of the proposed set -> alerts raised inside it; `(none)`: outside every zone.' },
    perSeverity: { type: 'object', additionalProperties: { type: 'integer' } },
    perRule: { type: 'object', additionalProperties: { type: 'integer' } },
    incidents: incidentCounts,
  },
} as const;

const dryRunResult = {
  type: 'object',
  additionalProperties: false,
  required: ['tenant', 'from', 'to', 'reports', 'replayed', 'inForce', 'proposed', 'elapsedMs'],
  properties: {
    tenant: { type: 'string' },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    reports: { type: 'integer', description: 'Reports of the period.' },
    replayed: { type: 'integer', description: 'Reports some rule of either set could fire on (the others cannot alert).' },
    inForce: { ...counts, required: [...counts.required, 'version'], properties: { ...counts.properties, version: { type: 'integer' } } },
    proposed: counts,
    elapsedMs: { type: 'integer' },
  },
} as const;

export const dryRunSchema = {
  tags: TAGS,
  summary: 'Replay a proposed rule set over the lake\'s reports of a period: the alerts and incidents it would have raised, next to the rules in force',
  description: 'Runs in the analysis sandbox\'s limits (the tenant\'s files, memory, analysis.timeoutSeconds, the query slots: 429 when full). Never raises a live alert, writes nothing. At most 31 days.',
  body: { type: 'object', additionalProperties: false, required: ['rules', 'from', 'to'], properties: { ...ruleSetBody, from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' } } },
  response: responses({
    200: {
      description: 'The counts (application/json); with `Accept: application/x-ndjson`, a stream of lines: `{"replayed":N}` every 10,000 replayed reports, then `{"result":{...}}` (these counts) or `{"error":{code,message}}`.',
      content: { 'application/json': { schema: dryRunResult }, 'application/x-ndjson': { schema: { type: 'string' } } },
    },
    400: INVALID,
    408: error('`DW_QUERY_TIMEOUT`: the replay ran longer than analysis.timeoutSeconds.'),
    413: error('`DW_QUERY_TOO_LARGE`: the replay needs more memory than analysis.memoryLimit.'),
    429: error('`DW_QUERY_TOO_MANY`: as many queries as allowed already run.', { retryAfter: true }),
  }, 'authenticated', 'body'),
} as const;
