import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { errorCodeOf, requestTenant } from './request-info.ts';

/** A request id a client or proxy sent (`x-request-id`) is kept when it looks like one; anything else gets a fresh UUID. */
const CLIENT_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Fastify options for request ids: every request gets one, logged as `reqId` on each line logged for it and sent
 * back in `x-request-id`, so an operator finds a caller's request in the logs of every process it went through.
 */
export const requestIdOptions = {
  // Logged under fastify's default label, `reqId`.
  genReqId: (req: IncomingMessage): string => {
    const sent = req.headers['x-request-id'];
    return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
  },
} as const;

/**
 * One info line per request when its answer is finished: method, route pattern, status, duration, tenant, request
 * id and the `DW_*` code of a failure. Never the URL with its values, the query string, a body or a user name: those
 * may hold personal data (a citizen searched for, an officer), and the audit log is where accesses are recorded.
 */
export function installRequestLog(app: FastifyInstance, opts: { tenant?: string }): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const tenant = requestTenant(req, opts.tenant);
    const code = errorCodeOf(req);
    req.log.info({
      method: req.method, route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10,
      ...(tenant !== undefined ? { tenant } : {}), ...(code !== undefined ? { code } : {}),
    }, 'request');
  });
}
