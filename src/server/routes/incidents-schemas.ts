import { epochMs, error, nullable, responses } from './schemas/common.ts';

/**
 * Request and response schemas of the incident routes (src/server/routes/incidents.ts); the types are
 * src/incidents/types.ts. fastify keeps only the properties a response schema names, so every field the API answers
 * is listed here; the same schemas describe the routes in /openapi.json.
 */
const TAGS = ['incidents'];
const STATUS = '(open|acknowledged|resolved|merged)';
const NUM = '-?\\d+(\\.\\d+)?';
const latLon = { type: 'object', additionalProperties: false, required: ['lat', 'lon'], properties: { lat: { type: 'number' }, lon: { type: 'number' } } } as const;
const severity = { type: 'string', enum: ['info', 'warning', 'critical'] } as const;
const actor = { type: 'string', minLength: 1, maxLength: 200 } as const;
const note = { type: 'string', maxLength: 4000 } as const;
const byField = { ...actor, description: 'Who made the change: used only when authentication is off (otherwise the caller).' } as const;
const idParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;

const NOT_FOUND = error("`DW_INCIDENT_NOT_FOUND`: no incident with that id in the caller's tenant.");
const BAD_TRANSITION = error("`DW_INCIDENT_BAD_TRANSITION`: the change is not allowed from the incident's status (a merged incident is changed through `mergedInto`).");

export const incident = {
  type: 'object',
  additionalProperties: false,
  required: ['incidentId', 'tenant', 'status', 'severity', 'centroid', 'bbox', 'radiusM', 'firstAt', 'lastAt', 'citizenCount', 'droneCount',
    'alertCount', 'lowestScore', 'growing', 'growth', 'openedAt', 'updatedAt', 'assignee', 'acknowledgedBy', 'acknowledgedAt', 'resolvedBy',
    'resolvedAt', 'note', 'mergedInto'],
  properties: {
    incidentId: { type: 'string' },
    tenant: { type: 'string' },
    status: { type: 'string', enum: ['open', 'acknowledged', 'resolved', 'merged'] },
    severity,
    centroid: { ...latLon, description: "Mean of the distinct citizens' latest positions." },
    bbox: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4, description: '[minLat, minLon, maxLat, maxLon] of every position its alerts were seen at.' },
    radiusM: { type: 'number', description: "Largest distance from the centroid to a citizen's latest position, metres." },
    firstAt: { ...epochMs, description: 'Report time of its first sighting (epoch ms).' },
    lastAt: { ...epochMs, description: 'Report time of its latest sighting (epoch ms).' },
    citizenCount: { type: 'integer', minimum: 1, description: 'Distinct citizens: one seen by several drones counts once.' },
    droneCount: { type: 'integer', minimum: 1 },
    alertCount: { type: 'integer', minimum: 1 },
    lowestScore: { type: 'number' },
    growing: { type: 'boolean', description: 'New citizens per minute at or above incidents.growingCitizensPerMinute, or spreading.' },
    growth: {
      type: 'object', additionalProperties: false, required: ['citizensPerMinute', 'radiusGrowthM', 'spreading'],
      properties: { citizensPerMinute: { type: 'number' }, radiusGrowthM: { type: 'number' }, spreading: { type: 'boolean' } },
    },
    openedAt: { ...epochMs, description: 'When the platform opened it (reaction times count from here).' },
    updatedAt: epochMs,
    assignee: nullable({ type: 'string' }),
    acknowledgedBy: nullable({ type: 'string' }),
    acknowledgedAt: nullable(epochMs),
    resolvedBy: nullable({ type: 'string' }),
    resolvedAt: nullable(epochMs),
    note: nullable({ type: 'string' }),
    mergedInto: nullable({ type: 'string' }),
  },
} as const;

const member = {
  type: 'object', additionalProperties: false,
  required: ['alertId', 'citizen', 'droneId', 'lat', 'lon', 'score', 'severity', 'firstSeenTs', 'lastSeenTs'],
  properties: {
    alertId: { type: 'string' }, citizen: { type: 'string' }, droneId: { type: 'string' }, lat: { type: 'number' }, lon: { type: 'number' },
    score: { type: 'number' }, severity, firstSeenTs: epochMs, lastSeenTs: epochMs,
  },
} as const;

const timelineEntry = {
  type: 'object', additionalProperties: false, required: ['at', 'type', 'by'],
  properties: {
    at: epochMs,
    type: { type: 'string', enum: ['opened', 'alert-joined', 'severity-raised', 'growing', 'absorbed', 'merged-into', 'acknowledged', 'assigned', 'resolved'] },
    by: nullable({ type: 'string' }), alertId: { type: 'string' }, citizen: { type: 'string' }, detail: { type: 'string' },
  },
} as const;

