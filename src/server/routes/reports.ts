import type { FastifyPluginAsync } from 'fastify';
import { BackpressureError, IngestRateLimitedError } from '../../errors/index.ts';
import type { ServerDeps } from '../types.ts';
import { tenantOf } from '../auth/tenant.ts';

/**
 * POST /v1/reports: one report (JSON), an array of reports (JSON) or a batch (NDJSON).
 * 202 when every report was accepted, 400 when none was, 207 when some were; each rejected one is in the dead letters.
 */
export const reportRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  const ingest = deps.ingest!;
  // The body goes to the ingestor as raw bytes: it validates each report and keeps rejected bytes exactly as sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/x-ndjson', 'application/ndjson'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post('/v1/reports', async (req, reply) => {
    if (deps.status?.().overloaded) {
      throw new BackpressureError('consumers are too far behind; retry later', deps.retryAfterSeconds ?? 1);
    }
    // One drone's credential cannot flood the stream: its requests are counted before its body is even read.
    const p = req.principal;
    if (deps.ingestLimit && p?.kind === 'drone' && p.droneId !== undefined && p.droneId !== '*') {
      const wait = deps.ingestLimit.take(`${p.tenant}/${p.droneId}`);
      if (wait > 0) throw new IngestRateLimitedError(p.droneId, wait);
    }
    const type = String(req.headers['content-type'] ?? 'application/json');
    const ndjson = type.includes('ndjson');
    const body = req.body as Buffer | undefined;
    if (!body || body.length === 0) {
      return reply.status(400).send({ code: 'DW_INGEST_MALFORMED', message: 'empty body', errors: [{ field: '', reason: 'empty body' }] });
    }
    // The tenant and drone come from the credential, never from the body: a drone publishes only as itself.
    const scope = { tenant: tenantOf(req, deps), ...(p?.droneId !== undefined ? { droneId: p.droneId } : {}) };
    const result = await ingest.ingestRaw(body, ndjson ? 'ndjson' : 'json', `http:${req.ip}`, scope);
    const status = result.rejected.length === 0 ? 202 : result.accepted.length === 0 ? 400 : 207;
    if (status === 400 && result.rejected.length === 1) {
      const r = result.rejected[0]!;
      return reply.status(r.code === 'DW_INGEST_TOO_LARGE' ? 413 : r.code === 'DW_AUTH_FORBIDDEN' ? 403 : 400).send({
        code: r.code,
        message: r.errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join('; '),
        errors: r.errors,
        deadLettered: true,
      });
    }
    return reply.status(status).send({ accepted: result.accepted, rejected: result.rejected });
  });
};
