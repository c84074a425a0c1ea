import type { FastifyRequest } from 'fastify';
import type { AuditAction, Permission } from '../../security/index.ts';

/**
 * Who may call what, in one table: every `/v1/` route must have an entry, or the server refuses to start (a route
 * nobody classified is a hole, so the default is to fail closed). Routes outside `/v1/` are the dashboard's static
 * files and `/health`: public, they hold no data.
 *
 * - `permission`: the principal's roles must grant it;
 * - `drone`: a drone credential (or a gateway), never an officer;
 * - `authenticated`: any logged-in principal (its own profile, logout);
 * - `public`: login itself.
 * `audit`: what the access discloses or changes, recorded before the handler runs (an attempt is logged even if the
 * handler then fails). Accesses refused for lack of a role are recorded as `access.denied`.
 */
export type Access =
  | { kind: 'permission'; permission: Permission }
  | { kind: 'drone' }
  | { kind: 'authenticated' }
  | { kind: 'public' };

export interface AuditSpec {
  action: AuditAction;
  target?: (req: FastifyRequest) => string | undefined;
  details?: (req: FastifyRequest) => Record<string, unknown>;
}

export interface RouteRule {
  access: Access;
  audit?: AuditSpec;
}

const perm = (permission: Permission, audit?: AuditSpec): RouteRule => ({ access: { kind: 'permission', permission }, ...(audit ? { audit } : {}) });
const param = (name: string) => (req: FastifyRequest): string | undefined => (req.params as Record<string, string | undefined>)[name];
const body = (req: FastifyRequest): Record<string, unknown> => (typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {});
const query = (req: FastifyRequest): Record<string, unknown> => ({ ...(req.query as Record<string, unknown>) });
/** A policy's targets as audited: a secret is recorded as set, never its value. */
const targetsWithoutSecrets = (t: unknown): unknown => (Array.isArray(t)
  ? t.map((x: unknown) => (typeof x === 'object' && x !== null ? { ...(x as Record<string, unknown>), secret: 'secret' in x ? '(set)' : undefined } : x))
  : t);

