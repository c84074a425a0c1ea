import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { BackpressureError, IngestRateLimitedError } from '../../errors/index.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../../ingest/index.ts';
import type { ServerDeps } from '../types.ts';
import { tenantOf } from '../auth/tenant.ts';
import { readBodyUpTo } from './reports-body.ts';
import { reportsSchema } from './schemas/platform.ts';

/**
 * POST /v1/reports: one report (JSON), an array of reports (JSON) or a batch (NDJSON).
 * 202 when every report was accepted, 400 when none was, 207 when some were; each rejected one is in the dead letters.
 *
 * Every body reaches the ingestor, which is where report input is judged and every rejection becomes a dead letter:
 * an empty body, a body over the limit (read one byte past it, then no further) and a body with any Content-Type,
 * even an empty or unparseable one. Fastify's own content-type and body-size checks would answer before that, with
 * codes of their own and nothing kept, so this route reads the body itself.
 */
export const reportRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  const ingest = deps.ingest!;
  const bodyLimit = deps.bodyLimit ?? DEFAULT_MAX_BODY_BYTES;
  /** The Content-Type each request came with, before onRequest below takes it away from fastify. */
  const sentTypes = new WeakMap<FastifyRequest, string>();
  /** Requests whose body was not read to its end: their connection cannot carry another request. */
  const cut = new WeakSet<FastifyRequest>();

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => {
    readBodyUpTo(payload, bodyLimit + 1).then(({ body, complete }) => {
      if (!complete) cut.add(req);
      done(null, body);
    }, (e: Error & { statusCode?: number }) => {
      // The client went away in the middle of its body: no one is left to answer, nothing complete to judge.
      e.statusCode ??= 400;
      done(e, undefined);
    });
  });

  app.post('/v1/reports', {
    schema: reportsSchema,
    onRequest: async (req, reply) => {
      // Admission first (src/ingest/admission.ts): a refused request's body is never read, so overload costs no memory.
      if (deps.admission) deps.admission.admit(req.raw, reply.raw);
      // Fastify answers 415 to a Content-Type it cannot parse (`''`, `foo`) before any parser runs. The type only says
      // JSON or NDJSON here, and anything but NDJSON is read as JSON (as when it is absent).
      const type = req.headers['content-type'];
      if (type !== undefined) {
        sentTypes.set(req, type);
        delete req.headers['content-type'];
      }
    },
  }, async (req, reply) => {
    if (cut.has(req)) reply.header('connection', 'close');
    if (!deps.admission && deps.status?.().overloaded) {
      throw new BackpressureError('consumers are too far behind; retry later', deps.retryAfterSeconds ?? 1);
    }
    // One drone's credential cannot flood the stream: its requests are counted before its body is even read.
    const p = req.principal;
    if (deps.ingestLimit && p?.kind === 'drone' && p.droneId !== undefined && p.droneId !== '*') {
      const wait = deps.ingestLimit.take(`${p.tenant}/${p.droneId}`);
      if (wait > 0) throw new IngestRateLimitedError(p.droneId, wait);
    }
    const ndjson = (sentTypes.get(req) ?? '').toLowerCase().includes('ndjson');
    const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
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
