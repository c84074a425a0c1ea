import type { FastifyInstance } from 'fastify';
import { isDwError } from '../errors/index.ts';
import { DEFAULT_TENANT } from '../server/auth/tenant.ts';
import { errorCodeOf, requestTenant, setErrorCode } from '../server/request-info.ts';
import { responses } from '../server/routes/schemas/common.ts';
import { authFailures, httpDuration, httpRequests, queryRefusals } from './definitions.ts';
import { METRICS_CONTENT_TYPE, enableProcessMetrics, renderMetrics } from './registry.ts';

/** The documented code a failed request answers with (src/server/app.ts's error handler decides the same way). */
function codeOf(err: unknown): string {
  if (isDwError(err)) return err.code;
  const e = err as { statusCode?: number; validation?: unknown };
  return e.validation || (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) ? 'DW_REQUEST_INVALID' : 'DW_INTERNAL';
}

/** Description of GET /metrics for the OpenAPI document (text, not JSON). */
const METRICS_SCHEMA = {
  summary: 'Prometheus metrics of this process',
  description: 'Prometheus text exposition format. Needs the metrics:read permission (roles metrics, admin); a principal of '
    + 'another tenant than the deployment\'s sees the series of its own tenant and the ones without a tenant label. '
    + 'docs/operations.md lists the metrics.',
  tags: ['operations'],
  // With the refusals every authenticated route can answer (401, 403, 500, 503): the OpenAPI fuzzer checks them.
  response: responses({
    200: { description: 'the metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
  }, 'authenticated'),
} as const;

/**
 * HTTP metrics and GET /metrics on an API server. Not a plugin on purpose (like installAuth): the hooks must see every
 * route of the server. Call it after installAuth, so the route gets its access rule.
 */
export function installHttpMetrics(app: FastifyInstance, opts: { tenant?: string }): void {
  enableProcessMetrics();
  app.addHook('onError', async (req, _reply, err) => {
    const code = codeOf(err);
    setErrorCode(req, code);
    const tenant = requestTenant(req, opts.tenant) ?? '';
    if (code.startsWith('DW_AUTH_')) authFailures.inc({ code, tenant });
    // A cancelled query is the client's doing (it went away), not a refusal.
    else if (code.startsWith('DW_QUERY_') && code !== 'DW_QUERY_CANCELLED') queryRefusals.inc({ code, tenant });
  });
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern (`/v1/alerts/:id`), never the URL: ids and query strings stay out of the labels.
    const route = req.routeOptions.url ?? 'unmatched';
    httpRequests.inc({ method: req.method, route, status: String(reply.statusCode), code: errorCodeOf(req) ?? '' });
    httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: METRICS_SCHEMA }, async (req, reply) => {
    const p = (req as { principal?: { tenant: string } | null }).principal;
    const only = p && p.tenant !== (opts.tenant ?? DEFAULT_TENANT) ? p.tenant : undefined;
    return reply.type(METRICS_CONTENT_TYPE).send(await renderMetrics(only));
  });
}