export const ACCESS: Record<string, RouteRule> = {
  'POST /v1/reports': { access: { kind: 'drone' } },

  'GET /v1/alerts': perm('alerts:read', { action: 'alert.list', details: query }),
  'GET /v1/alerts/stream': perm('alerts:read', { action: 'feed.subscribe' }),
  'GET /v1/alerts/reaction-time': perm('reaction-time:read', { action: 'reaction-time.read' }),
  'GET /v1/alerts/:id': perm('alerts:read', { action: 'alert.read', target: param('id') }),
  'POST /v1/alerts/:id/ack': perm('alerts:act', { action: 'alert.acknowledge', target: param('id'), details: (r) => ({ note: body(r).note ?? null }) }),
  'POST /v1/alerts/:id/assign': perm('alerts:assign', { action: 'alert.assign', target: param('id'), details: (r) => ({ assignee: body(r).assignee }) }),
  'POST /v1/alerts/:id/resolve': perm('alerts:act', { action: 'alert.resolve', target: param('id'), details: (r) => ({ note: body(r).note ?? null }) }),
  // Incidents are groups of alerts: the same data, the same permissions; a change also changes the incident's alerts.
  'GET /v1/incidents': perm('alerts:read', { action: 'incident.list', details: query }),
  'GET /v1/incidents/reaction-time': perm('reaction-time:read', { action: 'reaction-time.read', details: (r) => ({ ...query(r), of: 'incidents' }) }),
  'GET /v1/incidents/:id': perm('alerts:read', { action: 'incident.read', target: param('id') }),
  'POST /v1/incidents/:id/ack': perm('alerts:act', { action: 'incident.acknowledge', target: param('id'), details: (r) => ({ note: body(r).note ?? null, cascade: 'alerts' }) }),
  'POST /v1/incidents/:id/assign': perm('alerts:assign', { action: 'incident.assign', target: param('id'), details: (r) => ({ assignee: body(r).assignee, cascade: 'alerts' }) }),
  'POST /v1/incidents/:id/resolve': perm('alerts:act', { action: 'incident.resolve', target: param('id'), details: (r) => ({ note: body(r).note ?? null, cascade: 'alerts' }) }),

  // Rules: zone-entry rules and silences may name persons of concern, so reading them is audited too.
  'GET /v1/rules': perm('rules:read', { action: 'rules.read', details: query }),
  'GET /v1/rules/versions': perm('rules:read', { action: 'rules.read', target: () => 'versions' }),
  'POST /v1/rules': perm('rules:manage', { action: 'rules.change', details: (r) => ({ reason: body(r).reason, baseVersion: body(r).baseVersion ?? null, rules: body(r).rules, zones: body(r).zones ?? [] }) }),
  'PUT /v1/rules/:id': perm('rules:manage', { action: 'rules.change', target: param('id'), details: (r) => ({ reason: body(r).reason, rule: body(r).rule, zones: body(r).zones ?? [] }) }),
  'DELETE /v1/rules/:id': perm('rules:manage', { action: 'rules.change', target: param('id'), details: (r) => ({ ...query(r), disable: true }) }),
  'POST /v1/rules/dry-run': perm('rules:manage', { action: 'rules.dry-run', details: (r) => ({ from: body(r).from, to: body(r).to, rules: body(r).rules, zones: body(r).zones ?? [] }) }),
  'GET /v1/silences': perm('rules:read', { action: 'silence.read' }),
  'POST /v1/silences': perm('rules:manage', { action: 'silence.add', details: (r) => ({ match: body(r).match, startsAt: body(r).startsAt ?? null, endsAt: body(r).endsAt, reason: body(r).reason }) }),
  'DELETE /v1/silences/:id': perm('rules:manage', { action: 'silence.remove', target: param('id') }),
  // Notification policies hold receivers' URLs (some carry a token in their path): supervisors only. Secrets are
  // never shown nor audited. The delivery log names alert ids and target ids: officers may check a notice went out.
  'GET /v1/notification-policies': perm('rules:manage', { action: 'notify.read', details: query }),
  'GET /v1/notification-policies/versions': perm('rules:manage', { action: 'notify.read', target: () => 'versions' }),
  'PUT /v1/notification-policies': perm('rules:manage', { action: 'notify.change', details: (r) => ({ reason: body(r).reason, baseVersion: body(r).baseVersion ?? null, routes: body(r).routes, targets: targetsWithoutSecrets(body(r).targets) }) }),
  'GET /v1/notifications/deliveries': perm('rules:read', { action: 'notify.deliveries', details: query }),

  'GET /v1/fleet': perm('fleet:read', { action: 'fleet.read' }),
  'GET /v1/fleet/drones/:id/track': perm('fleet:read', { action: 'fleet.read', target: param('id') }),
  'GET /v1/fleet/stream': perm('fleet:read', { action: 'fleet.read', target: () => 'stream' }),
  'GET /v1/dashboard/config': { access: { kind: 'authenticated' } },

  'GET /v1/dead-letters': perm('analysis:query', { action: 'dead-letters.read', details: query }),

  'GET /v1/stats': perm('analysis:query'),
  'GET /v1/stats/:name': perm('analysis:query', { action: 'stat.run', target: param('name'), details: query }),
  'POST /v1/query': perm('analysis:query', { action: 'query.run', details: (r) => ({ sql: body(r).sql, format: body(r).format ?? null }) }),
  'POST /v1/export': perm('analysis:export', { action: 'export', details: (r) => ({ sql: body(r).sql, format: body(r).format }) }),
  'GET /v1/queries': perm('analysis:query'),
  'POST /v1/queries': perm('analysis:query', { action: 'saved-query.save', target: (r) => String(body(r).name ?? ''), details: (r) => ({ sql: body(r).sql }) }),
  'PUT /v1/queries/:name': perm('analysis:query', { action: 'saved-query.save', target: param('name'), details: (r) => ({ sql: body(r).sql }) }),
  'GET /v1/queries/:name': perm('analysis:query'),
  'DELETE /v1/queries/:name': perm('analysis:query', { action: 'saved-query.delete', target: param('name') }),
  'GET /v1/queries/:name/result': perm('analysis:query', { action: 'saved-query.run', target: param('name'), details: query }),

  'POST /v1/auth/login': { access: { kind: 'public' } },
  'POST /v1/auth/logout': { access: { kind: 'authenticated' } },
  'GET /v1/auth/me': { access: { kind: 'authenticated' } },
  // Audited by the handler, after the current password was checked.
  'POST /v1/auth/password': { access: { kind: 'authenticated' } },

  'GET /v1/audit': perm('audit:read', { action: 'audit.read', details: query }),
  'GET /v1/audit/verify': perm('audit:read', { action: 'audit.read', target: () => 'verify' }),
  'GET /v1/users': perm('users:manage'),
  'POST /v1/users': perm('users:manage', { action: 'user.create', target: (r) => String(body(r).username ?? ''), details: (r) => ({ roles: body(r).roles }) }),
  'POST /v1/users/:username/disable': perm('users:manage', { action: 'user.disable', target: param('username') }),
  'POST /v1/users/:username/enable': perm('users:manage', { action: 'user.enable', target: param('username') }),
  // Outside /v1/ but not public: Prometheus scrapes it with a token of the metrics role (docs/operations.md).
  'GET /metrics': perm('metrics:read'),

  'GET /v1/drones': perm('drones:manage'),
  'POST /v1/drones': perm('drones:manage', { action: 'drone.register', target: (r) => String(body(r).droneId ?? '') }),
  'DELETE /v1/drones/:droneId': perm('drones:manage', { action: 'drone.revoke', target: param('droneId') }),
};

/** The rule of a route, or undefined for a `/v1/` route nobody classified. */
export function ruleOf(method: string, url: string): RouteRule | undefined {
  const rule = ACCESS[`${method === 'HEAD' ? 'GET' : method} ${url}`];
  if (rule || url.startsWith('/v1/')) return rule;
  return method === 'GET' || method === 'HEAD' ? { access: { kind: 'public' } } : undefined;
}
