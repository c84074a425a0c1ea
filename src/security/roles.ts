/**
 * Roles and what they may do. Permissions, not roles, are checked by the routes, so a role's reach is read here in
 * one place. `admin` manages people, drones and retention but sees no personal data by default (no alerts, no lake):
 * the separation of duties the Law Enforcement Directive expects.
 */
export const ROLES = ['officer', 'analyst', 'supervisor', 'admin', 'metrics'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'alerts:read', // live alerts, the alert list and feed
  'alerts:act', // acknowledge, resolve
  'alerts:assign',
  'analysis:query', // statistics, SQL, saved queries
  'analysis:export',
  'reaction-time:read',
  'fleet:read', // drone positions and health
  'audit:read',
  'users:manage',
  'drones:manage',
  'tenants:manage',
  'retention:manage',
  'ingest:any-drone', // publish reports for any drone of the tenant (gateways, the simulator)
  'metrics:read', // GET /metrics: counters by tenant, no personal data
  'rules:read', // the alert rules in force, their versions, silences (zone-entry rules name persons of concern)
  'rules:manage', // change rules, dry runs over the lake, add and remove silences
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, readonly Permission[]> = {
  officer: ['alerts:read', 'alerts:act', 'fleet:read', 'rules:read'],
  analyst: ['analysis:query', 'analysis:export', 'fleet:read'],
  // Alert rules change what every officer of the force is told: a supervisor's decision, as assignment is.
  supervisor: ['alerts:read', 'alerts:act', 'alerts:assign', 'analysis:query', 'analysis:export', 'reaction-time:read', 'fleet:read', 'audit:read', 'rules:read', 'rules:manage'],
  admin: ['users:manage', 'drones:manage', 'tenants:manage', 'retention:manage', 'audit:read', 'fleet:read', 'metrics:read'],
  // A Prometheus scraper's account: its API token reads /metrics and nothing else.
  metrics: ['metrics:read'],
};

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

export function permissionsOf(roles: readonly Role[]): Set<Permission> {
  return new Set(roles.flatMap((r) => GRANTS[r]));
}

export function grants(role: Role): readonly Permission[] {
  return GRANTS[role];
}