const alertState = {
  type: 'object', additionalProperties: false, required: ['alertId', 'status', 'citizen', 'droneId', 'score', 'severity', 'position', 'lastSeenTs'],
  properties: {
    alertId: { type: 'string' },
    status: { type: 'string', enum: ['open', 'acknowledged', 'resolved'] },
    citizen: { type: 'string' }, droneId: { type: 'string' }, score: { type: 'number' }, severity, position: latLon, lastSeenTs: epochMs,
    assignee: nullable({ type: 'string' }), acknowledgedBy: nullable({ type: 'string' }), resolvedBy: nullable({ type: 'string' }),
  },
} as const;

export const listIncidentsSchema = {
  tags: TAGS,
  summary: "The caller's tenant's incidents, latest activity first",
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      status: { type: 'string', pattern: `^${STATUS}(,${STATUS})*$`, description: 'One status or several, comma-separated (default: all).' },
      since: { type: 'string', format: 'date-time', description: 'Only incidents active (latest sighting) at or after this instant.' },
      bbox: { type: 'string', pattern: `^${NUM},${NUM},${NUM},${NUM}$`, description: 'minLat,minLon,maxLat,maxLon of the centroid.' },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    },
  },
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['incidents'], properties: { incidents: { type: 'array', items: incident } } } }, 'authenticated', 'invalid'),
} as const;

export const getIncidentSchema = {
  tags: TAGS,
  summary: 'One incident with its alerts and timeline',
  params: idParams,
  response: responses({
    200: {
      type: 'object', additionalProperties: false, required: ['incident', 'members', 'alerts', 'timeline'],
      properties: {
        incident,
        members: { type: 'array', items: member, description: 'Its alerts as the grouping last saw them.' },
        alerts: { type: 'array', items: alertState, description: "Its alerts' current lifecycle state (alerts past the state's retention are left out)." },
        timeline: { type: 'array', items: timelineEntry },
      },
    },
    404: NOT_FOUND,
  }, 'authenticated', 'path'),
} as const;

const changeAnswer = {
  type: 'object', additionalProperties: false, required: ['incident', 'alertsChanged', 'alertsUnchanged'],
  properties: {
    incident: { ...incident, description: "The incident's state after the change." },
    alertsChanged: { type: 'integer', minimum: 0, description: 'Its alerts changed with it (the same change, in the same name).' },
    alertsUnchanged: { type: 'integer', minimum: 0, description: 'Its alerts already in that state (e.g. acknowledged before), or gone from the state.' },
  },
} as const;

const lifecycle = (summary: string, body: Record<string, unknown>) => ({
  tags: TAGS,
  summary,
  params: idParams,
  body,
  response: responses({ 200: changeAnswer, 404: NOT_FOUND, 409: BAD_TRANSITION }, 'authenticated', 'body', 'path'),
}) as const;

export const ackIncidentSchema = lifecycle("Acknowledge an incident and its open alerts, in the caller's name", { type: 'object', additionalProperties: false, properties: { by: byField, note } });
export const assignIncidentSchema = lifecycle('Assign an incident and its unresolved alerts', { type: 'object', additionalProperties: false, required: ['assignee'], properties: { by: byField, assignee: actor } });
export const resolveIncidentSchema = lifecycle('Resolve an incident and its unresolved alerts', { type: 'object', additionalProperties: false, properties: { by: byField, note } });

const duration = {
  type: 'object', additionalProperties: false, required: ['count', 'p50Ms', 'p90Ms', 'meanMs', 'maxMs'],
  properties: { count: { type: 'integer', minimum: 0 }, p50Ms: nullable({ type: 'number' }), p90Ms: nullable({ type: 'number' }), meanMs: nullable({ type: 'number' }), maxMs: nullable({ type: 'number' }) },
} as const;

export const incidentReactionSchema = {
  tags: TAGS,
  summary: 'Time to acknowledge and to resolve the incidents opened in [from, to)',
  querystring: { type: 'object', additionalProperties: false, required: ['from'], properties: { from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' } } },
  response: responses({
    200: {
      type: 'object', additionalProperties: false, required: ['from', 'to', 'incidents', 'open', 'toAcknowledge', 'toResolve'],
      properties: { from: epochMs, to: epochMs, incidents: { type: 'integer', minimum: 0 }, open: { type: 'integer', minimum: 0 }, toAcknowledge: duration, toResolve: duration },
    },
  }, 'authenticated', 'invalid'),
} as const;
