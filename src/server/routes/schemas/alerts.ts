import { epochMs, error, nullable, responses } from './common.ts';

/** Request and response schemas of the alert routes (src/server/routes/alerts.ts); the Alert type is src/alerts/types.ts. */

const TAGS = ['alerts'];
const STATUS = '(open|acknowledged|resolved)';
const NUM = '-?\\d+(\\.\\d+)?';
const alertIdParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;
const actor = { type: 'string', minLength: 1, maxLength: 200 } as const;
const note = { type: 'string', maxLength: 4000 } as const;
const byField = { ...actor, description: 'Who made the change: used only when authentication is off (otherwise the caller).' } as const;

export const alert = {
  type: 'object',
  additionalProperties: false,
  required: ['alertId', 'tenant', 'droneId', 'citizen', 'score', 'severity', 'rule', 'position', 'words', 'firstReportId', 'lastReportId', 'firstSeenTs', 'lastSeenTs', 'raisedAt', 'updatedAt', 'occurrences', 'status', 'assignee', 'acknowledgedBy', 'acknowledgedAt', 'resolvedBy', 'resolvedAt', 'note'],
  properties: {
    alertId: { type: 'string' },
    tenant: { type: 'string' },
    droneId: { type: 'string' },
    citizen: { type: 'string' },
    score: { type: 'number', description: 'Lowest score seen for this citizen in this alert.' },
    severity: { type: 'string', enum: ['info', 'warning', 'critical'] },
    rule: { type: 'string', description: "The id of the rule that raised it in the tenant's rule set (`score-below-threshold` and `words:<index>` for the configuration's rules)." },
    ruleVersion: { type: 'integer', minimum: 1, description: 'Version of the rule set that raised it (GET /v1/rules?version=); absent on alerts raised before rules were data.' },
    silenced: { type: 'string', description: 'Id of the silence it fell under: stored but never announced live nor sent to webhooks. Absent: not silenced.' },
    position: { type: 'object', additionalProperties: false, required: ['lat', 'lon'], properties: { lat: { type: 'number' }, lon: { type: 'number' } } },
    words: { type: 'array', items: { type: 'string' } },
    firstReportId: { type: 'string' },
    lastReportId: { type: 'string' },
    firstSeenTs: epochMs,
    lastSeenTs: epochMs,
    raisedAt: epochMs,
    updatedAt: epochMs,
    occurrences: { type: 'integer', minimum: 1 },
    status: { type: 'string', enum: ['open', 'acknowledged', 'resolved'] },
    assignee: nullable({ type: 'string' }),
    acknowledgedBy: nullable({ type: 'string' }),
    acknowledgedAt: nullable(epochMs),
    resolvedBy: nullable({ type: 'string' }),
    resolvedAt: nullable(epochMs),
    note: nullable({ type: 'string' }),
  },
} as const;

const NOT_FOUND = error("`DW_ALERT_NOT_FOUND`: no alert with that id in the caller's tenant.");
const BAD_TRANSITION = error("`DW_ALERT_BAD_TRANSITION`: the change is not allowed from the alert's status (e.g. acknowledging a resolved alert).");

export const listAlertsSchema = {
  tags: TAGS,
  summary: "The caller's tenant's alerts, newest first",
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      // One status, or several separated by commas (`open,acknowledged`: what still needs an officer).
      status: { type: 'string', pattern: `^${STATUS}(,${STATUS})*$`, description: 'One status or several, comma-separated.' },
      droneId: { type: 'string', minLength: 1, maxLength: 64 },
      since: { type: 'string', format: 'date-time' },
      bbox: { type: 'string', pattern: `^${NUM},${NUM},${NUM},${NUM}$`, description: 'minLat,minLon,maxLat,maxLon of the latest position.' },
      limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
    },
  },
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['alerts'], properties: { alerts: { type: 'array', items: alert } } } }, 'authenticated', 'invalid'),
} as const;

const duration = {
  type: 'object',
  additionalProperties: false,
  required: ['count', 'p50Ms', 'p90Ms', 'meanMs', 'maxMs'],
  properties: { count: { type: 'integer', minimum: 0 }, p50Ms: nullable({ type: 'number' }), p90Ms: nullable({ type: 'number' }), meanMs: nullable({ type: 'number' }), maxMs: nullable({ type: 'number' }) },
} as const;

export const reactionTimeSchema = {
  tags: TAGS,
  summary: 'Time to acknowledge and to resolve the alerts raised in [from, to)',
  querystring: { type: 'object', additionalProperties: false, required: ['from'], properties: { from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' } } },
  response: responses({
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['from', 'to', 'alerts', 'open', 'toAcknowledge', 'toResolve'],
      properties: { from: epochMs, to: epochMs, alerts: { type: 'integer', minimum: 0 }, open: { type: 'integer', minimum: 0 }, toAcknowledge: duration, toResolve: duration },
    },
  }, 'authenticated', 'invalid'),
} as const;

export const getAlertSchema = {
  tags: TAGS,
  summary: 'One alert',
  params: alertIdParams,
  response: responses({ 200: alert, 404: NOT_FOUND }, 'authenticated', 'path'),
} as const;

const lifecycle = (summary: string, body: Record<string, unknown>) => ({
  tags: TAGS,
  summary,
  params: alertIdParams,
  body,
  response: responses({ 200: { ...alert, description: "The alert's state after the change." }, 404: NOT_FOUND, 409: BAD_TRANSITION }, 'authenticated', 'body', 'path'),
}) as const;

export const ackSchema = lifecycle('Acknowledge an alert, in the caller\'s name', { type: 'object', additionalProperties: false, properties: { by: byField, note } });
export const assignSchema = lifecycle('Assign an alert to an officer', { type: 'object', additionalProperties: false, required: ['assignee'], properties: { by: byField, assignee: actor } });
export const resolveSchema = lifecycle('Resolve an alert', { type: 'object', additionalProperties: false, properties: { by: byField, note } });

export const alertStreamSchema = {
  tags: TAGS,
  summary: 'Live alert events of the caller\'s tenant (Server-Sent Events)',
  description: 'One event per alert change, written the moment it happens: `id:` the event id, `event:` its type (raised, updated, acknowledged, assigned, resolved), `data:` the AlertEvent as JSON; incident changes on the same stream as `event: incident.<type>` with the IncidentEvent. A comment every 15 s keeps proxies from closing the connection; the stream ends when the credential stops being valid.',
  response: responses({ 200: { description: 'An endless event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } } }, 'authenticated'),
} as const;
