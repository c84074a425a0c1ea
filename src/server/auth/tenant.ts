import type { FastifyRequest } from 'fastify';
import type { ServerDeps } from '../types.ts';

/** The tenant of requests when authentication is off (library use, tests): ServerDeps.tenant or `default`. */
export const DEFAULT_TENANT = 'default';

/**
 * The tenant (police force) whose data a request may see: the caller's, from its credential. Every route that reads
 * or changes tenant data scopes it with this, never with a tenant named in the request. Without authentication
 * (ServerDeps.auth absent) every request belongs to the server's single tenant.
 */
export function tenantOf(req: FastifyRequest, deps: Pick<ServerDeps, 'tenant'>): string {
  return req.principal?.tenant ?? deps.tenant ?? DEFAULT_TENANT;
}
