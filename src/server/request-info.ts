import type { FastifyRequest } from 'fastify';
import { DEFAULT_TENANT } from './auth/tenant.ts';

/** What the request log and the HTTP metrics both say about a request: the code it failed with, its tenant. */
const errorCodes = new WeakMap<FastifyRequest, string>();

export function setErrorCode(req: FastifyRequest, code: string): void {
  errorCodes.set(req, code);
}

/** The documented `DW_*` code a request failed with, if it threw one. */
export function errorCodeOf(req: FastifyRequest): string | undefined {
  return errorCodes.get(req);
}

/**
 * The tenant a request acted for: its principal's; without authentication installed (`principal` undefined), the
 * server's; a request nobody authenticated has none.
 */
export function requestTenant(req: FastifyRequest, serverTenant: string | undefined): string | undefined {
  const p = (req as { principal?: { tenant: string } | null }).principal;
  if (p) return p.tenant;
  return p === undefined ? serverTenant ?? DEFAULT_TENANT : undefined;
}
