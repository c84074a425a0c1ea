import { NOTIFY_LIMITS } from '../../notify/validate.ts';
import { MAX_DELIVERY_LIMIT } from '../../notify/store.ts';
import { error, responses } from './schemas/common.ts';

/**
 * Request and response schemas of the notification routes (notify.ts); the types are src/notify/types.ts. fastify
 * checks the shape; src/notify/validate.ts checks the meaning (targets named by routes exist, levels in order) and
 * answers DW_NOTIFY_INVALID naming each field.
 */
const TAGS = ['notifications'];
const id = { type: 'string', pattern: '^[a-z0-9][a-z0-9:_-]{0,63}$' } as const;
const minutes = { type: 'number', minimum: NOTIFY_LIMITS.minMinutes, maximum: NOTIFY_LIMITS.maxMinutes } as const;
const targetIds = { type: 'array', minItems: 1, maxItems: NOTIFY_LIMITS.targets, items: id } as const;
const reason = { type: 'string', minLength: 1, maxLength: NOTIFY_LIMITS.reason, description: 'Why: kept with the version and in the audit log.' } as const;

const route = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'targets'],
  description: 'Routes are tried in order: the first that matches wins, unless it says `continue`. No route matches: the alert is notified to nobody.',
  properties: {
    id,
    match: {
      type: 'object', additionalProperties: false,
      description: 'Every listed condition must hold (absent: any); within a list, any value.',
      properties: {
        severities: { type: 'array', minItems: 1, maxItems: 3, items: { type: 'string', enum: ['info', 'warning', 'critical'] } },
        zones: { type: 'array', minItems: 1, maxItems: NOTIFY_LIMITS.listed, items: id, description: 'Zone ids of the rules in force: the alert is inside one.' },
        rules: { type: 'array', minItems: 1, maxItems: NOTIFY_LIMITS.listed, items: id, description: 'Rule ids (`alert.rule`).' },
      },
    },
    targets: targetIds,
    repeatMinutes: { ...minutes, description: 'Sent again every this many minutes while the alert is open.' },
    escalate: {
      type: 'array', maxItems: NOTIFY_LIMITS.levels, description: 'Each level once, when the alert is still open that long after it was raised.',
      items: { type: 'object', additionalProperties: false, required: ['afterMinutes', 'targets'], properties: { afterMinutes: minutes, targets: targetIds } },
    },
    continue: { type: 'boolean' },
    subject: { type: 'string', enum: ['alert', 'incident'], description: '`alert` (default): each alert; `incident`: each incident (alerts grouped by place and time), matched on its severity and centroid, escalated while the incident is not acknowledged.' },
  },
} as const;

const targetIn = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'url'],
  properties: {
    id,
    url: { type: 'string', minLength: 1, maxLength: NOTIFY_LIMITS.url, description: 'http:// or https://' },
    secret: { type: 'string', minLength: 1, maxLength: NOTIFY_LIMITS.secret, description: 'HMAC-SHA256 key of `x-dronewatch-signature`. Omitted: the same target (id and URL) keeps its secret.' },
    timeoutMs: { type: 'integer', minimum: 100, maximum: NOTIFY_LIMITS.timeoutMs },
    hasSecret: { type: 'boolean', description: 'Ignored (what GET answers, so its answer can be sent back).' },
  },
} as const;

const targetOut = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'url', 'hasSecret'],
  properties: { id: { type: 'string' }, url: { type: 'string' }, hasSecret: { type: 'boolean' }, timeoutMs: { type: 'integer' } },
} as const;

const policyVersion = {
  type: 'object',
  additionalProperties: false,
  required: ['tenant', 'version', 'author', 'at', 'reason', 'targets', 'routes'],
  properties: {
    tenant: { type: 'string' },
    version: { type: 'integer', minimum: 0, description: "0: the configuration's alerts.webhooks (every event to each), until a policy is written." },
    author: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    reason: { type: 'string' },
    targets: { type: 'array', items: targetOut },
    routes: { type: 'array', items: route },
  },
} as const;

const versionMeta = { type: 'object', additionalProperties: false, required: ['version', 'author', 'at', 'reason'], properties: { version: { type: 'integer' }, author: { type: 'string' }, at: { type: 'string', format: 'date-time' }, reason: { type: 'string' } } } as const;

export const getPolicySchema = {
  tags: TAGS,
  summary: "The caller's tenant's notification policy in force (or one version of it); secrets are never shown",
  querystring: { type: 'object', additionalProperties: false, properties: { version: { type: 'integer', minimum: 0 } } },
  response: responses({ 200: policyVersion, 404: error('`DW_NOT_FOUND`: no such version.') }, 'authenticated', 'invalid'),
} as const;

export const listPolicyVersionsSchema = {
  tags: TAGS,
  summary: 'Every version of the notification policy: who changed it, when and why',
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['versions'], properties: { versions: { type: 'array', items: versionMeta } } } }, 'authenticated'),
} as const;

export const putPolicySchema = {
  tags: TAGS,
  summary: 'Replace the notification policy: a new version, in force in every process within seconds',
  body: {
    type: 'object', additionalProperties: false, required: ['targets', 'routes', 'reason'],
    properties: {
      targets: { type: 'array', maxItems: NOTIFY_LIMITS.targets, items: targetIn },
      routes: { type: 'array', maxItems: NOTIFY_LIMITS.routes, items: route },
      reason,
      baseVersion: { type: 'integer', minimum: 0, description: 'The version this change was based on: refused with 409 `DW_NOTIFY_CONFLICT` if another change came first.' },
    },
  },
  response: responses({
    200: policyVersion,
    400: error('`DW_NOTIFY_INVALID`: the policy breaks its schema (`errors` names each field); `DW_REQUEST_INVALID`: malformed body.'),
    409: error('`DW_NOTIFY_CONFLICT`: another change came first (baseVersion is no longer the version in force).'),
  }, 'authenticated', 'body'),
} as const;

const delivery = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'tenant', 'at', 'eventId', 'kind', 'route', 'target', 'attempt', 'status'],
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    alertId: { type: 'string', description: 'The alert notified (alert routes and version 0).' },
    incidentId: { type: 'string', description: 'The incident notified (incident routes).' },
    eventId: { type: 'string' },
    kind: { type: 'string', enum: ['notify', 'repeat', 'escalation', 'acknowledged', 'resolved', 'event'], description: '`event`: an alert event to a webhook of version 0 (alerts.webhooks).' },
    route: { type: 'string' },
    target: { type: 'string', description: "The target's id (never its URL)." },
    attempt: { type: 'integer', minimum: 0, description: '0: dropped unsent (the target\'s queue was full).' },
    status: { type: 'string', enum: ['delivered', 'retrying', 'failed', 'dropped'] },
    httpStatus: { type: 'integer' },
    error: { type: 'string' },
  },
} as const;

export const listDeliveriesSchema = {
  tags: TAGS,
  summary: "Every delivery attempt of the caller's tenant's notifications, newest first",
  querystring: {
    type: 'object', additionalProperties: false,
    properties: {
      alertId: { type: 'string', minLength: 1, maxLength: 64 },
      incidentId: { type: 'string', minLength: 1, maxLength: 64 },
      status: { type: 'string', enum: ['delivered', 'retrying', 'failed', 'dropped'] },
      since: { type: 'string', format: 'date-time' },
      limit: { type: 'integer', minimum: 1, maximum: MAX_DELIVERY_LIMIT },
    },
  },
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['deliveries'], properties: { deliveries: { type: 'array', items: delivery } } } }, 'authenticated', 'invalid'),
} as const;
